"""Random operation sequences against an SPS HA pair's models (upload, test,
After reboot, reboot, shutdown, power, Activate Slave, failing upgrades, ones
that cannot revert, reimage, the lab killed -9 and started again from its
state directory) on a virtual clock, checking that a node boots only its
After reboot slot (or, when that upgrade fails, reverts to the slot it ran),
that the pair is never `HA` with two different versions, and that a kill
loses no acknowledged upload (nor a slot choice).

The models are saved as a lab saves them (simulator/store.py: each device
before each of its events, the lab with its pairs before each lab or pair
event); a kill drops the models, their clock and their pending timers
without a word to the store, and the restart builds them again from its
files the way `Lab` does (devices, then the pair, the clock set back to the
last saved time)."""

import asyncio
import atexit
import json
import random
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from simulator.clock import Clock
from simulator.faults import FaultPlan
from simulator.journal import Journal
from simulator.kinds.base import DeviceContext, Refused
from simulator.kinds.sps.ha import SpsHaPair
from simulator.kinds.sps.model import UPGRADE_POINT, SpsDevice
from simulator.kinds.sps.packages import inspect_iso, make_iso
from simulator.store import Store

ISO_DIR = Path(tempfile.mkdtemp(prefix="sps-stateful-"))
atexit.register(shutil.rmtree, ISO_DIR, True)      # made at import: gone when pytest exits
FIRMWARE = [inspect_iso(make_iso(name, ISO_DIR)) for name in
            ("sps-7.0.2.1-lts-firmware.iso", "sps-7.0.3-lts-firmware.iso", "sps-6.0.4-lts-firmware.iso")]
NODES = st.sampled_from(["a", "b"])


class SpsPairMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.state_dir = Path(tempfile.mkdtemp(prefix="state-", dir=ISO_DIR))
        self.faults = FaultPlan()       # kept across a kill, as a lab's faults.json keeps the plan
        self.journal: Journal | None = None
        self._start(1_700_000_000.0)

    def _start(self, now: float) -> None:
        """Build the pair's models on a fresh clock and journal, from the state directory's files if
        it has them (as `Lab` does: devices restored first, then the pair), saved from then on."""
        clock = Clock(virtual=True, start=now)
        self.journal = Journal(clock.now, self.state_dir / "journal.jsonl")
        self.ctx = DeviceContext(clock, self.journal, faults=self.faults, rng=random.Random(0))
        store = Store(self.state_dir)
        self.nodes = {n: SpsDevice(self.ctx, n, "T-4", "6.0.3", hostname=None, root_password="x", web_username="admin",
                                   web_password="x") for n in ("a", "b")}
        for name, node in self.nodes.items():
            saved = store.load_device(name)
            if saved is not None:
                node.restore(saved[0])
        self.pair = SpsHaPair("pair", self.nodes["a"], self.nodes["b"])
        lab = store.load_lab()
        if lab is not None:
            self.pair.restore(lab["pairs"]["pair"])
        store.track(self.nodes, self.journal,  # type: ignore[arg-type]
                    lambda: store.save_lab({"sim_time": clock.now(), "pairs": {"pair": self.pair.snapshot()}}))
        self.booting: dict[str, tuple[int, int]] = {}      # node -> (its after-reboot slot, the slot it ran)
        self.journal.subscribe(self._on_event)

    def _on_event(self, event) -> None:
        node = self.nodes.get(event["device"] or "")
        if node is None or event["kind"] != "state":
            return
        if event["state"] == "booting":
            self.booting[node.name] = (node.after_reboot, node.current)
        elif event["state"] == "online" and node.name in self.booting:
            wanted, ran = self.booting.pop(node.name)
            assert node.current == wanted or node.current == ran == node.after_reboot, (
                f"{node.name} runs slot {node.current}; its after-reboot slot was {wanted}")
        elif event["state"] == "off":
            self.booting.pop(node.name, None)

    def teardown(self) -> None:
        self.loop.close()
        if self.journal is not None:
            self.journal.close()

    def _try(self, call, *args) -> None:
        try:
            call(*args)
        except Refused:
            pass

    @rule(node=NODES, index=st.integers(0, len(FIRMWARE) - 1))
    def upload(self, node, index):
        device = self.nodes[node]
        if device.core_runs:
            self._try(lambda: device.add_firmware(device.free_slot(), FIRMWARE[index]))

    @rule(node=NODES, slot=st.integers(1, 5))
    def test(self, node, slot):
        if self.nodes[node].core_runs:
            self._try(self.nodes[node].test_firmware, slot)

    @rule(node=NODES, slot=st.integers(1, 5))
    def after_reboot(self, node, slot):
        if self.nodes[node].core_runs:
            self._try(self.nodes[node].set_after_reboot, slot)

    @rule(node=NODES, slot=st.integers(1, 5))
    def upgrade(self, node, slot):
        if self.nodes[node].core_runs:
            self._try(self.nodes[node].upgrade, slot)

    @rule(node=NODES, action=st.sampled_from(["reboot", "shutdown"]))
    def system_control(self, node, action):
        self._try(getattr(self.nodes[node], action))

    @rule(node=NODES, action=st.sampled_from(["reboot", "shutdown"]))
    def other_node(self, node, action):
        if self.nodes[node].core_runs:
            self._try(self.pair.other_node, self.nodes[node], action)

    @rule(node=NODES)
    def power_on(self, node):
        self.nodes[node].power_on()

    @rule(node=NODES)
    def power_off(self, node):
        self.nodes[node].power_off()

    @rule(node=NODES)
    def activate_slave(self, node):
        if self.nodes[node].core_runs:
            self._try(self.pair.activate_slave, self.nodes[node])

    @rule(node=NODES)
    def failing_upgrade(self, node):
        self.ctx.faults.add(UPGRADE_POINT, "fail", node)

    @rule(node=NODES)
    def revert_that_fails(self, node):
        self.ctx.faults.add("revert", "hang", node)

    @rule(node=NODES)
    def reimage(self, node):
        if self.nodes[node].state == "rescue":
            self.nodes[node].reimage()

    @rule()
    def kill_and_restart(self):
        acknowledged = {n: ({k: v.version for k, v in node.slots.items()}, node.after_reboot)
                        for n, node in self.nodes.items()}
        saved = self.state_dir / "lab.json"
        now = json.loads(saved.read_text())["sim_time"] if saved.exists() else self.ctx.clock.now()
        self.journal.close()            # its lines are on disk already (line-buffered); nothing else is said
        self._start(now)
        after = {n: ({k: v.version for k, v in node.slots.items()}, node.after_reboot)
                 for n, node in self.nodes.items()}
        assert after == acknowledged, f"the restart lost what was acknowledged: {acknowledged} -> {after}"

    @rule(seconds=st.sampled_from([5, 60, 300, 900]))
    def wait(self, seconds):
        self.loop.run_until_complete(self.ctx.clock.advance(seconds))

    @invariant()
    def never_ha_with_different_versions(self):
        if self.pair.state == "HA":
            a, b = self.nodes.values()
            assert a.services_up and b.services_up and a.version == b.version, (a.version, b.version)

    @invariant()
    def at_most_one_core_runs(self):
        assert sum(n.core_runs for n in self.nodes.values()) <= 1


SpsPairMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
test_sps_ha_pair = SpsPairMachine.TestCase

"""FTD high availability pairs through the real surfaces (FDM REST on both
units, the CLI over SSH, the traffic probe, the control API), on virtual
time: seed 000's "Upgrade High Availability Threat Defense" step by step,
what doing it wrong costs, split brain, and a stateful random walk."""

from __future__ import annotations

import asyncio
import atexit
import json
import random
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from simulator.clock import Clock
from simulator.journal import Journal
from simulator.kinds.base import DeviceContext, Refused
from simulator.kinds.ftd.ha import HaPair
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import inspect_package, make_package
from simulator.lab import Lab
from tests.conftest import connect, fdm_client, fdm_upgrade

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
API = "/api/fdm/latest"


@pytest.fixture
async def ha_lab(tmp_path):
    async with Lab("ftd-ha", state_dir=tmp_path / "state", virtual_time=True, seed=5) as lab:
        yield lab


class Unit:
    """One unit's FDM API client and SSH port."""

    def __init__(self, lab: Lab, name: str) -> None:
        entry = next(d for d in lab.endpoints()["devices"] if d["name"] == name)
        self.lab, self.name, self.device = lab, name, lab.devices[name]
        self.url, self.ssh_port = entry["https"]["url"], entry["ssh"]["port"]
        self.api = httpx.AsyncClient(base_url=self.url + API, verify=False, timeout=10)

    async def login(self) -> None:
        r = await self.api.post("/fdm/token", json={"grant_type": "password", "username": "admin",
                                                    "password": "Admin123"})
        assert r.status_code == 200, r.text
        self.api.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    async def ha_status(self) -> dict:
        return (await self.api.get("/devices/default/operational/ha/status/default")).json()

    async def cli(self, command: str) -> str:
        async with await connect(self.ssh_port) as conn:
            return (await conn.run(command)).stdout

    async def upgrade(self, package: Path, force: bool = False) -> None:
        with package.open("rb") as fh:
            r = await self.api.post("/action/uploadupgrade", files={"fileToUpload": (package.name, fh)})
        assert r.status_code == 200, r.text
        params = {"cancelOnFailure": "true", **({"force": "true"} if force else {})}
        r = await self.api.post("/action/upgrade", params=params)
        assert r.status_code == 204, r.text


async def probe(lab: Lab, pair: str = "ftd-ha") -> dict | None:
    """One probe through the pair's data plane: its counters, or None if lost."""
    port = next(p for p in lab.endpoints()["pairs"] if p["name"] == pair)["probe"]["port"]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    line = await reader.readline()
    writer.close()
    return json.loads(line)


async def run_until(lab: Lab, predicate, step: float = 5.0, limit: float = 4 * 3600) -> None:
    """Move virtual time in steps (surfaces follow) until `predicate()` holds."""
    waited = 0.0
    while not predicate():
        assert waited < limit, "condition not reached"
        await lab.clock.advance(step)
        await lab.settle()
        waited += step


async def test_seed_ha_upgrade_standby_first_loses_no_traffic(ha_lab, packages):
    """Upgrade the standby, switch roles, upgrade the new standby (seed 000)."""
    lab, pair = ha_lab, ha_lab.pairs["ftd-ha"]
    a, b = Unit(lab, "ftd-a"), Unit(lab, "ftd-b")
    package = packages(UPGRADE_76)
    for unit in (a, b):
        await unit.login()
    assert (await a.ha_status())["nodeState"] == "HA_ACTIVE_NODE"
    assert (await b.ha_status())["nodeState"] == "HA_STANDBY_NODE"
    failover = await b.cli("show failover")
    assert "This host: Secondary - Standby Ready" in failover and "Other host: Primary - Active" in failover
    assert (await probe(lab))["lost_probes"] == 0

    # 1. Upgrade the standby (B). The active keeps traffic; deploying meanwhile is refused.
    await b.upgrade(package)
    await run_until(lab, lambda: b.device.state == "upgrade_install")
    r = await a.api.post("/object/networks", json={"name": "lan", "subType": "NETWORK", "value": "10.0.0.0/8"})
    assert r.status_code == 200
    r = await a.api.post("/operational/deploy")
    assert r.status_code == 422 and "application synchronization error" in r.json()["error"]["messages"][0]["description"]
    assert (await a.api.delete("/operational/pendingchanges")).status_code == 204
    assert "Other host: Secondary - Failed" in await a.cli("show failover")
    assert await probe(lab) is not None

    # After its reboot HA is briefly suspended on B while it finishes its tasks, then resumes.
    await run_until(lab, lambda: b.device.version == "7.6.0-113" and b.device.state == "upgrade_post")
    assert pair.unit_state["ftd-b"] == "Disabled"
    r = await a.api.post("/object/networks", json={"name": "lan", "subType": "NETWORK", "value": "10.0.0.0/8"})
    r = await a.api.post("/operational/deploy")         # still upgrading (seed 000 table 6)
    assert r.status_code == 422 and "application synchronization error" in r.json()["error"]["messages"][0]["description"]
    assert (await a.api.delete("/operational/pendingchanges")).status_code == 204
    await run_until(lab, lambda: pair.unit_state["ftd-b"] == "Standby Ready")
    assert pair.state == "mixed"
    out = await a.cli("show failover")
    assert "Version: Ours 9.20(1)172, Mate 9.22(0)113" in out

    # 2. Switch roles (Switch Mode on B): stateful, no traffic lost.
    await b.login()                               # B rebooted: tokens from before are void
    status = (await b.api.post("/devices/default/action/ha/failover")).json()
    assert status["nodeState"] == "HA_ACTIVE_NODE" and status["peerNodeState"] == "HA_STANDBY_NODE"

    # 3. Upgrade the new standby (A).
    await a.upgrade(package)
    await run_until(lab, lambda: a.device.version == "7.6.0-113" and pair.state == "healthy")
    await a.login()
    assert (await a.ha_status())["nodeState"] == "HA_STANDBY_NODE"
    report = (await probe(lab))
    assert report["lost_probes"] == 0 and report["outages"] == []
    assert pair.failovers == 1                    # the switch, nothing automatic

    # The first deployment after the upgrade restarts Snort: the one blip the seed names.
    r = await b.api.post("/object/networks", json={"name": "dmz", "subType": "HOST", "value": "192.0.2.7"})
    deployment = (await b.api.post("/operational/deploy")).json()
    await run_until(lab, lambda: b.device.deployments[-1].state == "DEPLOYED", step=2)
    await run_until(lab, lambda: lab.traffic["ftd-ha"].up, step=2)
    assert 0 < lab.traffic["ftd-ha"].lost_seconds() <= 10 and deployment["id"]
    assert any(o for o in a.device.config["networks"].values() if o["name"] == "dmz")   # synced to the standby
    for unit in (a, b):
        await unit.api.aclose()


async def test_upgrading_the_active_first_is_refused_and_forced_fails_over_and_drops_traffic(ha_lab, packages):
    """Seed 000: "To minimize disruption, always upgrade the standby": the active unit of a pair
    with a standby refuses the upgrade with that advice (422) until it is forced."""
    lab, pair = ha_lab, ha_lab.pairs["ftd-ha"]
    a = Unit(lab, "ftd-a")
    await a.login()
    with packages(UPGRADE_76).open("rb") as fh:
        assert (await a.api.post("/action/uploadupgrade", files={"fileToUpload": (UPGRADE_76, fh)})).status_code == 200
    r = await a.api.post("/action/upgrade")
    said = r.json()["error"]["messages"][0]["description"]
    assert r.status_code == 422 and said.startswith(
        "This unit is the active unit of a high availability pair. To minimize disruption, always upgrade the "
        "standby: upgrade ftd-b first")
    assert "force the upgrade" in said and a.device.job is None and pair.active == "ftd-a"
    await a.upgrade(packages(UPGRADE_76), force=True)
    await run_until(lab, lambda: pair.active == "ftd-b")
    events = lab.journal.select(kind="ha.failover")
    assert events and events[-1]["cause"].startswith("the active unit ftd-a is down")
    assert lab.traffic["ftd-ha"].lost_seconds() == pytest.approx(15, abs=1)   # the hold time
    await a.api.aclose()


async def test_no_failover_to_a_mixed_version_peer(ha_lab, packages):
    lab, pair = ha_lab, ha_lab.pairs["ftd-ha"]
    b = Unit(lab, "ftd-b")
    await b.login()
    await b.upgrade(packages(UPGRADE_76))
    await run_until(lab, lambda: pair.state == "mixed")
    lab.power("ftd-a", "cycle")              # the active loses power: the 7.6 standby may not take over
    await lab.clock.advance(60)
    assert pair.active == "ftd-a" and not lab.traffic["ftd-ha"].up
    await run_until(lab, lambda: lab.traffic["ftd-ha"].up)
    assert pair.active == "ftd-a" and lab.traffic["ftd-ha"].lost_seconds() > 60
    await b.api.aclose()


async def test_split_brain_blocks_upgrades_until_the_link_is_back(ha_lab, packages):
    lab, pair = ha_lab, ha_lab.pairs["ftd-ha"]
    a, b = Unit(lab, "ftd-a"), Unit(lab, "ftd-b")
    for unit in (a, b):
        await unit.login()
    async with httpx.AsyncClient(base_url=lab.control.url) as control:
        r = await control.post("/api/faults", json={"point": "failover.link", "action": "cut", "device": "ftd-ha"})
        assert r.status_code == 201
        await lab.clock.advance(1)
        pairs = (await control.get("/api/pairs")).json()["items"]
        assert pairs[0]["state"] == "split_brain" and set(pairs[0]["units"].values()) == {"Active"}
        assert "This host: Secondary - Active" in await b.cli("show failover")
        with packages(UPGRADE_76).open("rb") as fh:
            await b.api.post("/action/uploadupgrade", files={"fileToUpload": (UPGRADE_76, fh)})
        r = await b.api.post("/action/upgrade")
        assert r.status_code == 422 and "not healthy" in r.json()["error"]["messages"][0]["description"]
        r = await control.post("/api/pairs/ftd-ha/link", json={"up": True})
        assert r.json()["units"] == {"ftd-a": "Active", "ftd-b": "Negotiation"}
        await run_until(lab, lambda: pair.state == "healthy")
        assert (await b.api.post("/action/upgrade")).status_code == 204
    for unit in (a, b):
        await unit.api.aclose()


async def test_cli_suspend_resume_and_show_failover_state(ha_lab):
    lab, pair = ha_lab, ha_lab.pairs["ftd-ha"]
    a = Unit(lab, "ftd-a")
    state = await a.cli("show failover state")
    assert "This host  -   Primary\n               Active " in state and "Sync Done" in state
    assert "High-availability is suspended" in await a.cli("configure high-availability suspend")
    assert pair.state == "suspended" and pair.unit_state["ftd-b"] == "Disabled"
    assert "already suspended" in await a.cli("configure high-availability suspend")
    assert "resumed" in await a.cli("configure high-availability resume")
    await run_until(lab, lambda: pair.state == "healthy")
    assert "HA Health: HEALTHY" in await a.cli("show high-availability config")
    await a.api.aclose()


async def test_pair_survives_a_lab_restart(tmp_path):
    state = tmp_path / "state"
    async with Lab("ftd-ha", state_dir=state, virtual_time=True) as lab:
        lab.pairs["ftd-ha"].switch()
        lab.pairs["ftd-ha"].suspend()
    async with Lab("ftd-ha", state_dir=state, virtual_time=True) as lab:
        pair = lab.pairs["ftd-ha"]
        assert pair.active == "ftd-b" and pair.suspended and pair.unit_state["ftd-a"] == "Disabled"


# -- a random walk over a pair --------------------------------------------------------------------------
PKG_DIR = Path(tempfile.mkdtemp(prefix="ha-stateful-"))
atexit.register(shutil.rmtree, PKG_DIR, True)      # made at import: gone when pytest exits
PACKAGE = inspect_package(make_package(UPGRADE_76, PKG_DIR))


class PairMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        clock = Clock(virtual=True, start=1_700_000_000.0)
        self.ctx = DeviceContext(clock, Journal(clock.now), rng=random.Random(0))
        self.a = FtdDevice(self.ctx, "a", "FTDv", "7.4.1-172")
        self.b = FtdDevice(self.ctx, "b", "FTDv", "7.4.1-172")
        self.pair = HaPair("p", self.a, self.b)
        self.ctx.journal.subscribe(self._on_event)

    def _on_event(self, event) -> None:
        if event["kind"] == "ha.failover" and event["cause"] != "switch":
            # never an automatic failover to a unit running another version
            assert self.a.version == self.b.version, event

    def teardown(self) -> None:
        self.loop.close()

    def unit(self, which: str) -> FtdDevice:
        return self.a if which == "a" else self.b

    def _try(self, call, *args) -> None:
        try:
            call(*args)
        except Refused:
            pass

    @rule(which=st.sampled_from("ab"))
    def reboot(self, which):
        self._try(self.unit(which).reboot)

    @rule(which=st.sampled_from("ab"))
    def power_cycle(self, which):
        self.unit(which).power_off()
        self.unit(which).power_on()

    @rule(which=st.sampled_from("ab"))
    def upgrade(self, which):
        unit = self.unit(which)
        self._try(unit.accept_package, PACKAGE)
        self._try(unit.start_upgrade)

    @rule()
    def switch(self):
        self._try(self.pair.switch)

    @rule()
    def suspend(self):
        self._try(self.pair.suspend)

    @rule()
    def resume(self):
        self._try(self.pair.resume)

    @rule(up=st.booleans())
    def link(self, up):
        self.pair.set_link(up)

    @rule(seconds=st.sampled_from([1, 10, 60, 600]))
    def wait(self, seconds):
        self.loop.run_until_complete(self.ctx.clock.advance(seconds))

    @rule()
    def converge(self):
        """With a healthy link and both units up, the pair ends Active + Standby Ready."""
        self.pair.set_link(True)
        self._try(self.pair.resume)
        for unit in (self.a, self.b):
            if unit.state == "unusable":          # power lost mid-install: reimage to the peer's version
                unit.reimage(self.pair.peer_of(unit).version)
        self.loop.run_until_complete(self.ctx.clock.run_until(
            lambda: all(u.state == "online" and u.job_phase == "done" for u in (self.a, self.b))))
        self.loop.run_until_complete(self.ctx.clock.advance(120))
        assert sorted(self.pair.unit_state.values()) == ["Active", "Standby Ready"], self.pair.unit_state

    @invariant()
    def two_active_only_with_a_cut_link(self):
        if list(self.pair.unit_state.values()).count("Active") == 2:
            assert not self.pair.link_up

    @invariant()
    def the_active_unit_is_a_unit(self):
        assert self.pair.active in (None, "a", "b")


PairMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, derandomize=True, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestPairStateful = PairMachine.TestCase


async def test_failed_config_sync_leaves_the_pair_out_of_sync_until_resumed(ha_lab, packages):
    lab, pair = ha_lab, ha_lab.pairs["ftd-ha"]
    b = lab.devices["ftd-b"]
    lab.add_fault("ha.sync", "fail", device="ftd-b")
    b.reboot()
    await run_until(lab, lambda: pair.unit_state["ftd-b"] == "Cold Standby")
    assert pair.config_status == "OUT_OF_SYNC" and pair.health()[0] == "UNHEALTHY"
    out = await Unit(lab, "ftd-b").cli("show failover state")
    assert "Cold Standby" in out and "Config Sync Failure" in out and "Sync Skipped" in out
    b.accept_package(inspect_package(packages(UPGRADE_76)))
    with pytest.raises(Refused, match="not synchronized"):
        b.start_upgrade()
    pair.resume()
    await run_until(lab, lambda: pair.state == "healthy")
    assert pair.config_status == "IN_SYNC"
    b.start_upgrade()


@pytest.mark.clients
def test_kill_9_in_the_middle_of_an_ha_upgrade(lab_process, tmp_path):
    import os
    import signal
    import time

    state = tmp_path / "state"
    endpoints, proc = lab_process("ftd-ha", "--time-scale", "40", state_dir=state)
    b = next(d for d in endpoints["devices"] if d["name"] == "ftd-b")["https"]
    package = make_package(UPGRADE_76, tmp_path)
    with fdm_client(b) as api:
        fdm_upgrade(api, package)
        time.sleep(1.5)          # about a minute simulated: the standby is upgrading, the active carries on
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = json.loads((state / "lab.json").read_text())["pairs"]["ftd-ha"]
    assert before["active"] == "ftd-a" and before["unit_state"]["ftd-b"] == "Failed"
    endpoints, proc = lab_process("ftd-ha", state_dir=state)           # virtual time: runs to the end
    assert next(p for p in endpoints["pairs"])["active"] == "ftd-a"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lab_state = json.loads((state / "lab.json").read_text())["pairs"]["ftd-ha"]
        snapshot = json.loads((state / "devices" / "ftd-b.json").read_text())
        if snapshot["version"] == "7.6.0-113" and lab_state["unit_state"]["ftd-b"] == "Standby Ready":
            break
        time.sleep(0.2)
    assert snapshot["version"] == "7.6.0-113" and lab_state["active"] == "ftd-a", lab_state
    assert next(d for d in endpoints["devices"] if d["name"] == "ftd-a")["version"] == "7.4.1-172"
    lines = (state / "journal.jsonl").read_text().splitlines()
    assert all(json.loads(line)["seq"] for line in lines)

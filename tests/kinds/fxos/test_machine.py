"""The chassis lifecycle (kinds/fxos/machine.py) against seed 000 ch. 3: the
states an install walks through and what `show firmware monitor` says in
each, the install's phases as facts.yaml describes them, refusals in the
chassis' own words derived from the machine, one machine for every chassis."""

from __future__ import annotations

import random
from typing import Any

import pytest

from simulator.clock import Clock
from simulator.journal import Journal
from simulator.kinds.base import DeviceContext, Refused
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.fxos.bundles import BundleInfo, FxosVersion
from simulator.kinds.fxos.facts import fxos_data, say
from simulator.kinds.fxos.machine import TABLE, install_phase
from simulator.kinds.fxos.model import MACHINE, FxosChassis

START = 1_760_000_000.0


class Bench:
    """A chassis (a 4145 on 2.12 hosting one FTD 7.2) on a virtual clock, bundles arriving at once."""

    def __init__(self, name: str = "c") -> None:
        self.clock = Clock(virtual=True, start=START)
        self.journal = Journal(self.clock.now)
        ctx = DeviceContext(self.clock, self.journal, rng=random.Random(1))
        self.ftd = FtdDevice(ctx, f"{name}-ftd", "FPR-4145", "7.2.5-208")
        self.chassis = FxosChassis(ctx, name, "FPR-4145", "2.12(0.498)", modules={1: [("ftd-1", self.ftd)]})
        self.chassis.transfer = self._transfer

    def _transfer(self, task: Any, password: str | None) -> None:
        info = BundleInfo(task.filename, str(FxosVersion.from_filename(task.filename)), 853688, 10240,
                          ("fp4k", "fp9k"), signed=True, intact=True)
        self.clock.call_later(0, self.chassis.download_received, task.filename, info)

    async def bundle(self, version: str) -> None:
        self.chassis.start_download(f"scp://u@10.0.0.1/{FxosVersion.parse(version).filename}", "pw")
        await self.clock.advance(300)

    async def install(self, version: str) -> list[tuple[str, str | None, dict[str, str]]]:
        """Each state the install passes, its phase and the components' Upgrade-Status there."""
        seen: list[tuple[str, str | None, dict[str, str]]] = []
        ch = self.chassis

        def sample(state: str) -> None:       # once entering the state has done its work
            seen.append((state, ch.install_phase, {c.name: c.status for c in ch.components}))

        unsubscribe = self.journal.subscribe(
            lambda e: e["kind"] == "state" and self.clock.call_later(0, sample, e["state"]), device=ch.name)
        ch.start_platform_install(version)
        assert await self.clock.run_until(lambda: ch.state == "online" and self.ftd.state == "online", limit=7200)
        unsubscribe()
        return seen


@pytest.fixture
async def bench() -> Bench:
    return Bench()


async def test_an_install_to_2_14_walks_the_guides_phases(bench: Bench):
    await bench.bundle("2.14(1.131)")
    seen = await bench.install("2.14(1.131)")
    assert [(state, phase) for state, phase, _ in seen] == [
        ("upgrade_fprm", "fprm"),
        ("upgrade_reboot_shutdown", "reboot"), ("upgrade_reboot_os", "reboot"), ("upgrade_reboot_dme", "reboot"),
        ("upgrade_fabric", "fabric"), ("upgrade_servers", "servers"), ("upgrade_firmware_install", "firmware_install"),
        ("upgrade_firmware_reboot_shutdown", "firmware_reboot"), ("upgrade_firmware_reboot_os", "firmware_reboot"),
        ("upgrade_firmware_reboot_dme", "firmware_reboot"), ("online", None)]
    monitor = {state: statuses for state, _, statuses in seen}
    # step 8: FPRM first, then the fabric interconnect, then the servers (held through the firmware)
    assert monitor["upgrade_fprm"] == {"FPRM": "Upgrading", "Fabric Interconnect A": "Ready", "Server 1": "Ready"}
    assert monitor["upgrade_fabric"] == {"FPRM": "Ready", "Fabric Interconnect A": "Upgrading", "Server 1": "Ready"}
    assert monitor["upgrade_servers"]["Server 1"] == monitor["upgrade_firmware_install"]["Server 1"] == "Upgrading"
    assert set(monitor["online"].values()) == {"Ready"}
    # the REST FSM's progress grows phase by phase
    progress = [fxos_data().install_phases[phase].progress for _, phase, _ in seen if phase]
    assert progress == sorted(progress)
    ch = bench.chassis
    assert ch.version == ch.startup_version == "2.14(1.131)" and ch.firmware_version == fxos_data().firmware_version
    assert bench.ftd.fxos_version == "2.14(1.131)"


async def test_an_install_without_firmware_reboots_once(bench: Bench):
    await bench.bundle("2.13(0.212)")
    seen = await bench.install("2.13(0.212)")
    states = [state for state, _, _ in seen]
    assert states[-2:] == ["upgrade_servers", "online"] and not any("firmware" in s for s in states)
    assert bench.chassis.install is not None and bench.chassis.install.reboots == 1


def _leaves(states: list[Any], prefix: str = "") -> list[str]:
    out = []
    for state in states:
        name = state if isinstance(state, str) else state["name"]
        children = [] if isinstance(state, str) else state.get("children", [])
        out += _leaves(children, f"{prefix}{name}_") if children else [prefix + name]
    return out


def test_the_facts_describe_every_phase_of_the_machine():
    phases = {install_phase(leaf) for leaf in _leaves(TABLE.states)} - {None}
    assert phases == set(fxos_data().install_phases)
    for name, phase in fxos_data().install_phases.items():
        assert phase.upgrades in (None, *fxos_data().components), name
        assert phase.timing in (None, *fxos_data().timings), name


async def test_refusals_come_from_the_machine_in_the_chassis_words(bench: Bench):
    ch = bench.chassis
    with pytest.raises(Refused) as none:
        ch.cancel_install()
    assert none.value.message == say("cancel_none")
    await bench.bundle("2.14(1.131)")
    ch.start_platform_install("2.14(1.131)")
    with pytest.raises(Refused, match="already in progress"):
        ch.start_platform_install("2.14(1.131)")
    assert await bench.clock.run_until(lambda: ch.state == "upgrade_reboot_os")
    assert not ch.may_restart() and not ch.may_cancel()
    with pytest.raises(Refused) as booting:
        ch.reboot()
    assert booting.value.message == say("not_ready") == "Software Error: Exception during execution: " \
                                                         "[Error: Timed out communicating with DME]"
    assert await bench.clock.run_until(lambda: ch.state == "upgrade_fabric")
    with pytest.raises(Refused) as late:
        ch.cancel_install()
    assert late.value.message == say("cancel_late", target="2.14(1.131)")
    # an operator's reboot while the fabric interconnect upgrades ends the install
    ch.reboot()
    assert ch.state == "shutdown" and ch.install is not None and ch.install.state == "FAILED"
    assert ch.component("Fabric Interconnect A").status == "Failed"


def test_one_machine_serves_every_chassis():
    one, two = Bench("one").chassis, Bench("two").chassis
    assert one.state == two.state == "online" and one.may_restart() and two.may_restart()
    assert not [name for name in vars(one) if name.startswith(("may_", "is_", "to_")) or name in MACHINE.events]
    assert FxosChassis.restart is not None and "restart" not in vars(one)


async def test_restore_starts_a_boot_over(bench: Bench):
    """A lab stopped mid-boot: the chassis boots again from `os` and the install goes on."""
    await bench.bundle("2.14(1.131)")
    bench.chassis.start_platform_install("2.14(1.131)")
    assert await bench.clock.run_until(lambda: bench.chassis.state == "upgrade_reboot_dme")
    again = Bench()
    again.chassis.restore(bench.chassis.snapshot())
    assert again.chassis.state == "upgrade_reboot_os" and again.chassis.install_phase == "reboot"
    assert await again.clock.run_until(lambda: again.chassis.state == "online", limit=7200)
    assert again.chassis.install is not None and again.chassis.install.state == "COMPLETED"

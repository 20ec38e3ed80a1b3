"""The ASA's state machines (machine.py): a unit's life, one failover state per
unit and group with the vendor's names, and the pair's own state; shared
machines bound on the classes; refusals from `may_<trigger>()`."""

from __future__ import annotations

import random

import pytest

from simulator.clock import Clock
from simulator.faults import FaultPlan
from simulator.journal import Journal
from simulator.kinds.asa.facts import asa_data, say
from simulator.kinds.asa.failover import AsaFailoverPair
from simulator.kinds.asa.failover_unit import FailoverUnit
from simulator.kinds.asa.machine import UNIT_STATES, shown
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.base import DeviceContext, Refused
from tests.kinds.asa.test_asa import START, arrive

JOIN = ["Not Detected", "Negotiation", "Cold Standby", "Sync Config", "Sync File System", "Bulk Sync", "Standby Ready"]


def _pair(mode: str = "active-standby", version: str = "9.19(1)") -> tuple[Clock, AsaFailoverPair]:
    clock = Clock(virtual=True, start=START)
    ctx = DeviceContext(clock, Journal(clock.now), FaultPlan(lambda: 0.0), random.Random(5))
    a, b = (AsaDevice(ctx, name, "ASAv", version, hostname="fw") for name in ("asa-a", "asa-b"))
    return clock, AsaFailoverPair("fw-pair", a, b, mode=mode, vpn_tunnels=1)


def _states(pair: AsaFailoverPair, unit: str, group: int = 1, since: int = 0) -> list[str]:
    return [e["state"] for e in pair.ctx.journal.select(unit, "ha.unit")[since:] if e["group"] == group]


async def test_a_reloaded_standby_walks_the_vendor_states_back_to_standby_ready():
    clock, pair = _pair()
    a, b = pair.primary, pair.secondary
    assert pair.reload_standby(a) is None
    await clock.run_until(lambda: b.state == "booting")
    await clock.run_until(lambda: b.state == "online")
    up = clock.now()
    await clock.run_until(lambda: pair.state_of[1][b.name] == "Standby Ready")
    assert _states(pair, b.name) == JOIN
    failover = asa_data().failover
    walk = (failover.negotiation + failover.cold_standby + failover.sync_config + failover.sync_file_system
            + failover.bulk_sync)
    assert clock.now() - up == pytest.approx(walk)
    assert [e["state"] for e in pair.ctx.journal.select(None, "ha.state")] == ["healthy", "degraded", "forming",
                                                                               "healthy"]
    pair.close()


async def test_write_standby_resyncs_from_cold_standby_and_refuses_a_switchover_meanwhile():
    clock, pair = _pair()
    a, b = pair.primary, pair.secondary
    seen = len(pair.ctx.journal.select(b.name, "ha.unit"))
    pair.write_standby(a)
    assert pair.state_of[1][b.name] == "Cold Standby" and pair.state == "forming"
    with pytest.raises(Refused) as refused:
        pair.no_failover_active(a)
    assert refused.value.message == say("refuse", "mate_not_ready", state="Cold Standby")
    await clock.run_until(lambda: pair.state_of[1][b.name] == "Standby Ready")
    assert _states(pair, b.name, since=seen) == JOIN[2:]
    assert pair.state == "healthy" and pair.no_failover_active(a) == [1] and pair.active == b.name
    pair.close()


async def test_active_active_has_one_failover_state_per_group_and_unit():
    _clock, pair = _pair("active-active", "9.16(4)")
    a, b = pair.primary, pair.secondary
    assert {g: set(units) for g, units in pair.members.items()} == {1: {a.name, b.name}, 2: {a.name, b.name}}
    assert pair.state_of == {1: {a.name: "Active", b.name: "Standby Ready"},
                             2: {a.name: "Standby Ready", b.name: "Active"}}
    assert pair.unit_entry(b) == {"pair": "fw-pair", "role": "secondary", "state": "Standby Ready",
                                  "groups": {1: "Standby Ready", 2: "Active"}}
    pair.failover_active(a, 2)
    assert pair.member(2, a).state == "Active" and pair.member(2, b).state == "Standby_Ready"
    assert pair.member(1, a).active_since is not None and pair.member(2, b).active_since is None
    pair.close()


async def test_an_incompatible_mate_is_disabled_and_a_switch_to_it_refused_in_the_devices_words():
    clock, pair = _pair(version="9.18(4)5")
    b = pair.secondary
    arrive(b, "asa9-20-2-smp-k8.bin", "9.20(2)")
    b.clear_boot_system()
    b.add_boot_system("disk0:/asa9-20-2-smp-k8.bin")
    b.write_memory()
    b.reload()
    await clock.run_until(lambda: b.state == "online")
    await clock.advance(60)
    member = pair.member(1, b)
    assert member.shown == "Disabled" and pair.state == "incompatible"
    assert not member.may_switch_active() and not member.runs_beside_mate()
    with pytest.raises(Refused) as refused:
        pair.failover_active(b)
    assert refused.value.message == say("refuse", "mate_incompatible", mate="9.20(2)", ours="9.18(4)5")
    pair.close()


def test_the_machines_are_shared_and_bound_on_the_classes():
    _clock, pair = _pair()
    member = pair.member(1, pair.primary)
    assert set(vars(member)) == {"pair", "group", "device", "active_since", "state"}
    assert "switch_active" in vars(FailoverUnit) and "may_switch_active" in vars(FailoverUnit)
    assert "restart" in vars(AsaDevice) and "restart" not in vars(pair.primary)
    assert {shown(s) for s in UNIT_STATES} >= {"Not Detected", "Cold Standby", "Standby Ready", "Active"}
    pair.close()


async def test_refusals_come_from_the_machine_in_the_units_words():
    clock = Clock(virtual=True, start=START)
    asa = AsaDevice(DeviceContext(clock, Journal(clock.now)), "asa-1", "ASAv", "9.19(1)")
    asa.power_off()
    assert not asa.may_restart() and not asa.may_cut_power()
    with pytest.raises(Refused) as refused:
        asa.reload()
    assert refused.value.message == "ERROR: The unit is not ready (off)." == say("refuse", "not_online", state="off")
    with pytest.raises(Refused):
        asa.boot_from_rommon()
    asa.power_on()
    assert asa.state == "booting" and not asa.may_power_up()
    await clock.run_until(lambda: asa.state == "online")
    # no image left: ROMMON; `boot` there tries again (and stops again), a reimage brings it back
    asa.delete_file(asa.image)
    asa.reload()
    await clock.run_until(lambda: asa.state == "rommon")
    asa.boot_from_rommon()
    assert asa.state == "booting"
    await clock.run_until(lambda: asa.state == "rommon")
    asa.reimage()
    await clock.run_until(lambda: asa.state == "online")
    assert [e["kind"] for e in asa.ctx.journal.select("asa-1") if e["kind"] in ("rommon", "rommon.boot")] == [
        "rommon", "rommon.boot", "rommon"]


async def test_an_image_gone_while_loading_sends_the_unit_to_rommon():
    clock = Clock(virtual=True, start=START)
    asa = AsaDevice(DeviceContext(clock, Journal(clock.now)), "asa-1", "ASAv", "9.19(1)")
    asa.reload()
    await clock.run_until(lambda: asa.state == "booting")
    assert asa.loading == asa.image and asa.image_intact()
    asa.disk.entries.pop(asa.image)         # the file vanished under ROMMON
    await clock.run_until(lambda: asa.state != "booting")
    assert asa.state == "rommon" and asa.ctx.journal.select("asa-1", "rommon")[-1]["reason"] == "image vanished"

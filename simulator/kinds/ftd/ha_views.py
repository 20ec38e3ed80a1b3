"""Failover output (`show failover`, `show failover state`, `show
high-availability config`) rendered from an HA pair with the templates of
data/ha.yaml; shared by the FTD CLI, its diagnostic CLI (and the ASA CLI)."""

from __future__ import annotations

import time
from typing import Any

from simulator.kinds.ftd.ha import HaPair, ha_data
from simulator.kinds.ftd.model import FtdDevice


def _text(key: str, **values: Any) -> str:
    return ha_data()["cli"][key].format(**values).rstrip("\n")


def ha_text(key: str) -> str:
    return ha_data()["cli"][key]


def _addresses(pair: HaPair, unit: FtdDevice) -> dict[str, str]:
    """Interface addresses: the active unit holds the primary addresses."""
    active = pair.unit_state[unit.name] == "Active"
    return {"inside": "192.168.1.1" if active else "192.168.1.2",
            "outside": "203.0.113.1" if active else "203.0.113.2",
            "failover": "10.255.255.1" if unit is pair.primary else "10.255.255.2"}


def _active_time(pair: HaPair, unit: FtdDevice) -> int:
    since = pair.active_since.get(unit.name)
    return int(unit.ctx.clock.now() - since) if since is not None else 0


def show_failover(unit: FtdDevice) -> str:
    pair: HaPair | None = unit.ha
    if pair is None or pair.broken:
        return _text("show_failover_off")
    peer = pair.peer_of(unit)
    peer_seen = pair.link_up and pair.unit_state[peer.name] not in ("Not Detected",)
    ours, mate = _addresses(pair, unit), _addresses(pair, peer)
    # The line is there once a failover happened.
    stamp = (f"Last Failover at: {time.strftime('%H:%M:%S UTC %b %d %Y', time.gmtime(pair.last_failover))}\n"
             if pair.last_failover else "")
    exchanged = int(unit.ctx.clock.now() - unit.booted_at)
    return _text(
        "show_failover", role=pair.role_of(unit), peer_role=pair.role_of(peer),
        link="up" if pair.link_up else "down", our_version=unit.asa_version,
        mate_version=peer.asa_version if peer_seen else "Unknown", our_serial=unit.serial,
        mate_serial=peer.serial if peer_seen else "Unknown", last_failover=stamp,
        our_state=pair.unit_state[unit.name], mate_state=_as_seen(pair, peer),
        our_active_time=_active_time(pair, unit), mate_active_time=_active_time(pair, peer),
        our_model=unit.info.asa_hardware.split(",")[0], mate_model=peer.info.asa_hardware.split(",")[0],
        our_inside=ours["inside"], our_outside=ours["outside"], mate_inside=mate["inside"],
        mate_outside=mate["outside"], xmit=exchanged, rcv=exchanged if peer_seen else 0,
        queue_max=min(exchanged, 23))      # the deepest either queue got: a few updates at once


def _as_seen(pair: HaPair, peer: FtdDevice) -> str:
    """The peer's state as this unit sees it: unknown across a cut link."""
    return pair.unit_state[peer.name] if pair.link_up else "Failed"


def show_failover_state(unit: FtdDevice) -> str:
    pair: HaPair | None = unit.ha
    if pair is None or pair.broken:
        return _text("show_failover_off")
    peer = pair.peer_of(unit)

    def reason(name: str) -> tuple[str, str]:
        failure = pair.last_failure.get(name)
        if not failure:
            return "None", ""
        return failure[0], time.strftime("%H:%M:%S UTC %b %d %Y", time.gmtime(failure[1]))

    our_reason, our_time = reason(unit.name)
    mate_reason, mate_time = reason(peer.name)
    config = "Sync Done" if pair.config_status == "IN_SYNC" else "Sync Skipped"
    if pair.unit_state[unit.name] != "Active" and config == "Sync Done":
        config = "Sync Done - STANDBY"
    return _text("show_failover_state", role=pair.role_of(unit), peer_role=pair.role_of(peer),
                 our_state=pair.unit_state[unit.name], mate_state=_as_seen(pair, peer),
                 our_reason=our_reason, our_reason_time=our_time, mate_reason=mate_reason,
                 mate_reason_time=mate_time, config_state=config,
                 comm_state="Mac set" if pair.link_up else "Mac set, Peer not reachable")


def show_ha_config(unit: FtdDevice) -> str:
    pair: HaPair | None = unit.ha
    if pair is None or pair.broken:
        return _text("show_failover_off")
    peer = pair.peer_of(unit)
    health, reason = pair.health()
    return _text("show_ha_config", role=pair.role_of(unit), link="up" if pair.link_up else "down",
                 our_failover_ip=_addresses(pair, unit)["failover"],
                 mate_failover_ip=_addresses(pair, peer)["failover"], config_status=pair.config_status,
                 health=health + (f" ({reason})" if reason else ""),
                 suspended="yes" if pair.suspended or unit.name in pair.post_upgrade else "no")

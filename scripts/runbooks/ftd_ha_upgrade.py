#!/usr/bin/env python3
"""Upgrade an FTD high availability pair managed by Device Manager, as seed
000 "Upgrade High Availability Threat Defense" describes: upgrade the
standby, wait for HA to resume, switch roles (Switch Mode), upgrade the new
standby, wait for HA again. Talks only to the units' REST APIs (and, if
given, a traffic probe: a TCP port that answers while traffic passes).

    python scripts/runbooks/ftd_ha_upgrade.py --unit https://fw-a --unit https://fw-b --password ... PACKAGE"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fdm_client import Fdm, FdmError  # noqa: E402
from upgrade_steps import add_device_arguments, logged_in, summary_table, upgrade_unit  # noqa: E402

console = Console()


def read_probe(address: str | None) -> dict | None:
    if not address:
        return None
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            return json.loads(sock.makefile().readline())
    except OSError:
        return {"lost_probes": None, "lost_seconds": 0, "up": False}


def wait_for_standby(fdm: Fdm, label: str, poll: float) -> None:
    """After its post-upgrade reboot HA is briefly suspended on the unit; wait until it is standby again."""
    console.print(f"{label}: waiting for high availability to resume")
    fdm.poll("/devices/default/operational/ha/status/default",
             lambda s: s["nodeState"] == "HA_STANDBY_NODE" and s["peerNodeState"] == "HA_ACTIVE_NODE",
             poll, lambda s, note: None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_device_arguments(parser)
    parser.add_argument("--unit", action="append", required=True, help="HTTPS URL of a unit (give both)")
    parser.add_argument("--probe", help="host:port of a traffic probe, to report what traffic saw")
    args = parser.parse_args()
    if len(args.unit) != 2:
        parser.error("give --unit twice, one per unit of the pair")
    started = time.monotonic()
    units = {url: Fdm(url, args.username, args.password, verify=args.ca or False) for url in args.unit}
    results = []
    try:
        with logged_in(units):
            results += _upgrade_pair(args, units)
    except FdmError as exc:
        console.print(f"[red]HA upgrade stopped:[/red] {exc}")
        return 1
    console.print(summary_table("FTD HA upgrade", results, time.monotonic() - started, read_probe(args.probe)))
    return 0


def _upgrade_pair(args: argparse.Namespace, units: dict[str, Fdm]) -> list[dict]:
    """Seed 000's order: upgrade the standby, switch roles, upgrade the other unit."""
    results = []
    roles = {url: fdm.ha_status() for url, fdm in units.items()}
    standby = next((u for u, s in roles.items() if s["nodeState"] == "HA_STANDBY_NODE"), None)
    active = next((u for u, s in roles.items() if s["nodeState"] == "HA_ACTIVE_NODE"), None)
    if standby is None or active is None:
        raise FdmError(f"the pair is not Active/Standby: {[s['nodeState'] for s in roles.values()]}")
    console.print(f"active: {active}, standby: {standby} (health {roles[active]['haHealthStatus']})")
    for step, (unit, other) in enumerate(((standby, active), (active, standby)), start=1):
        console.rule(f"step {2 * step - 1}: upgrade the standby {unit}")
        result = upgrade_unit(console, units[unit], args.package, not args.no_auto_cancel, args.poll, unit)
        results.append(result)
        if result["state"] != "COMPLETED":
            raise FdmError(f"{unit}: upgrade {result['state']}; the pair runs mixed versions - "
                           "upgrade it again or revert the other unit (seed 000, troubleshooting)")
        wait_for_standby(units[unit], unit, args.poll)
        if step == 1:
            console.rule(f"step 2: switch roles - {unit} becomes active")
            status = units[unit].call("POST", "/devices/default/action/ha/failover")
            console.print(f"{unit}: {status['nodeState']}, peer {status['peerNodeState']}")
    return results


if __name__ == "__main__":
    sys.exit(main())

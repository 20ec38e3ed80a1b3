#!/usr/bin/env python3
"""Upgrade an FTD high availability pair hosted on two Firepower 4100/9300
chassis in the order of seed 000 table 2: the chassis of the standby, switch
roles, the chassis of the new standby, threat defense on the new standby,
switch roles again, threat defense on the original standby. Talks only to
the chassis' FXOS REST APIs and the units' FDM REST APIs.

    python scripts/runbooks/ftd_ha_chassis_upgrade.py \\
        --chassis https://chassis-a --unit https://ftd-a --chassis https://chassis-b --unit https://ftd-b \\
        --password ... --bundle-url http://files/fxos-k9.2.14.1.131.SPA Cisco_FTD_SSP_Upgrade-7.4.1-172.sh.REL.tar"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fdm_client import Fdm, FdmError  # noqa: E402
from ftd_ha_upgrade import console, read_probe, wait_for_standby  # noqa: E402
from fxos_upgrade import Chassis, upgrade_chassis  # noqa: E402
from upgrade_steps import add_device_arguments, logged_in, summary_table, upgrade_unit  # noqa: E402


def switch_to(fdm: Fdm, label: str) -> None:
    status = fdm.call("POST", "/devices/default/action/ha/failover")
    console.print(f"{label}: {status['nodeState']}, peer {status['peerNodeState']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_device_arguments(parser)
    parser.add_argument("--chassis", action="append", required=True, help="FXOS HTTPS URL (twice, in unit order)")
    parser.add_argument("--unit", action="append", required=True, help="FTD HTTPS URL of the unit on that chassis")
    parser.add_argument("--bundle-url", required=True, help="where the chassis download the FXOS bundle from")
    parser.add_argument("--bundle-password")
    parser.add_argument("--probe", help="host:port of a traffic probe")
    args = parser.parse_args()
    if len(args.chassis) != 2 or len(args.unit) != 2:
        parser.error("give --chassis and --unit twice each (unit i runs on chassis i)")
    started = time.monotonic()
    host_of = dict(zip(args.unit, args.chassis))
    units = {url: Fdm(url, args.username, args.password, verify=args.ca or False) for url in args.unit}
    chassis = {url: Chassis(url, args.username, args.password, args.ca or False) for url in args.chassis}
    chassis_results, unit_results = [], []
    try:
        with logged_in(units):
            for c in chassis.values():
                c.login()
            roles = {url: fdm.ha_status()["nodeState"] for url, fdm in units.items()}
            standby = next(u for u, s in roles.items() if s == "HA_STANDBY_NODE")
            active = next(u for u, s in roles.items() if s == "HA_ACTIVE_NODE")
            console.print(f"active {active} on {host_of[active]}; standby {standby} on {host_of[standby]}")
            console.rule(f"1. upgrade the chassis of the standby ({host_of[standby]})")
            chassis_results.append(upgrade_chassis(chassis[host_of[standby]], host_of[standby], args.bundle_url,
                                                   args.bundle_password, args.poll))
            wait_for_standby(units[standby], standby, args.poll)
            console.rule(f"2. switch roles: {standby} becomes active")
            switch_to(units[standby], standby)
            console.rule(f"3. upgrade the chassis of the new standby ({host_of[active]})")
            chassis_results.append(upgrade_chassis(chassis[host_of[active]], host_of[active], args.bundle_url,
                                                   args.bundle_password, args.poll))
            wait_for_standby(units[active], active, args.poll)
            console.rule(f"4. upgrade threat defense on the new standby ({active})")
            unit_results.append(upgrade_unit(console, units[active], args.package, not args.no_auto_cancel, args.poll,
                                             active))
            wait_for_standby(units[active], active, args.poll)
            console.rule(f"5. switch roles again: {active} becomes active")
            switch_to(units[active], active)
            console.rule(f"6. upgrade threat defense on the original standby ({standby})")
            unit_results.append(upgrade_unit(console, units[standby], args.package, not args.no_auto_cancel,
                                             args.poll, standby))
            wait_for_standby(units[standby], standby, args.poll)
    except FdmError as exc:
        console.print(f"[red]stopped:[/red] {exc}")
        return 1
    table = Table(title="chassis")
    for column in ("chassis", "before", "after", "app instances"):
        table.add_column(column)
    for r in chassis_results:
        table.add_row(r["chassis"], r["before"], r["after"], r["apps"])
    console.print(table)
    console.print(summary_table("FTD HA upgrade on two chassis", unit_results, time.monotonic() - started,
                                read_probe(args.probe)))
    return 0 if all(r["state"] == "COMPLETED" for r in unit_results) else 1


if __name__ == "__main__":
    sys.exit(main())

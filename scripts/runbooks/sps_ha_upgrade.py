#!/usr/bin/env python3
"""Upgrade a One Identity Safeguard for Privileged Sessions HA cluster as
seed 004 describes (H1-H11): on the master upload the firmware ISO, test it,
select it After reboot, wait until the secondary has it, shut the secondary
down, reboot the master into the new firmware, power the secondary on (IPMI),
wait for the data sync, check both run the same version, Activate Slave.

Powering on is pluggable: `--power-on control:URL` asks a simulator lab's
control API, `--power-on 'cmd:ipmitool -I lanplus -H ... chassis power on'`
runs a command (a BMC).

    python scripts/runbooks/sps_ha_upgrade.py --node https://sps-a --node https://sps-b \\
        --password ... --power-on control:http://127.0.0.1:PORT ISO"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sps_client import OURS, Sps, SpsError  # noqa: E402

console = Console()
PowerOn = Callable[[dict], None]       # given the other node as the HA page shows it


def power_on_step(spec: str) -> PowerOn:
    """`control:URL` (a simulator lab's control API) or `cmd:COMMAND` (e.g. ipmitool)."""
    how, _, where = spec.partition(":")
    if how == "control":
        def control(node: dict) -> None:
            r = httpx.post(f"{where.rstrip('/')}/api/devices/{node['name']}/power", json={"action": "on"})
            if r.status_code != 200:
                raise SpsError(f"power on {node['name']}: {r.status_code} {r.text[:200]}")
        return control
    if how == "cmd":
        def command(node: dict) -> None:
            done = subprocess.run(shlex.split(where), capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise SpsError(f"power on {node['name']}: {done.stdout}{done.stderr}".strip())
        return command
    raise argparse.ArgumentTypeError("--power-on takes control:URL or cmd:COMMAND")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("iso", type=Path, help="the firmware ISO")
    parser.add_argument("--node", action="append", required=True, help="HTTPS URL of a node (give both)")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca", help="CA file to verify the nodes' certificates (default: no verification)")
    parser.add_argument("--power-on", type=power_on_step, required=True, help="control:URL or cmd:COMMAND")
    parser.add_argument("--poll", type=float, default=15.0, help="seconds between status polls (default 15)")
    args = parser.parse_args()
    if len(args.node) != 2:
        parser.error("give --node twice, one per node of the cluster")
    nodes = [Sps(url, args.username, args.password, verify=args.ca or False) for url in args.node]
    started, steps = time.monotonic(), []
    try:
        steps = upgrade(nodes, args.iso, args.power_on, args.poll)
    except SpsError as exc:
        console.print(f"[red]HA upgrade stopped:[/red] {exc}")
        return 1
    finally:
        for node in nodes:
            node.close()
    table = Table(title=f"SPS HA upgrade ({(time.monotonic() - started) / 60:.1f} min)")
    for column in ("step", "result"):
        table.add_column(column)
    for step, result in steps:
        table.add_row(step, result)
    console.print(table)
    return 0


def upgrade(nodes: list[Sps], iso: Path, power_on: PowerOn, poll: float) -> list[tuple[str, str]]:
    master = next((n for n in nodes if n.reachable()), None)
    if master is None:
        raise SpsError("no node answers: the master's web interface is away")
    other = next(n for n in nodes if n is not master)
    steps: list[tuple[str, str]] = []

    def step(name: str, result: str) -> None:
        console.print(f"[bold]{name}[/bold]: {result}")
        steps.append((name, result))

    ha = master.ha()
    if ha["status"] != "HA":
        raise SpsError(f"the HA status is {ha['status']}, not HA: fix the cluster before upgrading (P8)")
    before = ha["this_node"]["firmware_version"]
    uploaded = master.upload(iso)
    slot, version = uploaded["key"], uploaded["body"]["version"]
    step("H1-H2 upload", f"{iso.name}: {version} in slot {slot}")
    summary = master.call("POST", "/api/firmware/test", json={"slot_id": int(slot)})["body"]["test_summary"]
    step("H3 test", summary.splitlines()[0])
    master.call("POST", f"{OURS}/firmware/after_reboot", json={"slot_id": int(slot)})
    step("H4 after reboot", f"slot {slot}")
    master.poll(f"{OURS}/high_availability", lambda h: h["other_node"]["firmware_after_reboot"] == version, poll)
    step("H5 secondary has it", f"{ha['other_node']['name']}: after reboot {version}")
    master.call("POST", f"{OURS}/system_control/other_node/shutdown", json={})
    master.poll(f"{OURS}/high_availability", lambda h: h["other_node"]["state"] == "off", poll)
    step("H6 other node shutdown", "off; HA status Degraded")
    master.call("POST", f"{OURS}/system_control/this_node/reboot", json={})
    time.sleep(poll)
    master.poll("/api/info", lambda info: info["firmware_version"] == version, poll)
    step("H7-H8 reboot this node", f"{before} -> {version}")
    power_on(master.ha()["other_node"])
    step("H9 power on other node", "syncing (Heartbeat unavailable)")
    done = master.poll(f"{OURS}/high_availability", lambda h: h["status"] == "HA" and h["same_versions"], poll)
    step("H10 verify", f"HA, both on {done['this_node']['firmware_version']}")
    master.call("POST", f"{OURS}/high_availability/activate_slave", json={})
    other.poll(f"{OURS}/high_availability",
                   lambda h: h["status"] == "HA" and h["this_node"]["ha_role"] == "master", poll)
    step("H11 activate slave", f"{other.url} is the master; HA")
    return steps


if __name__ == "__main__":
    sys.exit(main())

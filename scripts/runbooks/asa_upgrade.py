#!/usr/bin/env python3
"""Zero-downtime upgrade of an ASA failover pair over SSH (netmiko cisco_asa),
as seed 003 describes. Active/Standby: copy the image to both units and put it
first in `boot system`, `write memory`, `failover reload-standby`, wait for
Standby Ready, `no failover active`, `reload` the new standby, wait, then
`failover active` on the original unit. With --active-active: `failover
active` (both groups on the primary), reload the secondary, `no failover
active`, reload the primary, and groups return by preempt (or `failover
active group N`). Runs unchanged against real ASAs.

    python scripts/runbooks/asa_upgrade.py --primary 10.0.0.1 --secondary 10.0.0.2 \\
        --password ... --image-url http://files/asa9-20-2-smp-k8.bin"""

from __future__ import annotations

import argparse
import re
import sys
import time
from urllib.parse import urlsplit

from netmiko import ConnectHandler
from rich.console import Console
from rich.table import Table

console = Console()
VERSION = re.compile(r"Version: Ours (\S+), Mate (\S+)")


class Unit:
    """One ASA unit over SSH (reconnects after its reload)."""

    def __init__(self, address: str, args: argparse.Namespace) -> None:
        host, _, port = address.partition(":")
        self.label = address
        self.params = {"device_type": "cisco_asa", "host": host, "port": int(port or 22),
                       "username": args.username, "password": args.password,
                       "secret": args.enable or args.password}
        self.conn = None

    def connect(self, wait: float = 0) -> None:
        deadline = time.monotonic() + wait
        while True:
            try:
                self.conn = ConnectHandler(**self.params)
                self.conn.enable()
                return
            except Exception:      # noqa: BLE001 - the unit is still reloading
                if time.monotonic() >= deadline:
                    raise
                time.sleep(1)

    def run(self, command: str, read_timeout: float = 120) -> str:
        # The prompt where a line starts (the hostname, any /priority/state, `#`), not necessarily
        # ending the output: an ASA prints failover messages on its sessions at any moment, right
        # after a prompt too ("fw# ****WARNING..."), and netmiko's default (the prompt found again,
        # at the very end of the output) would wait out read_timeout for it.
        prompt = r"(?m)^" + re.escape(self.conn.base_prompt.split("/")[0]) + r"\S*#"
        return self.conn.send_command(command, expect_string=prompt, read_timeout=read_timeout)

    def failover(self) -> str:
        return self.run("show failover")

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.disconnect()
            except OSError:
                pass
            self.conn = None


def states(text: str) -> dict[str, str]:
    """`This host` / `Other host` states (Active/Standby), or per-group states."""
    found = {}
    for who in ("This host", "Other host"):
        m = re.search(rf"{who}: \S+ - ([A-Za-z ]+?)\s*$", text, re.M)
        if m:
            found[who] = m.group(1)
    return found


def wait_until(unit: Unit, test, what: str, poll: float, timeout: float = 3600) -> str:
    deadline = time.monotonic() + timeout
    with console.status(f"{unit.label}: waiting until {what}"):
        while time.monotonic() < deadline:
            try:
                out = unit.failover()
                if test(out):
                    return out
            except Exception:      # noqa: BLE001 - a session dropped by a reload: reconnect
                unit.close()
                unit.connect(wait=timeout)
            time.sleep(poll)
    raise SystemExit(f"{unit.label}: gave up waiting until {what}")


def mate_ready(out: str) -> bool:
    if "Group 1 State" in out:      # Active/Active: both groups on the other unit Standby Ready
        other = out[out.index("Other host"):] if "Other host" in out else ""
        return other.count("Standby Ready") >= 2
    return states(out).get("Other host") == "Standby Ready"


def mate_back(out: str) -> bool:
    """After the primary's reload (Active/Active): both its groups are up again,
    Standby Ready or already active again by preempt."""
    other = out[out.index("Other host"):] if "Other host" in out else ""
    other = other.split("Stateful Failover")[0]
    return other.count("Standby Ready") + other.count("State: Active") >= 2


def reload_unit(unit: Unit) -> None:
    console.print(f"{unit.label}: reload")
    unit.conn.send_command_timing("reload", read_timeout=30)
    try:
        unit.conn.send_command_timing("\n", read_timeout=10)
    except Exception:      # noqa: BLE001 - the unit drops the session as it goes down
        pass
    unit.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--primary", required=True, help="host[:port] of the primary (active) unit")
    parser.add_argument("--secondary", required=True, help="host[:port] of the secondary unit")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--enable", help="enable password (default: the password)")
    parser.add_argument("--image-url", required=True, help="where both units copy the new image from")
    parser.add_argument("--active-active", action="store_true", help="an Active/Active pair (failover groups)")
    parser.add_argument("--poll", type=float, default=10.0)
    args = parser.parse_args()
    image = urlsplit(args.image_url).path.rsplit("/", 1)[-1]
    started = time.monotonic()
    primary, secondary = Unit(args.primary, args), Unit(args.secondary, args)
    primary.connect()
    before = VERSION.search(primary.failover())
    console.rule("step 1: download the new software to both units, boot system, write memory")
    for command in (f"copy /noconfirm {args.image_url} disk0:/{image}",
                    f"failover exec mate copy /noconfirm {args.image_url} disk0:/{image}"):
        out = primary.run(command)
        if "bytes copied" not in out:
            raise SystemExit(f"copy failed: {out.strip()}")
    current = re.search(r"^BOOT variable = (.*)$", primary.run("show bootvar"), re.M)
    old = [b for b in (current.group(1).split(";") if current else []) if b.strip()]
    primary.conn.send_config_set([*[f"no boot system {b}" for b in old], f"boot system disk0:/{image}",
                                  *[f"boot system {b}" for b in old]])
    primary.run("write memory")
    console.print(f"boot system disk0:/{image} first on both units (replicated), saved")
    if args.active_active:
        console.rule("step 2: make both failover groups active on the primary")
        primary.run("failover active")
    console.rule(f"step {3 if args.active_active else 2}: failover reload-standby")
    primary.run("failover reload-standby")
    time.sleep(args.poll)
    out = wait_until(primary, mate_ready, "the secondary is Standby Ready", args.poll)
    console.print(f"secondary back: {VERSION.search(out).group(0) if VERSION.search(out) else ''}")
    console.rule(f"step {4 if args.active_active else 3}: no failover active (the secondary takes over)")
    primary.run("no failover active")
    console.rule(f"step {5 if args.active_active else 4}: reload the former active unit")
    reload_unit(primary)
    secondary.connect(wait=600)
    time.sleep(args.poll)
    out = wait_until(secondary, mate_back if args.active_active else mate_ready,
                     "the primary is back" if args.active_active else "the primary is Standby Ready", args.poll)
    primary.connect(wait=600)
    if args.active_active:
        console.rule("step 6: groups return to their units (preempt, else failover active group N)")
        primary.run("failover active group 1")
        secondary.run("failover active group 2")
    else:
        console.rule("step 5: failover active on the original active unit")
        primary.run("failover active")
    final = primary.failover()
    after = VERSION.search(final)
    table = Table(title=f"ASA {'Active/Active' if args.active_active else 'Active/Standby'} upgrade: "
                        f"{time.monotonic() - started:.1f} s wall time")
    for column in ("unit", "before", "after", "failover state"):
        table.add_column(column)
    table.add_row(args.primary, before.group(1) if before else "?", after.group(1) if after else "?",
                  states(final).get("This host", "Group states: see show failover"))
    table.add_row(args.secondary, before.group(2) if before else "?", after.group(2) if after else "?",
                  states(final).get("Other host", "-"))
    console.print(table)
    primary.close()
    secondary.close()
    return 0 if after and after.group(1) == after.group(2) else 1


if __name__ == "__main__":
    sys.exit(main())

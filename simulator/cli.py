"""`simulator ...` command line."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import time
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from . import profile as profiles
from .packages import make_package
from .versions import PackageName

# Wide enough for the device table when output goes to a file or pipe.
console = Console(highlight=False, width=max(shutil.get_terminal_size((160, 24)).columns, 120))
err = Console(stderr=True, highlight=False, soft_wrap=True)
TABLE_ROWS = 40  # a fleet of thousands prints its first rows only


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulator", description="Firewall appliance simulator")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start a lab in the foreground and print its endpoints")
    up.add_argument("profile", nargs="?", help=f"profile path or bundled name (default: {profiles.DEFAULT_PROFILE})")
    timing = up.add_mutually_exclusive_group()
    timing.add_argument("--time-scale", type=float, metavar="X",
                        help="simulated seconds per wall second (default: the profile's, else 25)")
    timing.add_argument("--virtual-time", action="store_true",
                        help="simulated time jumps to the next event whenever the lab is idle")
    up.add_argument("--state-dir", type=Path, metavar="DIR", help="where the lab keeps its state (default: state/<lab>)")
    up.add_argument("--endpoints", type=Path, metavar="FILE", help="write the endpoints as JSON once listening")
    up.add_argument("--host", default="127.0.0.1", metavar="ADDR", help="bind address (default: 127.0.0.1)")
    up.add_argument("--seed", type=int, metavar="N", help="seed for serials, UUIDs and random faults")

    package = sub.add_parser("package", help="upgrade package files")
    package_sub = package.add_subparsers(dest="package_command", required=True)
    make = package_sub.add_parser("make", help="write a small stand-in for a vendor upgrade package")
    make.add_argument("filename", help="the vendor's package name, e.g. Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar")
    make.add_argument("--size-mb", type=int, metavar="N", help="declared installed size (default: typical for its kind)")
    flavour = make.add_mutually_exclusive_group()
    flavour.add_argument("--unsigned", action="store_true", help="no valid signature (fails the readiness check)")
    flavour.add_argument("--corrupt", action="store_true", help="a truncated, unreadable package")
    make.add_argument("-o", "--output", type=Path, default=Path("."), metavar="DIR", help="output directory")

    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return _up(args)
        return _package_make(args)
    except profiles.ProfileError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    except (ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2


def _package_make(args: argparse.Namespace) -> int:
    PackageName.parse(args.filename)
    if args.size_mb is not None and args.size_mb <= 0:
        raise ValueError("--size-mb must be positive")
    path = make_package(args.filename, args.output, size_mb=args.size_mb, unsigned=args.unsigned, corrupt=args.corrupt)
    console.print(f"{path} ({path.stat().st_size} bytes on disk)")
    return 0


def _up(args: argparse.Namespace) -> int:
    from .lab import Lab  # imported here: `package make` needs none of the runtime

    prof = profiles.load(args.profile)
    state_dir = args.state_dir or Path("state") / prof.lab
    lab = Lab(args.profile, state_dir=state_dir, time_scale=args.time_scale, virtual_time=args.virtual_time,
              autojump=args.virtual_time, host=args.host, seed=args.seed, endpoints_file=args.endpoints)
    return asyncio.run(_serve(lab))


async def _serve(lab) -> int:
    started = time.perf_counter()
    await lab.start()
    elapsed = time.perf_counter() - started
    _print_lab(lab, elapsed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    console.print("stopping lab ...")
    await lab.stop()
    console.print(f"stopped; state kept in {lab.state_dir}")
    return 0


def _print_lab(lab, elapsed: float) -> None:
    clock = "virtual (jumps when idle)" if lab.clock.virtual else f"scaled x{lab.clock.scale:g}"
    table = Table(title=f"lab {lab.name}: {len(lab.devices)} devices, started in {elapsed:.2f} s, time {clock}",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("name", "kind", "model", "version", "state", "ssh", "https", "login"):
        table.add_column(column, no_wrap=True)
    rows = lab.endpoints()["devices"]
    for entry in rows[:TABLE_ROWS]:
        ssh, https = entry.get("ssh"), entry.get("https")
        table.add_row(entry["name"], entry["kind"], entry["model"], entry["version"], entry["state"],
                      f"{ssh['host']}:{ssh['port']}" if ssh else "-", https["url"] if https else "-",
                      f"{ssh['username']} / {ssh['password']}" if ssh else "-")
    console.print(table)
    if len(rows) > TABLE_ROWS:
        console.print(f"... and {len(rows) - TABLE_ROWS} more devices (see --endpoints for all)")
    console.print(f"state: {lab.state_dir}   journal: {lab.state_dir / 'journal.jsonl'}")
    if lab.endpoints_file:
        console.print(f"endpoints: {lab.endpoints_file}")
    console.print(f"Log in with: ssh -p PORT admin@HOST; REST: POST <https>/api/fdm/latest/fdm/token "
                  f"(self-signed; CA: {lab.ca_path}).  Ctrl-C stops the lab and keeps its state.")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())

"""`simulator ...` command line."""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import shutil
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from simulator.control.client import ControlClient, ControlError, find_lab
from simulator.profile_files import DEFAULT_PROFILE

# Wide enough for the device table when output goes to a file or pipe.
console = Console(highlight=False, width=max(shutil.get_terminal_size((160, 24)).columns, 120))
err = Console(stderr=True, highlight=False, soft_wrap=True)
TABLE_ROWS = 40  # a fleet of thousands prints its first rows only


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulator", description="Firewall appliance simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    _up_command(sub)
    _package_command(sub)
    _device_commands(sub)
    _clock_commands(sub)
    _fault_commands(sub)
    _snapshot_commands(sub)
    _route_command(sub)
    _serve_command(sub)
    _fmc_command(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return _up(args)
        if args.command == "serve":
            return _serve_labs(args)
        if args.command == "route":
            return _route(args)
        if args.command == "package":
            return _package_make(args)
        return _control(args)
    except ControlError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
    except (ValueError, OSError) as exc:     # a ProfileError is a ValueError
        err.print(f"[red]error:[/red] {exc}")
        return 2


def _up_command(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("up", help="start a lab in the foreground and print its endpoints")
    up.add_argument("profile", nargs="?", help=f"profile path or bundled name (default: {DEFAULT_PROFILE})")
    timing = up.add_mutually_exclusive_group()
    timing.add_argument("--time-scale", type=float, metavar="X",
                        help="simulated seconds per wall second (default: the profile's, else 25)")
    timing.add_argument("--virtual-time", action="store_true",
                        help="simulated time jumps to the next event whenever the lab is idle")
    up.add_argument("--state-dir", type=Path, metavar="DIR", help="where the lab keeps its state (default: state/<lab>)")
    up.add_argument("--endpoints", type=Path, metavar="FILE", help="write the endpoints as JSON once listening")
    up.add_argument("--host", default="127.0.0.1", metavar="ADDR", help="bind address (default: 127.0.0.1)")
    up.add_argument("--seed", type=int, metavar="N", help="seed for serials, UUIDs and random faults")
    up.add_argument("--start-time", type=_start_time, metavar="T",
                    help="simulated time at a new lab's start: ISO 8601 (2026-01-01T00:00:00Z; UTC if no zone) "
                         "or epoch seconds (default: now)")
    up.add_argument("--control-port", type=int, metavar="PORT",
                    help="control API port (default: the first free one of the port range)")
    up.add_argument("--ports", metavar="RANGE",
                    help="the range the lab hands out its ports from, e.g. 20000-59999 or 10000-32767,61000-65535 "
                         "(default: the profile's `ports`, else 10000-65535 less the kernel's ephemeral range)")
    up.add_argument("--faults", type=Path, metavar="FILE", help="add the fault plan in this YAML file")
    up.add_argument("--exercise", metavar="NAME", help="start the lab of an exercise (a bundled name or a YAML "
                    "file) and put it in its start state; `simulator grade` then grades it")
    up.add_argument("--ca", type=Path, metavar="DIR", help="sign the devices' certificates with the CA in DIR "
                    "(ca.pem, ca.key; made there if missing); default: the state dir's tls/ (one for all shards)")
    shard = up.add_mutually_exclusive_group()
    shard.add_argument("--shards", type=int, metavar="N", help="run the lab as N worker processes behind one control "
                       "API (default: as many as the file descriptor limit needs, usually 1; 1: one process or "
                       "its refusal)")
    shard.add_argument("--shard", metavar="I/N", help="run only shard I (from 0) of N, e.g. a StatefulSet's pod "
                       "(auto/N: I from the host name's -ORDINAL); `simulator route` fronts them")


def _route_command(sub: argparse._SubParsersAction) -> None:
    route = sub.add_parser("route", help="one control API in front of a sharded lab's shards (`up --shard I/N`)")
    route.add_argument("profile", help="the profile the shards run")
    route.add_argument("--shards", type=int, required=True, metavar="N")
    route.add_argument("--shard-url", required=True, metavar="TEMPLATE",
                       help="each shard's control URL, {i} its index: http://lab-{i}.lab-shards:9000")
    route.add_argument("--advertise", metavar="TEMPLATE",
                       help="the address clients reach shard {i}'s devices at (default: what the shard says)")
    route.add_argument("--host", default="127.0.0.1", metavar="ADDR")
    route.add_argument("--control-port", type=int, default=0, metavar="PORT")


def _serve_command(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="host many labs in one process, created and deleted over HTTP (/labs)")
    serve.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                       help="bind address of the server and its labs' devices (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8470, metavar="PORT", help="the server's port (default: 8470; "
                       "0: the first free one of the port range)")
    serve.add_argument("--state-dir", type=Path, default=Path("state/serve"), metavar="DIR",
                       help="the server's state; each lab's under DIR/labs/<id> (default: state/serve)")
    serve.add_argument("--max-labs", type=int, default=100, metavar="N", help="labs at once (default: 100)")
    serve.add_argument("--ports", metavar="RANGE", help="the range every lab takes its ports from "
                       "(default: 10000-65535 less the kernel's ephemeral range)")
    serve.add_argument("--ttl", type=float, default=3600.0, metavar="SECONDS",
                       help="an idle lab is deleted after this many wall seconds without a request (default: 3600)")
    serve.add_argument("--ttl-check", type=float, default=30.0, metavar="SECONDS",
                       help="how often to look for idle labs (default: 30)")


def _package_command(sub: argparse._SubParsersAction) -> None:
    package = sub.add_parser("package", help="upgrade package files")
    package_sub = package.add_subparsers(dest="package_command", required=True)
    make = package_sub.add_parser("make", help="write a small stand-in for a vendor package, bundle or image",
                                  description="Write a file a device kind accepts: by its vendor file name, or "
                                              "--for KIND --version V (and --model M) for that kind's name.")
    make.add_argument("filename", nargs="?", help="the vendor's file name, e.g. "
                                                  "Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar, "
                                                  "fxos-k9.2.14.1.131.SPA or asa9-20-2-smp-k8.bin")
    make.add_argument("--for", dest="kind", metavar="KIND", help="the device kind the file is for (a profile's `kind:`)")
    make.add_argument("--version", metavar="V", help="with --for: the version the file carries")
    make.add_argument("--model", metavar="M", help="with --for: the model it is for (platform-specific names)")
    make.add_argument("--size-mb", type=int, metavar="N", help="declared installed size (default: typical for its kind)")
    flavour = make.add_mutually_exclusive_group()
    flavour.add_argument("--unsigned", action="store_true", help="no valid signature (fails the readiness check)")
    flavour.add_argument("--corrupt", action="store_true", help="a truncated, unreadable package")
    make.add_argument("-o", "--output", type=Path, default=Path("."), metavar="DIR", help="output directory")


def _target(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """A subcommand that talks to a running lab through its control API."""
    p.add_argument("--lab", type=Path, metavar="STATE_DIR", help="the lab's state dir (default: the one under ./state)")
    p.add_argument("--url", help="the lab's control URL (default: from the state dir, or $SIMULATOR_URL)")
    return p


def _fmc_command(sub: argparse._SubParsersAction) -> None:
    fmc = sub.add_parser("fmc", help="a Management Center of a running lab")
    fmc_sub = fmc.add_subparsers(dest="fmc_command", required=True)
    add = _target(fmc_sub.add_parser(
        "package", help="add an upgrade package to the FMC (System > Product Upgrades > Add Upgrade Package)"))
    add.add_argument("action", choices=["add"])
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("file", nargs="?", type=Path, help="a package file (e.g. from `simulator package make`)")
    where.add_argument("--remote", metavar="URL", help="Specify Remote Location: the package on an internal "
                                                       "HTTP(S) server, which the devices fetch themselves")
    add.add_argument("--fmc", metavar="NAME", help="the FMC (default: the lab's only one)")
    fmc.set_defaults(control=_fmc_package_add)


def _fmc_package_add(client: ControlClient, args: argparse.Namespace) -> None:
    name = args.fmc
    if name is None:            # the lab's one device of the command's kind (`simulator fmc ...`)
        centers = [d["name"] for d in client.call("GET", "/api/devices")["items"] if d["kind"] == args.command]
        if len(centers) != 1:
            raise ControlError(f"the lab has {len(centers)} FMCs: name one with --fmc")
        name = centers[0]
    if args.remote:
        body = {"url": args.remote}
    else:
        body = {"filename": args.file.name, "content": base64.b64encode(args.file.read_bytes()).decode()}
    client.call("POST", f"/api/devices/{name}/packages", body)
    console.print(f"{name}: {args.remote or args.file.name} added")


def _device_commands(sub: argparse._SubParsersAction) -> None:
    _target(sub.add_parser("status", help="a running lab's devices, clock and faults"))
    _target(sub.add_parser("grade", help="grade the exercise a lab runs: each check, passed or not, with evidence"))
    power = _target(sub.add_parser("power", help="power a device off, on or off-and-on"))
    power.add_argument("action", choices=["off", "on", "cycle"])
    power.add_argument("device")
    reimage = _target(sub.add_parser("reimage", help="reinstall a device (the way out of unusable)"))
    reimage.add_argument("device")
    reimage.add_argument("--version", help="install this version (default: the device's)")
    events = _target(sub.add_parser("events", help="the lab's journal"))
    events.add_argument("--device")
    events.add_argument("--kind", help="kind prefix, e.g. upgrade or fault")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    events.add_argument("--last", type=int, default=20, metavar="N", help="how many past events (default 20)")


def _clock_commands(sub: argparse._SubParsersAction) -> None:
    clock = sub.add_parser("clock", help="read or move the lab's simulated clock")
    clock_sub = clock.add_subparsers(dest="clock_command", required=True)
    _target(clock_sub.add_parser("show", help="the clock"))
    advance = _target(clock_sub.add_parser("advance", help="move simulated time forward"))
    advance.add_argument("duration", help="seconds, or with a unit: 90s, 15m, 2h")
    scale = _target(clock_sub.add_parser("scale", help="simulated seconds per wall second"))
    scale.add_argument("scale", type=float)
    _target(clock_sub.add_parser("pause", help="stop simulated time"))
    _target(clock_sub.add_parser("resume", help="let simulated time flow again"))
    run = _target(clock_sub.add_parser("run", help="virtual time: run until idle, or until DEVICE is in STATE"))
    run.add_argument("--device")
    run.add_argument("--state")


def _fault_commands(sub: argparse._SubParsersAction) -> None:
    fault = sub.add_parser("fault", help="the lab's fault plan")
    fault_sub = fault.add_subparsers(dest="fault_command", required=True)
    _target(fault_sub.add_parser("ls", help="list faults and what fired"))
    _target(fault_sub.add_parser("points", help="the injection points and their actions"))
    add = _target(fault_sub.add_parser("add", help="add a fault (or every fault of --file)"))
    add.add_argument("point", nargs="?", help="e.g. upgrade.stage:300_os, reboot, https.request, power")
    add.add_argument("action", nargs="?", help="fail, hang, power_loss, slow, disk_full, corrupt, reset, ...")
    add.add_argument("--file", type=Path, help="a YAML fault plan (a list of faults)")
    add.add_argument("--device")
    add.add_argument("--message")
    for name, kind in (("factor", float), ("seconds", float), ("status", int), ("times", int), ("after", int),
                       ("percent", int), ("at", float), ("probability", float)):
        add.add_argument(f"--{name}", type=kind)
    add.add_argument("--always", action="store_true", help="fire every time (times unlimited)")
    rm = _target(fault_sub.add_parser("rm", help="remove a fault"))
    rm.add_argument("id", type=int)


def _snapshot_commands(sub: argparse._SubParsersAction) -> None:
    snapshot = sub.add_parser("snapshot", help="save the whole lab, or put it back to a saved instant")
    snapshot_sub = snapshot.add_subparsers(dest="snapshot_command", required=True)
    save = _target(snapshot_sub.add_parser("save", help="keep the lab as it is now"))
    save.add_argument("name", nargs="?")
    _target(snapshot_sub.add_parser("ls", help="the lab's snapshots"))
    restore = _target(snapshot_sub.add_parser("restore", help="put the lab back to a snapshot (sessions drop)"))
    restore.add_argument("id")
    rm = _target(snapshot_sub.add_parser("rm", help="delete a snapshot"))
    rm.add_argument("id")


def _start_time(text: str) -> float:
    """Epoch seconds from `1767225600` or `2026-01-01T00:00:00Z` (a time without a zone is UTC)."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
            seconds = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
        except ValueError:
            seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (use ISO 8601, e.g. 2026-01-01T00:00:00Z, "
                                         f"or epoch seconds)")
    return seconds


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise ValueError(f"not a duration: {text!r} (use seconds, or 90s, 15m, 2h)") from None


def _control(args: argparse.Namespace) -> int:
    client = ControlClient(*find_lab(args.url, args.lab))
    if args.command == "status":
        _print_status(client.call("GET", f"/api/lab?limit={TABLE_ROWS}"), client.call("GET", "/api/faults")["items"])
    elif args.command == "power":
        device = client.call("POST", f"/api/devices/{args.device}/power", {"action": args.action})
        console.print(f"{device['name']}: {device['state']}")
    elif args.command == "reimage":
        body = {"version": args.version} if args.version else {}
        device = client.call("POST", f"/api/devices/{args.device}/reimage", body)
        console.print(f"{device['name']}: reimaging to {device['version']} ({device['state']})")
    elif args.command == "grade":
        return _grade(client)
    elif args.command == "clock":
        _clock(client, args)
    elif args.command == "fault":
        _fault(client, args)
    elif args.command == "snapshot":
        _snapshot(client, args)
    elif hasattr(args, "control"):      # a subcommand that brings its own call
        args.control(client, args)
    else:
        _events(client, args)
    return 0


def _grade(client: ControlClient) -> int:
    """Each check with its verdict and evidence; exit status 1 unless every check passed."""
    grade = client.call("GET", "/api/grade")
    verdict = "[green]passed[/green]" if grade["passed"] else "[red]not passed yet[/red]"
    console.print(f"exercise [bold]{grade['exercise']}[/bold]: {grade['title']} - {verdict} "
                  f"(T+{grade['elapsed'] / 60:.1f} simulated minutes)")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("check", "result", "what was checked", "evidence"):
        table.add_column(column)
    for check in grade["checks"]:
        table.add_row(check["name"], "[green]PASS[/green]" if check["passed"] else "[red]FAIL[/red]",
                      check["description"], "\n".join(check["evidence"]))
    console.print(table)
    return 0 if grade["passed"] else 1


def _clock(client: ControlClient, args: argparse.Namespace) -> None:
    command = args.clock_command
    if command == "show":
        clock = client.call("GET", "/api/clock")
    elif command == "advance":
        clock = client.call("POST", "/api/clock/advance", {"seconds": _seconds(args.duration)})
    elif command == "scale":
        clock = client.call("POST", "/api/clock/scale", {"scale": args.scale})
    elif command == "run":
        body = {"device": args.device, "state": args.state} if args.device or args.state else {}
        clock = client.call("POST", "/api/clock/run", body)
    else:
        clock = client.call("POST", f"/api/clock/{command}")
    console.print(_clock_line(clock) + (f"; reached: {clock['reached']}" if "reached" in clock else ""))


def _clock_line(clock: dict) -> str:
    mode = "virtual" if clock["mode"] == "virtual" else f"scaled x{clock['scale']:g}"
    paused = ", paused" if clock["paused"] else ""
    return (f"simulated time {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(clock['now']))} UTC "
            f"(+{clock['since_start']:.0f} s since the lab started), {mode}{paused}")


def _fault(client: ControlClient, args: argparse.Namespace) -> None:
    command = args.fault_command
    if command == "ls":
        _print_faults(client.call("GET", "/api/faults")["items"])
    elif command == "points":
        for item in client.call("GET", "/api/faults/points")["items"]:
            console.print(f"[bold]{item['point']}[/bold] ({', '.join(item['actions'])}): {item['description']}")
    elif command == "rm":
        fault = client.call("DELETE", f"/api/faults/{args.id}")
        console.print(f"removed fault {fault['id']} ({fault['point']} {fault['action']})")
    else:
        if args.file:
            from simulator import profile as profiles

            specs = [f.model_dump(exclude_defaults=True) for f in profiles.load_fault_file(args.file)]
        elif args.point and args.action:
            spec = {k: getattr(args, k) for k in ("device", "message", "factor", "seconds", "status", "times",
                                                   "after", "percent", "at", "probability")}
            spec = {k: v for k, v in spec.items() if v is not None}
            if args.always:
                spec["times"] = None
            specs = [{"point": args.point, "action": args.action, **spec}]
        else:
            raise ValueError("give POINT and ACTION, or --file PLAN.yaml")
        for spec in specs:
            fault = client.call("POST", "/api/faults", spec)
            console.print(f"added fault {fault['id']}: {fault['point']} {fault['action']}"
                          + (f" on {fault['device']}" if fault["device"] else " on any device"))


def _snapshot(client: ControlClient, args: argparse.Namespace) -> None:
    command = args.snapshot_command
    if command == "save":
        console.print(f"saved snapshot {_snapshot_line(client.save_snapshot(args.name))}")
    elif command == "restore":
        answer = client.restore_snapshot(args.id)
        console.print(f"restored snapshot {_snapshot_line(answer)} in {answer['restored_in_ms']:g} ms; "
                      f"{_clock_line(answer['clock'])}")
    elif command == "rm":
        console.print(f"deleted snapshot {_snapshot_line(client.delete_snapshot(args.id))}")
    else:
        items = client.snapshots()
        if not items:
            console.print("no snapshots")
        for item in items:
            console.print(_snapshot_line(item))


def _snapshot_line(snapshot: dict) -> str:
    name = f" {snapshot['name']!r}" if snapshot["name"] else ""
    return (f"{snapshot['id']}{name}: simulated time {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(snapshot['sim_time']))}"
            f" UTC, {snapshot['devices']} devices, taken {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(snapshot['created']))}")


def _events(client: ControlClient, args: argparse.Namespace) -> None:
    query = "&".join(f"{k}={v}" for k, v in (("device", args.device), ("kind", args.kind)) if v)
    page = client.call("GET", "/api/events?limit=1000" + (f"&{query}" if query else ""))
    for event in page["items"][-args.last:] if args.last else []:
        console.print(_event_line(event), soft_wrap=True)
    if args.follow:
        query = "&".join(filter(None, [query, f"after={page['next']}"]))
        for event in client.stream(f"/api/events/stream?{query}"):
            console.print(_event_line(event), soft_wrap=True)
            sys.stdout.flush()


def _event_line(event: dict) -> str:
    stamp = time.strftime("%H:%M:%S", time.gmtime(event["sim_time"]))
    fields = " ".join(f"{k}={v}" for k, v in event.items()
                      if k not in ("seq", "sim_time", "wall_time", "device", "kind"))
    return f"{stamp} {event['device'] or '-':<12} {event['kind']:<18} {fields}".rstrip()


def _print_status(lab: dict, faults: list[dict]) -> None:
    console.print(f"lab [bold]{lab['lab']}[/bold] ({lab['state_dir']}): {_clock_line(lab['clock'])}")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("name", "model", "version", "state", "job", "package"):
        table.add_column(column, no_wrap=True)
    for device in lab["devices"][:TABLE_ROWS]:
        job = device.get("job")
        table.add_row(device["name"], device["model"], device["version"], device["state"],
                      f"{job['operation']} {job['state']} {job['percent']}%" if job else "-",
                      device.get("package") or "-")
    console.print(table)
    for device in lab["devices"][:TABLE_ROWS]:
        for fault in device.get("port_faults", []):
            console.print(f"{device['name']}: {fault['surface']}: {fault['error']}")
    more = lab.get("devices_page", {}).get("total", 0) - len(lab["devices"][:TABLE_ROWS])
    if more > 0:
        console.print(f"... and {more} more devices (GET /api/devices?offset={TABLE_ROWS} for them)")
    for shard in lab.get("shards", []):
        restarts = f", restarted {shard['restarts']}x" if shard.get("restarts") else ""
        console.print(f"shard {shard['index']}: {shard['state']}, {shard['devices']} devices on {shard['host']}"
                      + (f", pid {shard['pid']}" if shard.get("pid") else "") + restarts)
    if faults:
        _print_faults(faults)


def _print_faults(faults: list[dict]) -> None:
    table = Table(title="faults", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("id", "point", "action", "device", "trigger", "fired"):
        table.add_column(column, no_wrap=True)
    for fault in faults:
        trigger = ", ".join(f"{k} {fault[k]}" for k in ("after", "percent", "at", "probability")
                            if fault.get(k) not in (None, 0, 1.0)) or "next occurrence"
        times = "always" if fault["times"] is None else f"{fault['fired']}/{fault['times']}"
        table.add_row(str(fault["id"]), fault["point"], fault["action"], fault["device"] or "any", trigger, times)
    console.print(table)


def _package_make(args: argparse.Namespace) -> int:
    if args.size_mb is not None and args.size_mb <= 0:
        raise ValueError("--size-mb must be positive")
    from simulator.kinds.registry import KINDS  # the kinds pull in their surfaces: only for the commands that need them

    makers = {name: kind.packages for name, kind in KINDS.items() if kind.packages is not None}
    if args.kind is not None:
        if args.kind not in makers:
            raise ValueError(f"--for: no package maker for kind {args.kind!r} (kinds: {', '.join(makers)})")
        if args.version is None or args.filename is not None:
            raise ValueError("--for KIND needs --version V (and no file name)")
        maker = makers[args.kind]
        filename = maker.filename(args.version, args.model)
    else:
        if args.filename is None:
            raise ValueError("give the vendor's file name, or --for KIND --version V")
        filename = args.filename
        found = next((m for m in makers.values() if m.accepts(filename)), None)
        if found is None:
            examples = ", ".join(f"{m.example} ({kind})" for kind, m in makers.items())
            raise ValueError(f"{filename!r} is not the name of a package, bundle or image any device kind takes "
                             f"(e.g. {examples})")
        maker = found
    path = maker.make(filename, args.output, size_mb=args.size_mb, unsigned=args.unsigned, corrupt=args.corrupt)
    console.print(f"{path} ({path.stat().st_size} bytes on disk)")
    return 0


def _up(args: argparse.Namespace) -> int:
    from simulator import descriptors, shards

    if args.shards == 1 and not args.exercise:   # one process or its refusal: from the YAML, before any kind
        descriptors.precheck(args.profile)
    if args.faults:
        from simulator import profile as profiles

        profiles.load_fault_file(args.faults)   # a broken plan stops us before anything listens
    options = {"time_scale": args.time_scale, "virtual_time": args.virtual_time, "start_time": args.start_time,
               "faults": args.faults, "ports": args.ports, "ca": args.ca and str(args.ca)}
    exercise = None
    if args.exercise:
        from simulator import exercises

        if args.profile or args.shards not in (None, 1) or args.shard:
            raise ValueError("--exercise brings its own lab: give no PROFILE, --shards or --shard with it")
        exercise = exercises.load(args.exercise)
    # Shards: the fork server reads the profile (and picks their count), so this process, the lab's
    # supervisor, holds no fleet's specs and imports no device kinds.
    if args.shards is not None and args.shards > 1:
        return _up_sharded(args, shards.plan_apart(shards.fork_server(), args.profile, args.shards), options)
    if args.shards is None and not args.shard and exercise is None and descriptors.fits(args.profile) is False:
        plan = shards.plan_apart(shards.fork_server(), args.profile, None)
        err.print(f"lab {plan.lab}: one process may not open the sockets of its {len(plan.names):,} devices "
                  f"(ulimit -n): running it as {len(plan.parts)} shards")
        return _up_sharded(args, plan, options)
    from simulator import profile as profiles

    prof = exercise.profile if exercise else profiles.load(args.profile)
    state_dir = args.state_dir or Path("state") / prof.lab
    if args.shard:
        index, count = shards.shard_arg(args.shard)
        asyncio.run(shards.serve_part(shards.part(prof, index, count), state_dir, args.host,
                                      shards.shard_seed(args.seed, index), args.endpoints,
                                      control_port=args.control_port,
                                      **{**options, "faults": shards.file_faults(prof, args.faults, index, count)}))
        return 0
    from simulator.lab import Lab  # imported here: `package make` needs none of the runtime

    lab = Lab(prof, state_dir=state_dir, time_scale=args.time_scale, virtual_time=args.virtual_time,
              autojump=args.virtual_time, host=args.host, seed=args.seed, endpoints_file=args.endpoints,
              control_port=args.control_port, start_time=args.start_time, ports=args.ports, exercise=exercise,
              ca=args.ca)
    return asyncio.run(_serve(lab, args.faults))


def _up_sharded(args: argparse.Namespace, plan, options: dict) -> int:
    from simulator import shards

    return asyncio.run(shards.serve_sharded(plan, state_dir=args.state_dir or Path("state") / plan.lab,
                                            host=args.host, seed=args.seed, endpoints_file=args.endpoints,
                                            control_port=args.control_port, options=options))


def _route(args: argparse.Namespace) -> int:
    import os

    from simulator import profile as profiles
    from simulator.control.router import Router, ShardLink
    from simulator.shards import make_plan

    prof = profiles.load(args.profile)
    plan = make_plan(prof, args.shards, with_data=False)
    links = [ShardLink(i, url=args.shard_url.format(i=i), devices=len(names), state="up",
                       advertise=args.advertise.format(i=i) if args.advertise else None)
             for i, names in enumerate(plan.parts)]
    token = os.environ.get("SIMULATOR_TOKEN") or None
    router = Router(plan, links, None, args.host, args.control_port, token=token, shard_token=token)

    async def serve() -> int:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await router.start()
        console.print(f"lab {prof.lab}: {len(prof.expanded())} devices in {args.shards} shards; control {router.url}")
        sys.stdout.flush()
        await stop.wait()
        await router.stop()
        return 0
    return asyncio.run(serve())


def _serve_labs(args: argparse.Namespace) -> int:
    from simulator.server.app import LabServer, server_token
    from simulator.server.hosting import LabHost
    from simulator.sockets import PortRange, default_range

    if args.max_labs < 1 or args.ttl <= 0 or args.ttl_check <= 0:
        raise ValueError("--max-labs, --ttl and --ttl-check must be above 0")
    ports = PortRange.parse(args.ports) if args.ports else PortRange(default_range().spans)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    token = server_token(args.state_dir, args.host)
    server = LabServer(LabHost(args.state_dir, args.host, ports, max_labs=args.max_labs, ttl=args.ttl, token=token),
                       args.host, args.port, check_interval=args.ttl_check)

    async def serve() -> int:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        for line in await server.labs.resume():     # before the server takes a port: labs get theirs back first
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        await server.start()
        _write_server_file(args.state_dir / "server.json", server.url, args.state_dir / "control.token" if token else None)
        console.print(f"serving labs at {server.url}/labs (up to {args.max_labs}; state in {args.state_dir})"
                      + (f"; token in {args.state_dir / 'control.token'}" if token else ""))
        sys.stdout.flush()
        await stop.wait()
        console.print(f"stopping {len(server.labs.labs)} labs ...")
        await server.stop()
        (args.state_dir / "server.json").unlink(missing_ok=True)
        return 0
    return asyncio.run(serve())


def _write_server_file(path: Path, url: str, token_file: Path | None) -> None:
    import json

    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "token_file": str(token_file) if token_file else None}))
    tmp.replace(path)


async def _serve(lab, faults: Path | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):    # before the endpoints file says we are up
        loop.add_signal_handler(sig, stop.set)
    started = time.perf_counter()
    await lab.start()
    if faults:
        lab.load_faults(faults)
    elapsed = time.perf_counter() - started
    _print_lab(lab, elapsed)
    exercise = lab.exercise
    if exercise is not None:
        console.print(f"\n[bold]exercise {exercise.name}[/bold]: {exercise.title}\n{exercise.goal.strip()}\n"
                      "Checked: " + "; ".join(c.description for c in exercise.checks)
                      + ".\n`simulator grade` tells how it stands.")
        sys.stdout.flush()
    await stop.wait()
    console.print("stopping lab ...")
    await lab.stop()
    console.print(f"stopped; state kept in {lab.state_dir}")
    return 0


def _ha_cell(ha: dict | None) -> str:
    """`secondary/Standby Ready`; Active/Active units by group: `secondary/g1 Standby Ready, g2 Active`."""
    if not ha:
        return "-"
    if ha.get("groups"):
        return f"{ha['role']}/" + ", ".join(f"g{g} {state}" for g, state in ha["groups"].items())
    return f"{ha['role']}/{ha['state']}"


def _print_lab(lab, elapsed: float) -> None:
    clock = "virtual (jumps when idle)" if lab.clock.virtual else f"scaled x{lab.clock.scale:g}"
    table = Table(title=f"lab {lab.name}: {len(lab.devices)} devices, started in {elapsed:.2f} s, time {clock}",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("name", "kind", "model", "version", "state", "ha", "ssh", "https", "console", "login"):
        table.add_column(column, no_wrap=True)
    endpoints = lab.endpoints()
    rows = endpoints["devices"]
    for entry in rows[:TABLE_ROWS]:
        ssh, https, ha = entry.get("ssh"), entry.get("https"), entry.get("ha")
        telnet = (entry.get("console") or {}).get("telnet")
        table.add_row(entry["name"], entry["kind"], entry["model"], entry["version"], entry["state"],
                      _ha_cell(ha),
                      f"{ssh['host']}:{ssh['port']}" if ssh else "-", https["url"] if https else "-",
                      f"{telnet['port']}" if telnet else "-",
                      f"{ssh['username']} / {ssh['password']}" if ssh else "-")
    console.print(table)
    for pair in endpoints.get("pairs", []):
        probe = pair.get("probe")
        console.print(f"HA pair {pair['name']}: {pair['primary']} + {pair['secondary']}, {pair['state']}, "
                      f"active {pair['active']}" + (f"; traffic probe {probe['host']}:{probe['port']}" if probe else ""))
    if len(rows) > TABLE_ROWS:
        console.print(f"... and {len(rows) - TABLE_ROWS} more devices (see --endpoints for all)")
    console.print(f"state: {lab.state_dir}   journal: {lab.state_dir / 'journal.jsonl'}   control: {lab.control.url}")
    console.print(f"dashboard: {lab.control.url}/ui/")
    if lab.endpoints_file:
        console.print(f"endpoints: {lab.endpoints_file}")
    console.print(f"Log in with: ssh -p PORT USER@HOST (the login column); the https column is each device's "
                  f"REST API (certificates from the lab CA: {lab.ca_path}).  Ctrl-C stops the lab and keeps its state.")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark a lab: devices hosted, resident memory per idle device, lab start
time, SSH login-to-prompt latency (p50/p95), concurrent interactive sessions,
FDM REST latency (token + system info over HTTPS, one client and many), and
the control API's device list (`GET /api/devices`, behind `simulator status`)
with an SSH login to another device while it is built.

`--snapshots 20,200` measures snapshot save and restore alone, at those sizes
(with `--shards N`, of the lab run as N shards, through its router).

`--startup 1000,2000,3900` measures start-up alone instead: command to
endpoints file and SIGTERM to exit for each size, how far the middle sizes are
from the straight line through the ends, and how soon a lab too big for the
process's descriptors is refused.

The lab runs as `simulator up` in its own process (as users run it); the
clients run here, so their cost is not counted against the lab."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent


def start_lab(devices: int, workdir: Path, *options: str) -> tuple[subprocess.Popen, dict, float]:
    """`simulator up` of `devices` FTDv, every listener on (SSH, HTTPS, telnet and SSH consoles, probe)."""
    profile = workdir / f"bench-{devices}.yaml"
    profile.write_text(f"lab: bench\ndevices:\n  - name: 'ftd-{{n}}'\n    model: FTDv\n"
                       f"    version: 7.4.1-172\n    count: {devices}\n")
    endpoints = workdir / f"endpoints-{devices}.json"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "up", str(profile), "--state-dir",
                             str(workdir / f"state-{devices}"), "--endpoints", str(endpoints), *options],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    while not endpoints.exists():
        if proc.poll() is not None:
            raise SystemExit(f"lab failed: {proc.stderr.read().decode()}")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    return proc, json.loads(endpoints.read_text()), elapsed


def stop_lab(proc: subprocess.Popen) -> float:
    """Seconds from SIGTERM to the lab's exit."""
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
    return time.perf_counter() - started


def rss_kb(proc: subprocess.Popen) -> int:
    time.sleep(1.0)  # let the loop settle
    return psutil.Process(proc.pid).memory_info().rss // 1024


async def login_to_prompt(host: str, port: int, password: str, commands: int = 1) -> float:
    """Login-to-prompt latency; then `commands` times `show version`, each answered before the next."""
    started = time.perf_counter()
    conn = await asyncssh.connect(host, port, username="admin", password=password, known_hosts=None)
    proc = await conn.create_process(term_type="vt100")
    await proc.stdout.readuntil("> ")
    elapsed = time.perf_counter() - started
    for _ in range(commands):
        proc.stdin.write("show version\r")
        await proc.stdout.readuntil("> ")
    conn.close()
    return elapsed


async def command_cpu(lab: psutil.Process, ssh: dict, count: int) -> float:
    """The lab's CPU time (user + system) per interactive `show version`, one client, `count` commands."""
    conn = await asyncssh.connect(ssh["host"], ssh["port"], username="admin", password=ssh["password"],
                                  known_hosts=None)
    proc = await conn.create_process(term_type="vt100")
    await proc.stdout.readuntil("> ")
    before = lab.cpu_times()
    for _ in range(count):
        proc.stdin.write("show version\r")
        await proc.stdout.readuntil("> ")
    after = lab.cpu_times()
    conn.close()
    return (after.user + after.system - before.user - before.system) / count


async def sessions(endpoints: dict, clients: int, rounds: int, commands: int) -> tuple[list[float], int]:
    devices = endpoints["devices"]
    latencies: list[float] = []
    errors = 0
    for r in range(rounds):
        batch = [devices[(r * clients + i) % len(devices)]["ssh"] for i in range(clients)]
        results = await asyncio.gather(*(login_to_prompt(s["host"], s["port"], s["password"], commands)
                                         for s in batch),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                errors += 1
            else:
                latencies.append(result)
    return latencies, errors


async def sequential(endpoints: dict, count: int) -> list[float]:
    ssh = endpoints["devices"][0]["ssh"]
    return [await login_to_prompt(ssh["host"], ssh["port"], ssh["password"]) for _ in range(count)]


async def rest_call(https: dict) -> float:
    """A fresh client's work (its own connection pool, as each user's tool has): get a token, read system info.

    One httpx client shared by hundreds of concurrent users is not a fresh client, and fails on its own:
    a connection idle past httpx's 5 s keep-alive expiry (the client's loop is that busy) is closed by the
    pool after it was handed to the next request, which sees a ReadError (httpcore 1.0; the same against a
    bare aiohttp server, none with keepalive_expiry=None or with aiohttp's client)."""
    started = time.perf_counter()
    async with httpx.AsyncClient(verify=False, timeout=60) as client:
        r = await client.post(https["url"] + "/api/fdm/latest/fdm/token", json={
            "grant_type": "password", "username": https["username"], "password": https["password"]})
        token = r.raise_for_status().json()["access_token"]
        r = await client.get(https["url"] + "/api/fdm/latest/operational/systeminfo/default",
                             headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
    return time.perf_counter() - started


async def rest(endpoints: dict, clients: int, rounds: int) -> tuple[list[float], list[float], int]:
    devices = endpoints["devices"]
    quiet = [await rest_call(devices[0]["https"]) for _ in range(50)]
    loaded: list[float] = []
    errors = 0
    for r in range(rounds):
        batch = [devices[(r * clients + i) % len(devices)]["https"] for i in range(clients)]
        for result in await asyncio.gather(*(rest_call(h) for h in batch), return_exceptions=True):
            if isinstance(result, BaseException):
                errors += 1
                print(f"REST error: {type(result).__name__}: {result}", file=sys.stderr)
            else:
                loaded.append(result)
    return quiet, loaded, errors


def control_list(endpoints: dict, count: int) -> list[float]:
    """`GET /api/devices` on an idle lab, one call at a time (every device's entry each time)."""
    latencies = []
    with httpx.Client(base_url=endpoints["control"]["url"], timeout=120) as client:
        for _ in range(count):
            started = time.perf_counter()
            client.get("/api/devices").raise_for_status()
            latencies.append(time.perf_counter() - started)
    return latencies


# A client of the control API in a process of its own (as another user's tool is): it says when its
# request is sent, reads the whole answer and prints how long it took.
LISTER = """
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
started = time.perf_counter()
sock = socket.create_connection((host, int(port)))
sock.sendall(b"GET /api/devices HTTP/1.1\\r\\nHost: lab\\r\\nConnection: close\\r\\n\\r\\n")
print("sent", flush=True)
answer = b""
while chunk := sock.recv(1 << 16):
    answer += chunk
assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
print(time.perf_counter() - started, flush=True)
"""


async def login_during_listing(endpoints: dict, count: int) -> tuple[list[float], list[float]]:
    """`GET /api/devices` (every device) from another process and, while the lab builds the list, an SSH
    login to the last device: (listing latencies, login-to-prompt latencies)."""
    ssh = endpoints["devices"][-1]["ssh"]
    address = endpoints["control"]["url"].removeprefix("http://")
    listings, logins = [], []
    for _ in range(count):
        lister = await asyncio.create_subprocess_exec(sys.executable, "-c", LISTER, address,
                                                      stdout=asyncio.subprocess.PIPE)
        assert lister.stdout is not None
        await lister.stdout.readline()          # the request is in: the lab is building the list
        logins.append(await login_to_prompt(ssh["host"], ssh["port"], ssh["password"]))
        listings.append(float(await lister.stdout.readline()))
        await lister.wait()
    return listings, logins


def startup(sizes: list[int], work: Path, options: list[str]) -> None:
    """Start-up and stop of each size, linearity, and the refusal of a lab too big for one process."""
    figures = []
    for size in sizes:
        proc, _, start = start_lab(size, work, *options)
        cpu = psutil.Process(proc.pid).cpu_times()      # the lab's own work, whatever else the machine runs
        figures.append((size, start, stop_lab(proc)))
        print(f"{size:6} FTDv, every listener: start {start:.2f} s (command to endpoints file; lab CPU "
              f"{cpu.user + cpu.system:.2f} s), stop {figures[-1][2]:.2f} s")
    (n0, t0, _), (n1, t1, _) = figures[0], figures[-1]
    slope = (t1 - t0) / (n1 - n0) if n1 != n0 else 0.0
    for n, t, _ in figures[1:-1]:
        line = t0 + slope * (n - n0)
        print(f"{n:6} FTDv: {100 * (t - line) / line:+.1f}% from the straight line through {n0} and {n1}")
    too_big = max(sizes) * 2
    profile = work / "too-big.yaml"
    profile.write_text(f"lab: bench\ndevices:\n  - name: 'ftd-{{n}}'\n    model: FTDv\n    version: 7.4.1-172\n"
                       f"    count: {too_big}\n")
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    refused = subprocess.run([sys.executable, "-m", "simulator", "up", str(profile), "--state-dir",
                              str(work / "state-too-big"), "--shards", "1", *options],
                             capture_output=True, text=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"{too_big:6} FTDv (too many): refused in {time.perf_counter() - started:.2f} s (CPU {cpu:.2f} s), exit "
          f"{refused.returncode}: {refused.stderr.strip()}")


def tree_memory_kb(proc: subprocess.Popen) -> tuple[int, int, list[tuple[int, int]]]:
    """(RSS, PSS, each process's (RSS, PSS)) of the lab and its workers, in KB: PSS shares the pages
    the forked workers have in common fairly; RSS counts them once per process."""
    time.sleep(1.0)
    root = psutil.Process(proc.pid)
    tree = [root, *root.children(recursive=True)]
    rss = pss = 0
    each = []
    for p in tree:
        info = p.memory_full_info()
        rss, pss = rss + info.rss, pss + info.pss
        each.append((info.rss // 1024, info.pss // 1024))
    return rss // 1024, pss // 1024, each


async def reach(device: dict) -> None:
    """One device reachable: SSH login to its prompt, and one FDM call (token + system info)."""
    ssh = device["ssh"]
    async with asyncssh.connect(ssh["host"], ssh["port"], username=ssh["username"], password=ssh["password"],
                                known_hosts=None) as conn:
        proc = await conn.create_process(term_type="vt100")
        await asyncio.wait_for(proc.stdout.readuntil("> "), 30)
    await rest_call(device["https"])


async def sample(endpoints: dict, count: int, concurrency: int = 20) -> tuple[int, int, list[str]]:
    import random

    devices = random.Random(1).sample(endpoints["devices"], min(count, len(endpoints["devices"])))
    gate = asyncio.Semaphore(concurrency)
    failures: list[str] = []

    async def one(device: dict) -> None:
        async with gate:
            try:
                await reach(device)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                failures.append(f"{device['name']}: {type(exc).__name__}: {exc}")
    await asyncio.gather(*(one(d) for d in devices))
    return len(devices), len(failures), failures[:5]


def shards_bench(args: argparse.Namespace) -> None:
    """`--shards N`: the fleet as N worker processes (0: as many as the descriptor limit needs)."""
    with tempfile.TemporaryDirectory(prefix="simulator-bench-") as tmp:
        work = Path(tmp)
        extra = ("--shards", str(args.shards)) if args.shards else ()
        proc, endpoints, start = start_lab(args.devices, work, *extra)
        try:
            root = psutil.Process(proc.pid)
            cpu = sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])
            rss, pss, each = tree_memory_kb(proc)
            tried, failed, shown = asyncio.run(sample(endpoints, args.sample))
            listing = control_list(endpoints, 3)
            stop_started = time.perf_counter()
        finally:
            stop_lab(proc)
        stopped = time.perf_counter() - stop_started
    shards = endpoints.get("shards", [])
    print(f"devices hosted:                 {len(endpoints['devices'])} in {len(shards) or 1} shards "
          f"({len(each)} processes: the lab, its fork server and workers)")
    print("  shards: " + ", ".join(f"{s['devices']} on {s['host']}" for s in shards))
    print(f"lab start (command to endpoints file): {start:.2f} s, {cpu:.0f} CPU-seconds in the lab's processes "
          f"(load average then {os.getloadavg()[0]:.1f}); stop {stopped:.2f} s")
    print(f"lab memory: RSS {rss / 1024:.0f} MB ({rss / len(endpoints['devices']):.1f} KB per device), "
          f"PSS {pss / 1024:.0f} MB ({pss / len(endpoints['devices']):.1f} KB per device); RSS/PSS by process "
          f"(MB; the lab, then its children): " + ", ".join(f"{r / 1024:.0f}/{p / 1024:.0f}" for r, p in each))
    print(f"reachable (SSH login to prompt + FDM token and systeminfo), random sample: {tried - failed}/{tried}"
          + (f"; failures: {shown}" if failed else ""))
    print(f"control GET /api/devices through the router: p50 {pct(listing, 50):.0f} ms")
    print(f"(cpu count {os.cpu_count()}, python {sys.version.split()[0]})")


def snapshots_bench(sizes: list[int], work: Path, options: list[str], rounds: int = 10) -> None:
    """Save and restore (POST /api/snapshots, .../restore) of a lab of N FTDv with every other
    device power-cycled just before (so timers are pending and states differ from online):
    the round trip, and the lab's own figure for the restore (`restored_in_ms`)."""
    for size in sizes:
        proc, endpoints, _ = start_lab(size, work, *options)
        try:
            with httpx.Client(base_url=endpoints["control"]["url"], timeout=120) as api:
                for device in endpoints["devices"][::2]:
                    api.post(f"/api/devices/{device['name']}/power", json={"action": "cycle"})
                saves, trips, inside = [], [], []
                for _ in range(rounds):
                    started = time.perf_counter()
                    answer = api.post("/api/snapshots")
                    saves.append(time.perf_counter() - started)
                    assert answer.status_code == 201, answer.text
                    started = time.perf_counter()
                    restored = api.post(f"/api/snapshots/{answer.json()['id']}/restore").json()
                    trips.append(time.perf_counter() - started)
                    inside.append(restored["restored_in_ms"] / 1000)
        finally:
            stop_lab(proc)
        print(f"snapshot of {size} FTDv: save p50 {pct(saves, 50):.1f} ms, p95 {pct(saves, 95):.1f} ms; "
              f"restore p50 {pct(inside, 50):.1f} ms, p95 {pct(inside, 95):.1f} ms in the lab "
              f"(round trip p50 {pct(trips, 50):.1f} ms); {rounds} rounds")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=300, help="concurrent interactive sessions")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--startup", metavar="N,N,N", help="measure start-up only, at these sizes")
    parser.add_argument("--host", help="the labs' bind address (simulator up --host)")
    parser.add_argument("--ports", help="the labs' port range (simulator up --ports)")
    parser.add_argument("--shards", type=int, metavar="N", help="the lab as N shards (0: as many as it needs); "
                        "measures start, memory and reachability of a random sample")
    parser.add_argument("--sample", type=int, default=200, help="with --shards: devices tried")
    parser.add_argument("--snapshots", metavar="N,N", help="measure snapshot save and restore only, at these "
                        "sizes (e.g. 20,200)")
    parser.add_argument("--serve-labs", type=int, metavar="N", help="a lab server (`simulator serve`) with N ftd-ha "
                        "labs created, driven and deleted by N concurrent clients (scripts/bench_serve.py)")
    args = parser.parse_args()
    options = [*(["--host", args.host] if args.host else []), *(["--ports", args.ports] if args.ports else [])]
    if args.serve_labs is not None:
        sys.path.insert(0, str(Path(__file__).parent))
        import bench_serve
        bench_serve.bench(args.serve_labs, options)
        return
    if args.shards is not None and not args.snapshots:
        shards_bench(args)
        return
    if args.shards is not None:         # snapshots of a sharded lab, through its router
        options += ["--shards", str(args.shards)]
    with tempfile.TemporaryDirectory(prefix="simulator-bench-") as tmp:
        work = Path(tmp)
        if args.startup:
            startup([int(n) for n in args.startup.split(",")], work, options)
            return
        if args.snapshots:
            snapshots_bench([int(n) for n in args.snapshots.split(",")], work, options)
            return
        base_proc, _, base_start = start_lab(1, work, *options)
        base_rss = rss_kb(base_proc)
        stop_lab(base_proc)
        proc, endpoints, start = start_lab(args.devices, work, *options)
        rss = rss_kb(proc)
        try:
            listing = control_list(endpoints, 20)
            listed, during = asyncio.run(login_during_listing(endpoints, 20))
            quiet = asyncio.run(sequential(endpoints, 50))
            cpu = asyncio.run(command_cpu(psutil.Process(proc.pid), endpoints["devices"][0]["ssh"], 1000))
            loaded, errors = asyncio.run(sessions(endpoints, args.clients, args.rounds, 10))
            rest_quiet, rest_loaded, rest_errors = asyncio.run(rest(endpoints, args.clients, args.rounds))
        finally:
            stop_lab(proc)
    per_device = (rss - base_rss) / max(1, args.devices - 1)
    print(f"devices hosted:                 {args.devices} (one process, pid RSS {rss / 1024:.0f} MB)")
    print(f"resident memory per idle device: {per_device:.1f} KB (lab of 1: {base_rss / 1024:.0f} MB)")
    print(f"lab start (command to endpoints file): {start:.2f} s (lab of 1: {base_start:.2f} s)")
    print(f"login-to-prompt, one client:     p50 {pct(quiet, 50):.1f} ms, p95 {pct(quiet, 95):.1f} ms")
    print(f"lab CPU per interactive show version (1 client, 1,000 commands): {cpu * 1000:.2f} ms")
    print(f"login-to-prompt, {args.clients} concurrent (then 10 commands each):  p50 {pct(loaded, 50):.1f} ms, "
          f"p95 {pct(loaded, 95):.1f} ms, {len(loaded)} sessions, {errors} errors")
    print(f"REST token + systeminfo, one client: p50 {pct(rest_quiet, 50):.1f} ms, p95 {pct(rest_quiet, 95):.1f} ms")
    print(f"REST token + systeminfo, {args.clients} concurrent: p50 {pct(rest_loaded, 50):.1f} ms, "
          f"p95 {pct(rest_loaded, 95):.1f} ms, {len(rest_loaded)} calls, {rest_errors} errors")
    print(f"control GET /api/devices ({args.devices} devices): p50 {pct(listing, 50):.1f} ms, "
          f"p95 {pct(listing, 95):.1f} ms")
    print(f"SSH login-to-prompt on another device during GET /api/devices: p50 {pct(during, 50):.1f} ms, "
          f"p95 {pct(during, 95):.1f} ms, max {max(during) * 1000:.1f} ms (listing p50 {pct(listed, 50):.1f} ms)")
    print(f"(cpu count {os.cpu_count()}, python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()

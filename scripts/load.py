"""Abuse a lab the way careless or hostile clients do, and print what it cost:
resident memory and open descriptors before, during and after, and how long
another device's REST call took meanwhile (no input to one device may
freeze or starve the others).

The lab runs as `simulator up` in its own process; the abusers run here:
SSH sessions that flood `?` without reading, one huge paste, a catastrophic
output filter, idle and trickling TCP connections to every listener, and
oversized JSON bodies. Then every abuser disconnects and the lab must give
back what they took."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncssh
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import end_lab, start_lab  # noqa: E402


def figures(proc: psutil.Process) -> str:
    return f"RSS {proc.memory_info().rss / 2**20:6.1f} MB, descriptors {proc.num_fds()}"


async def rest_latency(https: dict, seconds: float) -> list[float]:
    """Token + system info on the bystander device, over and over, for `seconds`."""
    times = []
    async with httpx.AsyncClient(base_url=https["url"] + "/api/fdm/latest", verify=False, timeout=30) as api:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            token = (await api.post("/fdm/token", json={"grant_type": "password", "username": https["username"],
                                                        "password": https["password"]})).json()["access_token"]
            await api.get("/operational/systeminfo/default", headers={"Authorization": f"Bearer {token}"})
            times.append(time.monotonic() - started)
            await asyncio.sleep(0.05)
    return times


async def ssh_abuse(ssh: dict, kind: str) -> None:
    try:
        async with asyncssh.connect(ssh["host"], port=ssh["port"], username=ssh["username"],
                                    password=ssh["password"], known_hosts=None) as conn:
            proc = await conn.create_process(term_type="vt100")
            if kind == "flood":                    # 400,000 `?` and never read
                proc.stdin.write("?" * 400_000)
            elif kind == "paste":                  # one 64 KB line
                proc.stdin.write("x" * 65536 + "\r")
            elif kind == "regex":                  # a filter that backtracks forever in a naive engine
                proc.stdin.write("show version | include ^Model( +| +)+X\r")
            await asyncio.sleep(3)
    except (OSError, asyncssh.Error):
        pass


def idle_sockets(endpoints: dict, count: int) -> list[socket.socket]:
    """TCP connections that send nothing (or half a request) to every kind of listener."""
    targets = [(d["ssh"]["host"], d["ssh"]["port"]) for d in endpoints["devices"]]
    targets += [(d["console"]["telnet"]["host"], d["console"]["telnet"]["port"]) for d in endpoints["devices"]]
    url = httpx.URL(endpoints["control"]["url"])
    targets.append((url.host, url.port or 80))
    held = []
    for i in range(count):
        sock = socket.create_connection(targets[i % len(targets)])
        if i % 2:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")      # a request that never ends
        held.append(sock)
    return held


async def big_bodies(https: dict, count: int, megabytes: int) -> list[int]:
    body = b"[" * (megabytes * 2**20)
    async with httpx.AsyncClient(verify=False, timeout=60) as client:
        answers = []
        for _ in range(count):
            try:
                answers.append((await client.post(https["url"] + "/api/fdm/latest/fdm/token", content=body,
                                                  headers={"Content-Type": "application/json"})).status_code)
            except httpx.HTTPError:
                answers.append(0)
        return answers


async def abuse(endpoints: dict, args: argparse.Namespace) -> None:
    """Every abuser at once, for a few seconds; then they all let go."""
    victims = endpoints["devices"][1:]
    held = idle_sockets(endpoints, args.idle)
    await asyncio.gather(*(ssh_abuse(v["ssh"], kind) for v in victims for kind in ("flood", "paste", "regex")),
                         big_bodies(victims[0]["https"], 3, args.body_mb))
    await asyncio.sleep(1)
    for sock in held:
        sock.close()


def report(label: str, times: list[float]) -> None:
    times = sorted(times[1:])       # the first call opens the connection
    print(f"bystander REST ({label}): p50 {statistics.median(times) * 1000:.0f} ms, "
          f"p95 {times[int(len(times) * 0.95)] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms, {len(times)} calls")


def campaign(endpoints: dict, lab: psutil.Process, args: argparse.Namespace) -> None:
    """The abusers run in a process of their own, so the bystander's figures are the lab's, not theirs."""
    bystander = endpoints["devices"][0]
    print(f"before:           {figures(lab)}")
    quiet = asyncio.run(rest_latency(bystander["https"], 3))
    abusers = multiprocessing.Process(target=lambda: asyncio.run(abuse(endpoints, args)))
    abusers.start()
    time.sleep(0.5)
    during = asyncio.run(rest_latency(bystander["https"], 5))
    print(f"during abuse:     {figures(lab)}")
    abusers.join()
    time.sleep(args.settle)
    print(f"after disconnect: {figures(lab)}")
    report("quiet", quiet)
    report("under abuse", during)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=4, help="FTDv in the lab (one is the bystander)")
    parser.add_argument("--idle", type=int, default=200, help="idle TCP connections to hold")
    parser.add_argument("--body-mb", type=int, default=100, help="size of each oversized JSON body")
    parser.add_argument("--settle", type=float, default=5.0, help="wall seconds to wait after disconnecting")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        profile = workdir / "load.yaml"
        profile.write_text(f"lab: load\ndevices:\n  - {{name: 'ftd-{{n}}', model: FTDv, version: 7.4.1-172, "
                           f"count: {args.devices}}}\n")
        endpoints, proc = start_lab(str(profile), workdir, "--time-scale", "25", log=workdir / "lab.log")
        try:
            campaign(endpoints, psutil.Process(proc.pid), args)
        finally:
            end_lab(proc)
        tracebacks = (workdir / "lab.log").read_text().count("Traceback")
        print(f"tracebacks in the lab log: {tracebacks}")


if __name__ == "__main__":
    main()

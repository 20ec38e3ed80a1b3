"""Benchmark a lab server (`scripts/bench --serve-labs N`): start `simulator
serve`, create N `ftd-ha` labs at once from N clients, drive each (an SSH
login to the prompt, an FDM token and system info, a fault, a clock change),
check that no two labs share a port and that no lab sees another's fault or
clock, delete them all at once, and print create latency (p50/p95), resident
memory per lab, and the server's descriptors before, at the peak and after.

The server runs in its own process (as users run it); the clients run here."""

from __future__ import annotations

import asyncio
import json
import re
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
HOUR = 3600.0


def start_server(work: Path, labs: int, options: list[str]) -> tuple[subprocess.Popen, str]:
    info = work / "serve" / "server.json"
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "serve", "--port", "0", "--state-dir",
                             str(work / "serve"), "--max-labs", str(labs), *options],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not info.exists():
        if proc.poll() is not None:
            raise SystemExit(f"server failed: {proc.stderr.read().decode()}")   # type: ignore[union-attr]
        time.sleep(0.05)
    return proc, json.loads(info.read_text())["url"]


def ports_of(endpoints: dict) -> list[int]:
    text = json.dumps(endpoints)
    found = re.findall(r'"port": (\d+)', text) + re.findall(r'"url": "https?://[^"/]+:(\d+)"', text)
    return [int(port) for port in found]


async def ssh_login(ssh: dict) -> None:
    conn = await asyncssh.connect(ssh["host"], ssh["port"], username=ssh["username"], password=ssh["password"],
                                  known_hosts=None)
    process = await conn.create_process(term_type="vt100")
    await process.stdout.readuntil("> ")
    conn.close()


async def fdm_call(https: dict) -> None:
    async with httpx.AsyncClient(base_url=https["url"] + "/api/fdm/latest", verify=False, timeout=60) as api:
        r = await api.post("/fdm/token", json={"grant_type": "password", "username": https["username"],
                                               "password": https["password"]})
        token = r.raise_for_status().json()["access_token"]
        r = await api.get("/operational/systeminfo/default", headers={"Authorization": f"Bearer {token}"})
        assert r.raise_for_status().json()["softwareVersion"].startswith("7.4.1")


async def one_client(url: str, index: int) -> dict:
    """Create a lab, drive it; returns what the checks need."""
    async with httpx.AsyncClient(base_url=url, timeout=300) as api:
        started = time.perf_counter()
        r = await api.post("/labs", json={"profile": "ftd-ha", "virtual_time": True, "seed": index})
        created = time.perf_counter() - started
        lab = r.raise_for_status().json()
        base = f"/labs/{lab['id']}"
        unit = lab["endpoints"]["devices"][0]
        await ssh_login(unit["ssh"])
        await fdm_call(unit["https"])
        r = await api.post(f"{base}/api/faults", json={"point": "upgrade.stage:*", "action": "fail",
                                                       "device": "ftd-a", "after": index})
        r.raise_for_status()
        await api.post(f"{base}/api/clock/pause")      # a paused clock stands still: what it says is ours alone
        before = (await api.get(f"{base}/api/clock")).json()["since_start"]
        await api.post(f"{base}/api/clock/advance", json={"seconds": (index + 1) * HOUR})
        return {"id": lab["id"], "created": created, "ports": ports_of(lab["endpoints"]),
                "since_start": before + (index + 1) * HOUR}


async def check(url: str, index: int, lab: dict) -> list[str]:
    """Cross-talk: this lab has its own fault only, and its clock where this client left it."""
    async with httpx.AsyncClient(base_url=url, timeout=300) as api:
        base = f"/labs/{lab['id']}"
        faults = (await api.get(f"{base}/api/faults")).json()["items"]
        clock = (await api.get(f"{base}/api/clock")).json()
    problems = []
    if [(f["device"], f["after"]) for f in faults] != [("ftd-a", index)]:
        problems.append(f"lab {index}: faults {faults}")
    if abs(clock["since_start"] - lab["since_start"]) > 1e-3:
        problems.append(f"lab {index}: clock at {clock['since_start']}, expected {lab['since_start']}")
    return problems


async def delete(url: str, lab_id: str) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=300) as api:
        started = time.perf_counter()
        (await api.delete(f"/labs/{lab_id}")).raise_for_status()
        return time.perf_counter() - started


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000 if len(values) > 1 else values[0] * 1000


def bench(labs: int, options: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="simulator-bench-serve-") as tmp:
        proc, url = start_server(Path(tmp), labs, options)
        server = psutil.Process(proc.pid)
        try:
            alone = []
            for _ in range(5):          # one at a time first: a create with nothing else to do
                started = time.perf_counter()
                lab = httpx.post(url + "/labs", json={"profile": "ftd-ha", "virtual_time": True}, timeout=60)
                alone.append(time.perf_counter() - started)
                httpx.delete(f"{url}/labs/{lab.raise_for_status().json()['id']}", timeout=60).raise_for_status()
            time.sleep(0.5)
            fds_before, rss_before = server.num_fds(), server.memory_info().rss
            started = time.perf_counter()
            results = asyncio.run(_gather(one_client(url, i) for i in range(labs)))
            wall = time.perf_counter() - started
            fds_peak, rss_peak = server.num_fds(), server.memory_info().rss
            problems = [p for ps in asyncio.run(_gather(check(url, i, lab) for i, lab in enumerate(results)))
                        for p in ps]
            ports = [port for lab in results for port in set(lab["ports"])]
            clashes = len(ports) - len(set(ports))
            deletes = asyncio.run(_gather(delete(url, lab["id"]) for lab in results))
            time.sleep(0.5)
            fds_after, rss_after = server.num_fds(), server.memory_info().rss
            left = httpx.get(url + "/labs").json()["total"]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
    created = [lab["created"] for lab in results]
    print(f"labs: {labs} ftd-ha (2 FTDv + pair probe each) created, driven and deleted by {labs} concurrent clients "
          f"in {wall:.1f} s (create to clock change)")
    print(f"create, one at a time:       p50 {pct(alone, 50):.0f} ms (5 labs, each deleted before the next)")
    print(f"create, {labs} at once (POST /labs to 201): p50 {pct(created, 50):.0f} ms, p95 {pct(created, 95):.0f} ms, "
          f"max {max(created) * 1000:.0f} ms")
    print(f"delete:                      p50 {pct(deletes, 50):.0f} ms, p95 {pct(deletes, 95):.0f} ms")
    print(f"server RSS: {rss_before / 2**20:.0f} MB empty, {rss_peak / 2**20:.0f} MB with {labs} labs: "
          f"{(rss_peak - rss_before) / labs / 2**20:.2f} MB per lab; {rss_after / 2**20:.0f} MB after deleting them")
    print(f"server descriptors: {fds_before} before, {fds_peak} with the labs, {fds_after} after "
          f"({'back to baseline' if fds_after == fds_before else 'LEAKED ' + str(fds_after - fds_before)})")
    print(f"port clashes between labs: {clashes}; cross-talk problems: {len(problems)}; labs left: {left}")
    for problem in problems[:10]:
        print("  " + problem)
    if clashes or problems or left or fds_after != fds_before:
        raise SystemExit(1)


async def _gather(coros) -> list:
    return list(await asyncio.gather(*coros))

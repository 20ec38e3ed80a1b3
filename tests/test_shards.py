"""A lab as shards: `simulator up --shards N` (worker processes behind one control API,
one endpoints file, one journal view), and the StatefulSet way (`up --shard I/N` per pod,
`simulator route` in front)."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import asyncssh
import httpx
import pytest

from simulator import profile as profiles
from simulator import shards
from tests.conftest import ROOT, end_lab, fdm_client, start_lab

PROFILE = """\
lab: sharded
devices:
  - name: chassis-a
    kind: fxos
    model: FPR-4145
    version: "2.12(0.498)"
    modules: [{slot: 1, apps: [{device: ftd-c}]}]
  - {name: ftd-c, model: FPR-4145, version: 7.2.5-208}
  - {name: ftd-a, model: FTDv, version: 7.4.1-172}
  - {name: ftd-b, model: FTDv, version: 7.4.1-172}
  - {name: 'ftd-{n}', model: FTDv, version: 7.4.1-172, count: 2}
ha_pairs:
  - {name: ha-1, primary: ftd-a, secondary: ftd-b}
"""


@pytest.fixture
def profile_path(tmp_path: Path) -> Path:
    path = tmp_path / "sharded.yaml"
    path.write_text(PROFILE)
    return path


def test_parts_keep_pairs_and_chassis_together_and_repeat(profile_path):
    profile = profiles.load(profile_path)
    assert shards.partition(profile, 2) == [["chassis-a", "ftd-c"], ["ftd-a", "ftd-b", "ftd-1", "ftd-2"]]
    assert shards.partition(profile, 3) == [["chassis-a", "ftd-c"], ["ftd-a", "ftd-b"], ["ftd-1", "ftd-2"]]
    assert shards.partition(profiles.load(profile_path), 3) == shards.partition(profile, 3)
    second = shards.part(profile, 1, 2)
    assert [s.name for s in second.expanded()] == ["ftd-a", "ftd-b", "ftd-1", "ftd-2"]
    assert [p.name for p in second.ha_pairs] == ["ha-1"]
    with pytest.raises(ValueError, match="cannot run as 5 shards: it has 4 groups"):
        shards.partition(profile, 5)
    fleet = profiles.load({"lab": "f", "devices": [{"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172",
                                                    "count": 20000}]})
    assert [len(p) for p in shards.partition(fleet, 7)] == [2858] + [2857] * 6


def test_a_fault_lives_where_it_fires_as_often_as_in_one_process(profile_path, tmp_path):
    """What each StatefulSet pod keeps of a --faults file (the router places faults the same way)."""
    plan = tmp_path / "faults.yaml"
    plan.write_text("""\
- {point: reboot, action: hang}                   # once, any device: shard 0, which has the first device
- {point: ha.sync, action: fail}                  # once, any HA unit: the first pair's shard
- {point: reboot, action: fail, times: null}      # every time: every shard
- {point: power, action: power_loss, at: 60}      # timed, every device at once: every shard
- {point: boot, action: slow, device: ftd-2}
""")
    profile = profiles.load(profile_path)
    kept = [[(f["point"], f.get("device")) for f in shards.file_faults(profile, plan, i, 2)] for i in (0, 1)]
    assert kept == [[("reboot", None), ("reboot", None), ("power", None)],
                    [("ha.sync", None), ("reboot", None), ("power", None), ("boot", "ftd-2")]]


def test_shards_needed_by_the_descriptor_limit(monkeypatch):
    fleet = profiles.load({"lab": "f", "devices": [{"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172",
                                                    "count": 20000}]})
    monkeypatch.setattr(shards.resource, "getrlimit", lambda _: (20000, 20000))
    assert shards.needed(fleet) == 6      # 5 listeners per FTD and a spare: about 3,950 a process
    small = profiles.load({"lab": "s", "devices": [{"name": "a", "model": "FTDv", "version": "7.4.1-172"}]})
    assert shards.needed(small) == 1
    assert [shards.shard_host("127.0.0.1", i) for i in range(3)] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert shards.shard_host("10.0.0.5", 2) == "10.0.0.5"


def _lab(url: str, path: str, method: str = "GET", body: dict | None = None) -> dict:
    response = httpx.request(method, url + path, json=body, timeout=30)
    assert response.status_code < 300, response.text
    return response.json()


def _until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return result


def _trusted(https: dict, ca: bytes) -> int:
    """An HTTPS call that verifies the device's certificate against `ca` (and its address)."""
    context = ssl.create_default_context(cadata=ca.decode())
    return httpx.get(https["url"] + "/", verify=context, timeout=10).status_code


async def _logs_in(ssh: dict) -> bool:
    try:
        await _login(ssh)
        return True
    except (OSError, asyncssh.Error):
        return False


async def _login(ssh: dict) -> str:
    async with asyncssh.connect(ssh["host"], ssh["port"], username=ssh["username"], password=ssh["password"],
                                known_hosts=None) as conn:
        result = await conn.run("show version", check=False, timeout=10)
        return str(result.stdout)


async def test_two_shards_behind_one_lab(tmp_path, profile_path):
    state = tmp_path / "state"
    log = tmp_path / "lab.log"
    plan = tmp_path / "faults.yaml"       # counted, for any device: in one shard only (not one per shard)
    plan.write_text("- {point: https.request, action: status, status: 503, after: 1000}\n")
    endpoints, proc = start_lab(str(profile_path), tmp_path, "--shards", "2", "--faults", str(plan),
                                state_dir=state, log=log)
    try:
        url = endpoints["control"]["url"]
        # One endpoints file: every device, in profile order, each at its shard's address.
        names = [d["name"] for d in endpoints["devices"]]
        assert names == ["chassis-a", "ftd-c", "ftd-a", "ftd-b", "ftd-1", "ftd-2"]
        hosts = {d["name"]: d["ssh"]["host"] for d in endpoints["devices"]}
        assert hosts["chassis-a"] == hosts["ftd-c"] == "127.0.0.1" and hosts["ftd-1"] == "127.0.0.2"
        assert [p["name"] for p in endpoints["pairs"]] == ["ha-1"]
        assert [(s["index"], s["devices"], s["state"]) for s in endpoints["shards"]] == [(0, 2, "up"), (1, 4, "up")]
        by_name = {d["name"]: d for d in endpoints["devices"]}
        assert "Cisco Firepower" in await _login(by_name["ftd-c"]["ssh"])
        assert "Cisco Firepower" in await _login(by_name["ftd-2"]["ssh"])
        with fdm_client(by_name["ftd-1"]["https"]) as api:
            assert api.get("/operational/systeminfo/default").status_code == 200

        # One CA: every device's certificate, on either shard, verifies against the lab's one ca.pem,
        # a path here (the lab is on this machine) and GET /api/ca.pem for a client elsewhere.
        ca = state / "tls" / "ca.pem"
        assert {d["https"]["ca"] for d in endpoints["devices"] if "https" in d} == {str(ca)}
        assert httpx.get(url + "/api/ca.pem").content == ca.read_bytes()
        assert _trusted(by_name["chassis-a"]["https"], ca.read_bytes()) < 500
        assert _trusted(by_name["ftd-2"]["https"], ca.read_bytes()) < 500

        # A fault for any device that fires once fires once in the whole lab (it lives in shard 0), and
        # one that fires every time is in every shard.
        once = _lab(url, "/api/faults", "POST", {"point": "ssh.login", "action": "reset"})
        assert once["shard"] == 0 and once["device"] is None
        logins = [await _logs_in(d["ssh"]) for _ in range(2) for d in endpoints["devices"] if "ssh" in d]
        assert logins.count(False) == 1
        faults = _lab(url, "/api/faults")["items"]
        assert [(f["point"], f["shard"], f["fired"]) for f in faults if f["device"] is None] == \
            [("https.request", 0, 0), ("ssh.login", 0, 1)]
        _lab(url, "/api/faults", "POST", {"point": "ssh.login", "action": "delay", "seconds": 1, "times": None})
        always = [f for f in _lab(url, "/api/faults")["items"] if f["action"] == "delay"]
        assert sorted(f["shard"] for f in always) == [0, 1]
        for fault in always:
            _lab(url, f"/api/faults/{fault['id']}", "DELETE")

        # One control API: status of all, a power action on each shard, one journal.
        lab = _lab(url, "/api/lab")
        assert [d["name"] for d in lab["devices"]] == names and len(lab["shards"]) == 2
        page = _lab(url, "/api/devices?offset=1&limit=3")
        assert [d["name"] for d in page["items"]] == ["ftd-c", "ftd-a", "ftd-b"]
        assert (page["total"], page["offset"], page["limit"], page["next"]) == (6, 1, 3, 4)
        assert _lab(url, "/api/lab?limit=2")["devices_page"]["next"] == 2
        assert _lab(url, "/api/devices/ftd-1/power", "POST", {"action": "off"})["state"] == "off"
        assert _lab(url, "/api/devices/chassis-a/power", "POST", {"action": "off"})["state"] == "off"
        assert httpx.get(url + "/api/devices/nope").json() == {"error": "no device 'nope' in this lab"}
        assert httpx.get(url + "/api/exercise").status_code == 404       # a sharded lab is no exercise
        status = subprocess.run([sys.executable, "-m", "simulator", "status", "--lab", str(state)],
                                capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert "shard 1: up, 4 devices on 127.0.0.2" in status.stdout, status.stdout + status.stderr
        events = _lab(url, "/api/events?kind=power&limit=1000")["items"]
        assert {(e["device"], e["action"]) for e in events} >= {("ftd-1", "off"), ("chassis-a", "off")}
        with httpx.stream("GET", url + "/api/events/stream?after=0&kind=power", timeout=10) as stream:
            seen = set()
            for line in stream.iter_lines():       # both shards' journals, caught up, in one stream
                if line.startswith("data: "):
                    seen.add(json.loads(line[6:])["device"])
                if {"ftd-1", "chassis-a"} <= seen:
                    break
        # One simulated time: a reboot on shard 1 moves its clock on its own (each shard jumps when idle);
        # `clock run` and `clock advance` end with every shard at the time they answer with.
        _lab(url, "/api/devices/ftd-2/power", "POST", {"action": "cycle"})
        ran = _lab(url, "/api/clock/run", "POST", {"device": "ftd-2", "state": "online"})
        assert ran["reached"] and ran["since_start"] > 60

        def shard_clocks() -> list[dict]:
            return [httpx.get(s["control"] + "/api/clock").json() for s in endpoints["shards"]]
        assert {c["now"] for c in shard_clocks()} == {ran["now"]}
        moved = _lab(url, "/api/clock/advance", "POST", {"seconds": 90})
        assert moved["now"] == ran["now"] + 90 and {c["now"] for c in shard_clocks()} == {moved["now"]}
        assert _lab(url, "/api/clock/run", "POST")["now"] == moved["now"]      # idle everywhere: no move
        assert httpx.post(url + "/api/clock/advance", json={"seconds": -1}).json() == \
            {"error": "`seconds` must be at least 0 and at most 315360000"}

        fault = _lab(url, "/api/faults", "POST", {"point": "reboot", "action": "hang", "device": "ftd-2"})
        assert _lab(url, f"/api/faults/{fault['id']}")["device"] == "ftd-2"


        # kill -9 of a worker: noticed, reported, restarted from its state directory.
        os.kill(endpoints["shards"][1]["pid"], signal.SIGKILL)
        lost = _until(lambda: _lab(url, "/api/events?kind=shard")["items"])
        assert lost[0]["kind"] == "shard.lost" and lost[0]["shard"] == 1 and lost[0]["exitcode"] == -signal.SIGKILL
        shard = _until(lambda: next((s for s in _lab(url, "/api/lab")["shards"]
                                     if s["index"] == 1 and s["state"] == "up" and s["restarts"] == 1), None))
        assert shard["pid"] != endpoints["shards"][1]["pid"]
        assert "shard.recovered" in [e["kind"] for e in _lab(url, "/api/events?kind=shard")["items"]]
        assert _lab(url, "/api/devices/ftd-1")["state"] == "off", "its state came back from its state dir"
        assert sorted(f["device"] or "-" for f in _lab(url, "/api/faults")["items"]) == ["-", "-", "ftd-2"]
        merged = _until(lambda: (doc := json.loads(Path(endpoints_file(log)).read_text()))["shards"][1]["restarts"]
                        and doc)
        ftd2 = next(d for d in merged["devices"] if d["name"] == "ftd-2")
        assert "Cisco Firepower" in await _login(ftd2["ssh"])
    finally:
        # One Ctrl-C stops every shard; every state is kept.
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    assert "stopped; state kept in" in log.read_text()
    assert not (state / "control.json").exists()
    for index in (0, 1):
        assert json.loads((state / "shards" / str(index) / "lab.json").read_text())["lab"] == "sharded"
    assert "lab.stopped" in (state / "shards" / "1" / "journal.jsonl").read_text()


def test_a_sharded_lab_saves_and_restores_snapshots_at_one_time(tmp_path, profile_path):
    """One snapshot through the router is every shard's, at one simulated time; a restore puts
    every shard back; a save one shard refuses leaves no part behind; the router remembers its
    snapshots across its own restart (STATE/snapshots.json). The router's dashboard lists the shards."""
    state = tmp_path / "state"
    endpoints, proc = start_lab(str(profile_path), tmp_path, "--shards", "2", state_dir=state,
                                log=tmp_path / "lab.log")
    try:
        url = endpoints["control"]["url"]
        shard_urls = [s["control"] for s in endpoints["shards"]]
        # The lab's dashboard: its shards, each linking to the shard's own; the clock bar acts on all.
        assert f"dashboard: {url}/ui/" in (tmp_path / "lab.log").read_text()
        page = httpx.get(url + "/ui/", timeout=30)
        assert page.status_code == 200 and "Lab sharded" in page.text and "6 devices in 2 shards" in page.text
        assert all(f'<a href="{u}/ui/">its dashboard</a>' in page.text for u in shard_urls)
        assert 'id="clock-pause"' in page.text and httpx.get(url + "/ui/static/ui.js").status_code == 200
        assert "ftd-1" in httpx.get(shard_urls[1] + "/ui/", timeout=30).text
        _lab(url, "/api/devices/ftd-2/power", "POST", {"action": "cycle"})        # shard 1 ahead in time
        _lab(shard_urls[1], "/api/clock/run", "POST", {"device": "ftd-2", "state": "online"})
        ahead = [_lab(u, "/api/clock")["now"] for u in shard_urls]
        assert ahead[1] > ahead[0]

        snap = _lab(url, "/api/snapshots", "POST", {"name": "baseline"})
        assert (snap["name"], snap["devices"], [p["index"] for p in snap["shards"]]) == ("baseline", 6, [0, 1])
        parts = [_lab(u, "/api/snapshots")["items"] for u in shard_urls]
        assert [len(items) for items in parts] == [1, 1]
        assert {items[0]["sim_time"] for items in parts} == {snap["sim_time"]} and snap["sim_time"] >= ahead[1]
        assert _lab(url, "/api/snapshots")["items"] == [snap] and _lab(url, f"/api/snapshots/{snap['id']}") == snap

        # Changes on both shards, then the restore takes both back.
        _lab(url, "/api/devices/chassis-a/power", "POST", {"action": "off"})
        _lab(url, "/api/devices/ftd-1/power", "POST", {"action": "off"})
        _lab(url, "/api/clock/advance", "POST", {"seconds": 3600})
        restored = _lab(url, f"/api/snapshots/{snap['id']}/restore", "POST")
        assert restored["id"] == snap["id"] and restored["restored_in_ms"] > 0
        assert _lab(url, "/api/devices/chassis-a")["state"] == "online"
        assert _lab(url, "/api/devices/ftd-1")["state"] == "online"
        assert [e["shard"] for e in _lab(url, "/api/events?kind=lab.restored")["items"]] == [0, 1]
        assert all(_lab(u, "/api/clock")["now"] < snap["sim_time"] + 3600 for u in shard_urls)

        # A save that shard 1 refuses (its 64 snapshots are full) leaves nothing on shard 0.
        for n in range(63):
            _lab(shard_urls[1], "/api/snapshots", "POST", {"name": f"own-{n}"})
        refused = httpx.post(url + "/api/snapshots", json={"name": "too many"}, timeout=30)
        assert refused.status_code == 409 and "64 snapshots at most" in refused.json()["error"]
        assert len(_lab(shard_urls[0], "/api/snapshots")["items"]) == 1 and len(_lab(url, "/api/snapshots")["items"]) == 1
        assert not any(_lab(u, "/api/clock")["paused"] for u in shard_urls)      # every clock runs again

        bad = httpx.post(url + "/api/snapshots", json={"name": "x", "when": "now"}, timeout=30)
        assert bad.status_code == 400 and bad.json() == {"error": "unknown field 'when': a snapshot takes only `name`"}
        assert httpx.get(url + "/api/snapshots/99", timeout=30).json() == {"error": "no snapshot '99' in this lab"}
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0

    # The lab again from its state: the router still knows its snapshot and deletes every part of it.
    endpoints, proc = start_lab(str(profile_path), tmp_path, "--shards", "2", state_dir=state,
                                log=tmp_path / "again.log")
    try:
        url = endpoints["control"]["url"]
        assert [s["name"] for s in _lab(url, "/api/snapshots")["items"]] == ["baseline"]
        _lab(url, f"/api/snapshots/{snap['id']}", "DELETE")
        assert httpx.get(f"{url}/api/snapshots/{snap['id']}", timeout=30).status_code == 404
        assert _lab(endpoints["shards"][0]["control"], "/api/snapshots")["items"] == []
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_the_router_checks_snapshot_names_as_a_lab_does():
    from simulator import snapshots
    from simulator.control import router_snapshots
    assert router_snapshots.MAX_NAME == snapshots.MAX_NAME


def endpoints_file(log: Path) -> str:
    return next(line.rpartition("endpoints: ")[2] for line in log.read_text().splitlines() if "endpoints: " in line)


def test_statefulset_way_shard_processes_behind_route(tmp_path, profile_path):
    """What deploy/kubernetes runs: a pod per `up --shard I/N` on the same control port at its own
    address (here 127.0.1.I), and `route` in front that knows them by a URL template."""
    port = _free_port()
    pods = []
    secret = tmp_path / "lab-ca"       # the CA Secret every pod mounts
    try:
        for index in (0, 1):
            doc, pod = start_lab(str(profile_path), tmp_path, "--shard", f"{index}/2", "--host", f"127.0.1.{index}",
                                 "--control-port", str(port), "--ca", str(secret), state_dir=tmp_path / f"pod-{index}")
            pods.append(pod)
            assert doc["lab"] == "sharded" and len(doc["devices"]) == (2 if index == 0 else 4)
        router = subprocess.Popen([sys.executable, "-m", "simulator", "route", str(profile_path), "--shards", "2",
                                   "--shard-url", f"http://127.0.1.{{i}}:{port}", "--advertise", "lab-{i}.lab-shards",
                                   "--control-port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        pods.append(router)
        url = f"http://127.0.0.1:{port}"
        _until(lambda: _reachable(url))
        doc = _lab(url, "/api/endpoints")
        assert [d["name"] for d in doc["devices"]] == ["chassis-a", "ftd-c", "ftd-a", "ftd-b", "ftd-1", "ftd-2"]
        entry = {d["name"]: d for d in doc["devices"]}
        assert entry["ftd-c"]["ssh"]["host"] == "lab-0.lab-shards"
        assert entry["ftd-2"]["ssh"]["host"] == "lab-1.lab-shards"
        assert entry["ftd-2"]["https"]["url"].startswith("https://lab-1.lab-shards:")
        assert doc["control"]["url"] == url
        # The CA is no path a client could read: the router names where it serves it.
        assert {d["https"]["ca"] for d in doc["devices"] if "https" in d} == {url + "/api/ca.pem"}
        ca = httpx.get(url + "/api/ca.pem").content
        assert ca == (secret / "ca.pem").read_bytes()
        for name, host in (("chassis-a", "127.0.1.0"), ("ftd-2", "127.0.1.1")):     # each pod's address
            https = entry[name]["https"]
            assert _trusted({**https, "url": https["url"].replace(f"lab-{host[-1]}.lab-shards", host)}, ca) < 500
        assert _lab(url, "/api/devices/ftd-c/power", "POST", {"action": "cycle"})["name"] == "ftd-c"
        assert _lab(url, "/api/devices/ftd-2/power", "POST", {"action": "off"})["state"] == "off"
        assert _lab(url, "/api/pairs/ha-1/link", "POST", {"up": False})["name"] == "ha-1"
        seen = {(e["device"], e["shard"]) for e in _lab(url, "/api/events?kind=power&limit=1000")["items"]}
        assert {("ftd-c", 0), ("ftd-2", 1)} <= seen
    finally:
        for pod in pods:
            end_lab(pod)


def _reachable(url: str) -> bool:
    try:
        return httpx.get(url + "/api/clock", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_lab_too_big_for_one_process_runs_as_shards_by_itself(tmp_path):
    import resource

    path = tmp_path / "fleet.yaml"
    path.write_text("lab: fleet\ndevices:\n  - {name: 'ftd-{n}', model: FTDv, version: 7.4.1-172, count: 60}\n")
    endpoints = tmp_path / "endpoints.json"
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "simulator", "up", str(path), "--virtual-time", "--state-dir",
                                 str(tmp_path / "state"), "--endpoints", str(endpoints)], stdout=out, stderr=out,
                                cwd=ROOT, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (400, 400)))
    try:
        _until(lambda: endpoints.exists() or proc.poll() is not None, timeout=30)
        assert endpoints.exists(), log.read_text()
        doc = json.loads(endpoints.read_text())
        assert len(doc["devices"]) == 60 and len(doc["shards"]) >= 2
        assert "(ulimit -n): running it as" in log.read_text()
    finally:
        end_lab(proc)

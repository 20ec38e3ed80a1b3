"""Fleets (issue 14): lab-wide work stays O(devices). Costs are checked by
counting calls, not by timing (speed figures come from scripts/bench.py)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from simulator.control.server import CHUNK
from simulator.descriptors import raw_listeners
from simulator.endpoints_file import DELAY as ENDPOINTS_DELAY
from simulator.kinds.registry import DEFAULT, KINDS
from simulator.kinds.spec import DeviceSpec
from simulator.lab import Lab, listeners
from simulator.profile import PROFILES_DIR, load
from tests.conftest import ROOT, end_lab, start_lab

FLEET = 300


def fleet(count: int = FLEET) -> dict[str, Any]:
    """`count` FTDv from one template, in HA pairs of two (telnet consoles only)."""
    return {"lab": "fleet", "devices": [{"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172",
                                         "count": count, "console_ssh_port": None}],
            "ha_pairs": [{"name": f"ha-{i}", "primary": f"ftd-{2 * i + 1}", "secondary": f"ftd-{2 * i + 2}"}
                         for i in range(count // 2)]}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often a template is expanded and a device's endpoints entry is built."""
    counter: Counter[str] = Counter()
    expand, entry = DeviceSpec.expand, Lab.device_endpoints

    def counted_expand(self: DeviceSpec) -> list[DeviceSpec]:
        counter["expand"] += 1
        return expand(self)

    def counted_entry(self: Lab, name: str) -> dict[str, Any]:
        counter["entry"] += 1
        return entry(self, name)

    monkeypatch.setattr(DeviceSpec, "expand", counted_expand)
    monkeypatch.setattr(Lab, "device_endpoints", counted_entry)
    return counter


async def test_a_fleet_expands_its_template_once_and_lists_each_device_once(calls: Counter[str]) -> None:
    async with Lab(fleet(), virtual_time=True, seed=1) as lab:
        assert calls["expand"] == 1             # validating, pairing 150 pairs, building and serving
        assert len(lab.devices) == FLEET and len(lab.pairs) == FLEET // 2
        async with httpx.AsyncClient(base_url=lab.control.url, timeout=30) as client:
            for path in ("/api/devices", "/api/lab"):
                calls.clear()
                r = await client.get(path)
                assert r.status_code == 200
                listed = r.json()["items" if path == "/api/devices" else "devices"]
                assert len(listed) == FLEET and listed[-1]["ha"]["role"] == "secondary"
                assert calls == {"entry": FLEET}       # one entry per device, nothing re-expanded
        calls.clear()
        assert len(lab.endpoints()["pairs"]) == FLEET // 2 and calls == {"entry": FLEET}


async def test_lists_page_with_offset_and_limit_and_say_where_the_page_lies() -> None:
    async with Lab(fleet(), virtual_time=True, seed=1) as lab, \
            httpx.AsyncClient(base_url=lab.control.url, timeout=30) as client:
        page = (await client.get("/api/devices", params={"offset": 100, "limit": 50})).json()
        assert [d["name"] for d in page["items"]] == [f"ftd-{n}" for n in range(101, 151)]
        assert {k: page[k] for k in ("total", "offset", "limit", "next")} == \
            {"total": FLEET, "offset": 100, "limit": 50, "next": 150}
        last = (await client.get("/api/devices", params={"offset": 250, "limit": 100})).json()
        assert len(last["items"]) == 50 and last["next"] is None
        whole = (await client.get("/api/devices")).json()       # as clients written before paging ask
        assert len(whole["items"]) == FLEET and (whole["offset"], whole["limit"], whole["next"]) == (0, None, None)
        lab_page = (await client.get("/api/lab", params={"limit": 40})).json()
        assert len(lab_page["devices"]) == 40 and lab_page["devices_page"]["next"] == 40
        pairs = (await client.get("/api/pairs", params={"offset": 148})).json()
        assert [p["name"] for p in pairs["items"]] == ["ha-148", "ha-149"] and pairs["total"] == FLEET // 2
        for bad in ({"limit": 0}, {"offset": -1}, {"limit": "x"}):
            r = await client.get("/api/devices", params=bad)
            assert r.status_code == 400 and "must be an integer" in r.json()["error"]


async def test_a_long_list_lets_the_loop_run_while_it_is_built() -> None:
    """Entries are built a chunk at a time: other connections are served between chunks."""
    async with Lab(fleet(), virtual_time=True, seed=1) as lab, \
            httpx.AsyncClient(base_url=lab.control.url, timeout=30) as client:
        turns = 0
        listing = asyncio.ensure_future(client.get("/api/devices"))
        while not listing.done():
            turns += 1
            await asyncio.sleep(0)
        assert (await listing).status_code == 200
        assert turns > FLEET // CHUNK


async def test_the_endpoints_file_rebuilds_only_what_changed_and_ends_equal_to_the_lab(
        tmp_path: Path, calls: Counter[str]) -> None:
    path = tmp_path / "endpoints.json"
    async with Lab(fleet(40), virtual_time=True, seed=1, endpoints_file=path) as lab:
        await lab.clock.run_until(lambda: all(p.state == "healthy" for p in lab.pairs.values()), limit=3600)
        await asyncio.sleep(ENDPOINTS_DELAY * 2)
        calls.clear()
        lab.power("ftd-1", "off")                 # ha-0 fails over to ftd-2
        await lab.clock.run_until(lambda: lab.pairs["ha-0"].active == "ftd-2", limit=600)
        await lab.settle()
        await asyncio.sleep(ENDPOINTS_DELAY * 2)
        assert calls["entry"] <= 4                # ftd-1 and ftd-2, not the 40
        assert json.loads(path.read_text()) == json.loads(json.dumps(lab.endpoints()))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts this process's descriptors in /proc")
@pytest.mark.parametrize("profile", ["ftd-ha", "fxos-9300-multi", "asa-active-active"])
async def test_the_descriptor_estimate_is_what_a_serving_lab_holds(profile: str) -> None:
    before = open_fds()
    async with Lab(profile, virtual_time=True, seed=1) as lab:
        await lab.clock.run_until(lambda: all(d.state in ("online", "active") for d in lab.devices.values()),
                                  limit=3600)
        await lab.settle()
        _, estimate = listeners(lab.profile)
        assert estimate <= open_fds() - before <= estimate + 2     # and the journal's file


def up(profile: dict[str, Any], tmp_path: Path, limits: tuple[int, int]) -> subprocess.CompletedProcess[str]:
    """`simulator up --shards 1` (one process: no shards when it does not fit) in a process allowed
    `limits` (soft, hard) open files."""
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(profile))
    return subprocess.run([sys.executable, "-m", "simulator", "up", str(path), "--virtual-time", "--shards", "1",
                           "--state-dir", str(tmp_path / "state")], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limits))


def test_a_fleet_too_big_for_the_descriptor_limit_is_refused_in_one_line(tmp_path: Path) -> None:
    result = up(fleet(100), tmp_path, (400, 400))
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: lab fleet needs about 607 file descriptors for 100 devices (4 listening ports each, and room for "
        "clients) but this process may open 400 (ulimit -n); lower `count`, drop console ports "
        "(console_ssh_port: null) or raise the limit"]
    assert not (tmp_path / "state").exists(), "no journal, no state: nothing started"


def test_the_refusal_comes_from_the_yaml_before_the_kinds_are_imported(tmp_path: Path) -> None:
    """So it answers in well under 2 s on a loaded machine (importing the kinds alone takes seconds there)."""
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(fleet(100)))
    code = ("import sys; from simulator.cli import main; code = main(['up', sys.argv[1], '--shards', '1']); "
            "print(sorted(m for m in sys.modules if m.startswith(('simulator.kinds.', 'simulator.lab')))); "
            "sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (400, 400)))
    assert result.returncode == 2 and "needs about 607 file descriptors" in result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")) + ["fleet", "mixed"])
def test_the_yaml_count_of_listeners_is_the_labs(name: str) -> None:
    """kinds/listeners.yaml (what the early refusal counts with) says what the kinds declare."""
    data = {"fleet": fleet(100), "mixed": MIXED}.get(name) or yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text())
    profile = load(data)
    assert raw_listeners(data) == (*listeners(profile), len(profile.expanded()))
    declared = yaml.safe_load((ROOT / "simulator" / "kinds" / "listeners.yaml").read_text())
    assert declared["default"] == DEFAULT
    assert {name: {k: v for k, v in kind.items() if k != "bmc"} for name, kind in declared["kinds"].items()} == \
        {name: {"ssh": kind.ssh is not None, "https": kind.https is not None, "console": kind.console is not None,
                "traffic": bool(kind.traffic)} for name, kind in KINDS.items()}
    for spec in profile.expanded():     # a BMC by the kind's rule (the counts above check it with `bmc:` set)
        rule = declared["kinds"][spec.kind]["bmc"]
        assert (KINDS[spec.kind].bmc(spec) == rule) if rule != "models" else True


MIXED = {"lab": "mixed", "devices": [
    {"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172", "count": 3, "start": 5},
    {"name": "fpr-{n}", "model": "FPR-2130", "version": "7.4.1-172", "count": 2},
    {"name": "fpr-x", "model": "FPR-1120", "version": "7.4.1-172", "bmc": False},
    {"name": "asa-{n}", "kind": "asa", "model": "ASAv", "version": "9.20(2)", "count": 2, "console_ssh_port": None}],
    "ha_pairs": [{"name": "ha", "primary": "ftd-5", "secondary": "ftd-6"}]}


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one_when_the_lab_needs_it() -> None:
    code = ("import resource; from simulator.lab import check_descriptors; from simulator.profile import load; "
            f"check_descriptors(load({fleet(20)!r})); print(*resource.getrlimit(resource.RLIMIT_NOFILE))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (300, 4000)))
    assert result.stdout.split() == ["4000", "4000"], result.stderr


def journal_of_a_run(tmp_path: Path, *extra: str) -> list[dict[str, Any]]:
    """A lab started, its device power-cycled once it is up and idle, stopped: its journal (less wall times)."""
    endpoints, proc = start_lab("ftd-standalone", tmp_path, *extra, state_dir=tmp_path / "state")
    try:
        with httpx.Client(base_url=endpoints["control"]["url"], timeout=30) as control:
            idle = control.post("/api/clock/run", json={"device": "ftd-1", "state": "online"}).json()
            assert idle["reached"] and idle["next_timer"] is None     # nothing left to jump to: no race
            control.post("/api/devices/ftd-1/power", json={"action": "cycle"}).raise_for_status()
            assert control.post("/api/clock/run", json={"device": "ftd-1", "state": "online"}).json()["reached"]
    finally:
        end_lab(proc)
    lines = (tmp_path / "state" / "journal.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "wall_time"} for line in lines]


def test_two_runs_with_the_same_seed_and_start_time_write_the_same_journal(tmp_path: Path) -> None:
    start = ("--start-time", "2026-01-01T00:00:00Z")
    first, second = journal_of_a_run(tmp_path / "a", *start), journal_of_a_run(tmp_path / "b", *start)
    assert first == second and first[0]["sim_time"] == 1767225600.0
    assert any(e["kind"] == "power" for e in first)

"""kill -9 at any moment leaves a state directory the next start agrees with:
the journal parses to its last line, `seq` is unique across restarts, every
device's snapshot says what the journal says last about it, and the lab comes
back and finishes what was in flight.

One kill per scenario (FTD upgrade, FTD HA upgrade, an FXOS chassis and an
ASA unit power-cycled, an SFTP upload cut by the kill) runs by default;
`SIM_KILL_RUNS=20` runs a campaign (20 runs per scenario: 100 kills)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import threading
import time
from pathlib import Path

import asyncssh
import httpx
import pytest

from simulator.journal import Journal
from simulator.kinds.ftd.packages import make_package
from tests.conftest import end_lab, fdm_client, fdm_upgrade, start_lab

RUNS = int(os.environ.get("SIM_KILL_RUNS", "1"))      # per scenario
UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


def test_a_restarted_journal_goes_on_numbering_and_drops_a_torn_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    first = Journal(lambda: 0.0, path)
    for _ in range(3):
        first.emit("d", "x")
    first.close()
    with path.open("a") as fh:
        fh.write('{"seq": 4, "sim_ti')                       # the kill came mid-line
    second = Journal(lambda: 0.0, path)
    assert second.last_seq == 3
    second.emit("d", "y")
    second.recover([{"seq": 9, "device": "d", "kind": "z"}, {"seq": 2, "device": "d", "kind": "old"}])
    second.emit("d", "after")
    second.close()
    seqs = [json.loads(line)["seq"] for line in path.read_text().splitlines()]
    assert seqs == [1, 2, 3, 4, 9, 10]


def journal_of(state: Path) -> list[dict]:
    return [json.loads(line) for line in (state / "journal.jsonl").read_text().splitlines()]


def check_agreement(state: Path) -> None:
    """What the next start sees: a journal that parses, unique seq, and snapshots that
    say what the journal says last about each device (after recovering a lost last line)."""
    journal = Journal(lambda: 0.0, state / "journal.jsonl")       # drops a torn line, as a start does
    snapshots = {p.stem: json.loads(p.read_text()) for p in (state / "devices").glob("*.json")}
    journal.recover([s["_journal_event"] for s in snapshots.values()
                     if s.get("_journal_event") and s["_journal_event"]["seq"] > journal.last_seq])
    journal.close()
    events = journal_of(state)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), "seq is unique and increasing"
    for name, snapshot in snapshots.items():
        states = [e["state"] for e in events if e["device"] == name and e["kind"] == "state"]
        if states:
            assert states[-1] == snapshot["state"], (name, states[-1], snapshot["state"])


def settled(control: str, timeout: float = 60) -> list[dict]:
    """Wait until every device is online with no job in progress (the lab finished what was in flight)."""
    deadline = time.monotonic() + timeout
    devices: list[dict] = []
    while time.monotonic() < deadline:
        devices = httpx.get(control + "/api/devices", timeout=10).json()["items"]
        if all(d["state"] == "online" and (d["job"] is None or d["job"]["state"] != "IN_PROGRESS") for d in devices):
            return devices
        time.sleep(0.2)
    raise AssertionError(f"the lab did not settle after the restart: {[(d['name'], d['state']) for d in devices]}")


def upgrade(profile: str, unit: str) -> tuple[str, object]:
    def drive(endpoints: dict, tmp: Path) -> None:
        https = next(d for d in endpoints["devices"] if d["name"] == unit)["https"]
        with fdm_client(https) as api:
            fdm_upgrade(api, make_package(UPGRADE_76, tmp / "pkg"))
    return profile, drive


def power_cycle(profile: str, device: str) -> tuple[str, object]:
    def drive(endpoints: dict, tmp: Path) -> None:
        answer = httpx.post(f"{endpoints['control']['url']}/api/devices/{device}/power", json={"action": "cycle"})
        assert answer.status_code == 200, answer.text
    return profile, drive


async def _put(ssh: dict, path: Path) -> None:
    async with asyncssh.connect(ssh["host"], ssh["port"], username=ssh["username"], password=ssh["password"],
                                known_hosts=None) as conn, conn.start_sftp_client() as sftp:
        await sftp.put(str(path), f"/var/sf/updates/{path.name}")


def upload_cut(profile: str, device: str) -> tuple[str, object]:
    """A package uploaded whole (acknowledged: it must survive), then a big file
    on its way when the kill comes: it leaves nothing, or it arrived whole (and,
    as on FDM, a new upload replaces the device's upgrade file)."""
    def drive(endpoints: dict, tmp: Path) -> None:
        ssh = next(d for d in endpoints["devices"] if d["name"] == device)["ssh"]
        asyncio.run(_put(ssh, make_package(UPGRADE_76, tmp / "pkg")))
        big = tmp / BIG
        with big.open("wb") as fh:
            fh.write(random.randbytes(BIG_SIZE))
        threading.Thread(target=lambda: asyncio.run(_quietly(_put(ssh, big))), daemon=True).start()
    return profile, drive


async def _quietly(work) -> None:
    try:
        await work
    except (OSError, asyncssh.Error):
        pass            # the lab was killed under it


def check_uploads(state: Path) -> None:
    # an upgrade removes the package it installed (seed 001)
    consumed = {e.get("filename") for e in journal_of(state) if e["kind"] == "package" and e.get("action") == "consumed"}
    for folder in state.rglob("updates"):
        names = {p.name: p.stat().st_size for p in folder.iterdir()}
        if BIG in names:
            assert names[BIG] == BIG_SIZE, "a file is whole or absent"
        else:
            assert names.get(UPGRADE_76) or UPGRADE_76 in consumed, "the acknowledged upload survives"


BIG, BIG_SIZE = "big.bin", 160 * 1024 * 1024
SCENARIOS = {
    "ftd upgrade": upgrade("ftd-standalone", "ftd-1"),
    "ftd HA standby upgrade": upgrade("ftd-ha", "ftd-b"),
    "fxos chassis power cycle": power_cycle("fxos-4100-standalone", "fpr4k-1"),
    "asa unit power cycle": power_cycle("asa-ha", "asa-b"),
    "ftd upload cut": upload_cut("ftd-standalone", "ftd-1"),
}
CASES = [(name, run) for run in range(RUNS) for name in SCENARIOS]


@pytest.mark.parametrize("scenario, run", CASES)
def test_kill_9_in_flight_then_start_again(tmp_path, scenario, run):
    profile, drive = SCENARIOS[scenario]
    state = tmp_path / "state"
    endpoints, proc = start_lab(profile, tmp_path, "--time-scale", "200", state_dir=state, log=tmp_path / "lab.log")
    drive(endpoints, tmp_path)
    time.sleep(random.Random(f"{scenario}{run}").uniform(0.05, 4.0))  # anywhere in readiness, install, reboot, boot
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    check_agreement(state)
    endpoints, proc = start_lab(profile, tmp_path, state_dir=state, log=tmp_path / "lab2.log")
    try:
        settled(endpoints["control"]["url"])
    finally:
        end_lab(proc)
    check_agreement(state)
    check_uploads(state)
    assert not list(state.rglob("*.part")), "no orphan upload"

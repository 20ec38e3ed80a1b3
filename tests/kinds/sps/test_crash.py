"""kill -9 of a lab running SPS nodes: an acknowledged firmware upload
survives it (the slot and its image on disk), an upload cut by the kill
leaves nothing behind, and an upgrade in flight finishes after the restart
(a real `simulator up` process on scaled time, killed at a random moment)."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from simulator.kinds.sps.packages import make_iso
from tests.conftest import end_lab, start_lab
from tests.robustness.test_crash_consistency import check_agreement, settled

RUNS = int(os.environ.get("SIM_KILL_RUNS", "1"))
ISO = "sps-7.0.2.1-lts-firmware.iso"


@contextmanager
def _login(endpoints: dict, node: str) -> Iterator[httpx.Client]:
    https = next(d for d in endpoints["devices"] if d["name"] == node)["https"]
    with httpx.Client(base_url=https["url"], verify=False, timeout=30) as client:
        assert client.get("/api/authentication", auth=(https["username"], https["password"])).status_code == 200
        yield client


def _acknowledged_upload(api: httpx.Client, iso: Path) -> int:
    answer = api.post("/api/upload/firmware", content=iso.read_bytes(),
                      headers={"Content-Type": "application/x-iso9660-image"})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["key"])


def _slow_body() -> Iterator[bytes]:
    for _ in range(200):
        yield os.urandom(1 << 20)
        time.sleep(0.02)


def _cut_upload(api: httpx.Client) -> None:
    """A big upload on its way when the kill comes."""
    def send() -> None:
        try:
            api.post("/api/upload/firmware", content=_slow_body(), headers={"Content-Type": "application/x-iso9660-image"})
        except httpx.HTTPError:
            pass            # the lab was killed under it
    threading.Thread(target=send, daemon=True).start()


def _upgrade(api: httpx.Client, slot: int) -> None:
    assert api.post("/api/firmware/upgrade", json={"slot_id": slot, "message": None}).status_code == 200


SCENARIOS = ["upload cut", "upgrade in flight"]


@pytest.mark.parametrize("scenario, run", [(s, r) for r in range(RUNS) for s in SCENARIOS])
def test_an_acknowledged_upload_survives_kill_9(tmp_path, scenario, run):
    iso = make_iso(ISO, tmp_path / "iso")
    state = tmp_path / "state"
    endpoints, proc = start_lab("sps-standalone", tmp_path, "--time-scale", "200", state_dir=state,
                                log=tmp_path / "lab.log")
    try:
        with _login(endpoints, "sps-1") as api:
            slot = _acknowledged_upload(api, iso)
            _cut_upload(api) if scenario == "upload cut" else _upgrade(api, slot)
            time.sleep(random.Random(f"{scenario}{run}").uniform(0.05, 2.0))    # upload, shutdown, boot, upgrade
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    finally:
        end_lab(proc)
    check_agreement(state)
    endpoints, proc = start_lab("sps-standalone", tmp_path, state_dir=state, log=tmp_path / "lab2.log")
    try:
        settled(endpoints["control"]["url"])
        with _login(endpoints, "sps-1") as api:
            slots = {s["key"]: s["body"] for s in api.get("/api/firmware/slots").json()["items"]}
    finally:
        end_lab(proc)
    assert slots[str(slot)]["version"] == "7.0.2.1", "the acknowledged upload survives"
    assert [s for s in slots.values() if s] == [slots["1"], slots[str(slot)]], "the cut upload left no slot"
    images = {p.parent.name: p.name for p in state.rglob("opt/firmware/slot*/*")}
    assert images == {f"slot{slot}": ISO}
    assert not list(state.rglob("*.part")), "no orphan upload"
    check_agreement(state)

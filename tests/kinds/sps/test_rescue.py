"""An upgrade that fails and cannot revert (seed 004, sps.md 2.4): the core
firmware never comes up, so the REST API stays away; SSH is open unless
sealed mode is on, and the console menu shows the upgrade log; it stays so
across a power cycle, until the control API reimages the node."""

from __future__ import annotations

import asyncssh
import httpx
import pytest

from simulator.kinds.sps.packages import make_iso
from tests.conftest import Terminal

CHOOSE = r"Select an option: $"


def _profile(**options) -> dict:
    return {"lab": "rescue", "devices": [{"name": "sps-1", "kind": "sps", "model": "T-4", "version": "6.0.3",
                                          **options}],
            "faults": [{"point": "upgrade.stage:firmware", "action": "fail", "device": "sps-1",
                        "message": "configuration conversion failed"},
                       {"point": "revert", "action": "hang", "device": "sps-1"}]}


def _upgrade_into_rescue(lab, tmp_path) -> None:
    https = lab.endpoint("sps-1")["https"]
    iso = make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path)
    with httpx.Client(base_url=https["url"], verify=False) as api:
        api.get("/api/authentication", auth=(https["username"], https["password"]))
        slot = api.post("/api/upload/firmware", content=iso.read_bytes(),
                        headers={"Content-Type": "application/x-iso9660-image"}).json()["key"]
        assert api.post("/api/firmware/upgrade", json={"slot_id": int(slot)}).status_code == 200
        lab.wait_for_state("sps-1", "rescue")
        with pytest.raises(httpx.TransportError):
            api.get("/api/info")


async def _upgrade_log(port: int) -> str:
    conn = await asyncssh.connect("127.0.0.1", port, username="root", password="Admin123", known_hosts=None)
    term = Terminal(conn, await conn.create_process(term_type="vt100"))
    try:
        await term.read_until(CHOOSE)
        await term.cmd("Firmware management", CHOOSE)
        return await term.cmd("Show upgrade log", CHOOSE)
    finally:
        await term.close()


def test_the_core_stays_down_ssh_shows_the_upgrade_log_until_reimaged(lab_runner, tmp_path):
    lab = lab_runner(_profile())
    _upgrade_into_rescue(lab, tmp_path)
    port = lab.endpoint("sps-1")["ssh"]["port"]
    log = lab.call(_upgrade_log(port))
    assert "Upgrade to 7.0.2.1 failed: configuration conversion failed" in log
    assert "SSH access enabled on every active interface" in log
    lab.run(lambda: lab.lab.power("sps-1", "cycle"))          # a power cycle does not help
    lab.wait_until(lambda lab: lab.journal.select("sps-1", "state")[-1]["state"] == "rescue")
    reimaged = httpx.post(f"{lab.lab.control.url}/api/devices/sps-1/reimage", json={"version": "7.0.2.1"})
    assert reimaged.status_code == 200, reimaged.text
    lab.wait_for_state("sps-1", "online")
    https = lab.endpoint("sps-1")["https"]
    with httpx.Client(base_url=https["url"], verify=False) as api:
        api.get("/api/authentication", auth=(https["username"], https["password"]))
        assert api.get("/api/info").json()["body"]["firmware_version"] == "7.0.2.1"


def test_in_sealed_mode_not_even_ssh_opens(lab_runner, tmp_path):
    lab = lab_runner(_profile(sealed=True))
    _upgrade_into_rescue(lab, tmp_path)
    port = lab.endpoint("sps-1")["ssh"]["port"]
    with pytest.raises(OSError):
        lab.call(_upgrade_log(port))
    lab.assert_event("console.log", "sps-1", line=
                     "Reverting failed: the core firmware cannot start. Network interfaces initialized with the "
                     "configured addresses; SSH access stays disabled (sealed mode). Contact Support.")

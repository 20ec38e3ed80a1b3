"""Boot and core firmware, and the upgrade test's tainted-files check (sps.md
1, 4.4, 4.7): a firmware file changed from the core shell over SSH (or one a
profile seeds) fails the test with the finding and shows in
`/api/health_status`; files under /root do not count. Version details shows
both firmwares' versions. Over real SSH (asyncssh) and HTTPS (httpx), on
virtual time."""

from __future__ import annotations

import asyncssh
import httpx

from simulator.kinds.sps.packages import make_iso
from tests.conftest import Terminal
from tests.kinds.sps.conftest import logged_in

CHOOSE = r"Select an option: $"
SHELL = r"root@sps-1:~# $"


def _profile(**options) -> dict:
    return {"lab": "tainted", "devices": [{"name": "sps-1", "kind": "sps", "model": "T-4", "version": "6.0.3",
                                           **options}]}


def _test_new_firmware(api: httpx.Client, tmp_path) -> httpx.Response:
    iso = make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path)
    slot = api.post("/api/upload/firmware", content=iso.read_bytes(),
                    headers={"Content-Type": "application/x-iso9660-image"}).json()["key"]
    return api.post("/api/firmware/test", json={"slot_id": int(slot)})


async def _core_shell(port: int, *lines: str) -> None:
    conn = await asyncssh.connect("127.0.0.1", port, username="root", password="Admin123", known_hosts=None)
    term = Terminal(conn, await conn.create_process(term_type="vt100"))
    try:
        await term.read_until(CHOOSE)
        await term.cmd("Shells", CHOOSE)
        await term.cmd("Core shell", SHELL)
        for line in lines:
            await term.cmd(line, r"root@sps-1:[^#]*# $")
    finally:
        await term.close()


def test_a_file_changed_in_the_core_shell_fails_the_upgrade_test(lab_runner, tmp_path):
    lab = lab_runner(_profile())
    port = lab.endpoint("sps-1")["ssh"]["port"]
    lab.call(_core_shell(port, "echo notes > /root/notes.txt", "touch /root/iso.part"))
    with logged_in(lab) as api:
        firmware = api.get("/api/health_status").json()["health_status"]["firmware"]
        assert firmware == {"tainted_files": {"boot": [], "core": [], "ha_other": []},
                            "integrity": {"boot": "OK", "core": "OK"}}

        lab.call(_core_shell(port, "echo 'PermitRootLogin yes' >> /etc/ssh_config_local", "cd /usr",
                             "touch local.conf"))
        failed = _test_new_firmware(api, tmp_path)
        assert failed.status_code == 400 and failed.json()["error"]["type"] == "FirmwareTestFailed"
        assert failed.json()["error"]["details"]["message"] == (
            "Tainted firmware: manually modified files in the core firmware: /etc/ssh_config_local, /usr/local.conf")
        firmware = api.get("/api/health_status").json()["health_status"]["firmware"]
        assert firmware["tainted_files"]["core"] == ["/etc/ssh_config_local", "/usr/local.conf"]
        assert firmware["integrity"] == {"boot": "OK", "core": "CORRUPTED"}
        upgrade = api.post("/api/firmware/upgrade", json={"slot_id": 2})
        assert upgrade.json()["error"]["type"] == "FirmwareTestFailed"


def test_a_profile_seeds_tainted_boot_files_and_a_reimage_clears_them(lab_runner, tmp_path):
    lab = lab_runner(_profile(tainted_files={"boot": ["/boot/grub/grub.cfg"]}))
    with logged_in(lab) as api:
        failed = _test_new_firmware(api, tmp_path)
        assert failed.json()["error"]["details"]["message"] == (
            "Tainted firmware: manually modified files in the boot firmware: /boot/grub/grub.cfg")
        assert api.get("/api/health_status").json()["health_status"]["firmware"]["integrity"] == {
            "boot": "CORRUPTED", "core": "OK"}
    reimaged = httpx.post(f"{lab.lab.control.url}/api/devices/sps-1/reimage", json={})
    assert reimaged.status_code == 200, reimaged.text
    lab.wait_for_state("sps-1", "online")
    with logged_in(lab) as api:
        assert api.get("/api/health_status").json()["health_status"]["firmware"]["integrity"] == {
            "boot": "OK", "core": "OK"}


def test_version_details_shows_the_boot_and_the_core_firmware(lab_runner):
    lab = lab_runner("sps-standalone")
    https = lab.endpoint("sps-1")["https"]
    with httpx.Client(base_url=https["url"], verify=False) as web:
        web.post("/login", data={"username": https["username"], "password": https["password"]})
        page = web.get("/basic/system/version").text
    assert '<td id="boot-firmware-version">6.0.3 LTS</td>' in page
    assert '<td id="core-firmware-version">6.0.3 LTS</td>' in page

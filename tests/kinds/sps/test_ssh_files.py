"""Files over root's SSH (sps.md 5.1-5.3): the console menu's *Create support
bundle* writes a zip root downloads by SFTP; an ISO copied to /root by SFTP
(paramiko, asyncssh) or OpenSSH scp is installed from the core shell with
`firmware-install` into a free slot, which REST then lists (and an HA master
replicates to its slave); a corrupt or unsigned ISO changes nothing; an
upload cut short leaves no file; uploads are bounded by the node's free
storage. Real SSH and HTTPS, virtual time."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile

import asyncssh
import httpx
import paramiko
import pytest

from simulator.kinds.sps.packages import make_iso
from simulator.pytest_plugin import Sim
from tests.conftest import Terminal

CHOOSE = r"Select an option: $"
ISO = "sps-7.0.2.1-lts-firmware.iso"


def _profile(**options) -> dict:
    return {"lab": "files", "devices": [{"name": "sps-1", "kind": "sps", "model": "T-4", "version": "6.0.3",
                                         **options}]}


async def _connect(port: int) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect("127.0.0.1", port, username="root", password="Admin123", known_hosts=None)


async def _menu(port: int, *choices: str) -> str:
    """Walk the console menu; what the last choice printed."""
    conn = await _connect(port)
    term = Terminal(conn, await conn.create_process(term_type="vt100"))
    try:
        out = await term.read_until(CHOOSE)
        for choice in choices:
            out = await term.cmd(choice, CHOOSE)
        return out
    finally:
        await term.close()


async def _core_shell(port: int, line: str, host: str = "sps-1") -> str:
    conn = await _connect(port)
    term = Terminal(conn, await conn.create_process(term_type="vt100"))
    shell = rf"root@{host}:~# $"
    try:
        await term.read_until(CHOOSE)
        await term.cmd("Shells", CHOOSE)
        await term.cmd("Core shell", shell)
        return await term.cmd(line, shell)
    finally:
        await term.close()


def _slots(lab) -> list[dict]:
    https = lab.endpoint("sps-1")["https"]
    with httpx.Client(base_url=https["url"], verify=False) as api:
        assert api.get("/api/authentication", auth=(https["username"], https["password"])).status_code == 200
        return [item["body"] for item in api.get("/api/firmware/slots").json()["items"]]


def _paramiko_put(port: int, local, remote: str) -> None:
    with paramiko.Transport(("127.0.0.1", port)) as transport:
        transport.connect(username="root", password="Admin123")
        sftp = paramiko.SFTPClient.from_transport(transport)
        assert sftp is not None
        sftp.put(str(local), remote)
        sftp.close()


def test_create_support_bundle_then_download_it_by_sftp(lab_runner):
    lab = lab_runner(_profile())
    port = lab.endpoint("sps-1")["ssh"]["port"]
    out = lab.call(_menu(port, "Create support bundle"))
    assert "Creating the support bundle, please wait..." in out
    path = re.search(r"saved as (/root/debug_info-sps-1\d{12}\.zip)\.", out)
    assert path, out
    assert f"scp root@sps-1:{path[1]} ." in out

    async def download() -> bytes:
        async with await _connect(port) as conn, conn.start_sftp_client() as sftp:
            assert path[1].rsplit("/", 1)[1] in await sftp.listdir("/root")
            async with sftp.open(path[1], "rb") as remote:
                return bytes(await remote.read())

    archive = zipfile.ZipFile(io.BytesIO(lab.call(download())))
    top = path[1].rsplit("/", 1)[1].removesuffix(".zip")
    names = set(archive.namelist())
    assert names == {f"{top}/{m}" for m in ("var/log/messages", "version.txt", "firmware/slots.json",
                                             "ha/status.json", "health_status.json")}
    version = archive.read(f"{top}/version.txt").decode()
    assert "Safeguard for Privileged Sessions 6.0.3 LTS" in version and "Model: T-4" in version
    assert "Core firmware version: 6.0.3 LTS" in version
    slots = json.loads(archive.read(f"{top}/firmware/slots.json"))["slots"]
    assert slots == {"1": {"version": "6.0.3", "current": True, "after_reboot": True}}
    assert json.loads(archive.read(f"{top}/ha/status.json"))["status"] == "Standalone"
    assert "Admin123" not in "".join(archive.read(n).decode() for n in names)    # no passwords in a bundle


def test_iso_by_sftp_installed_from_the_core_shell_shows_in_rest(lab_runner, tmp_path):
    lab = lab_runner(_profile())
    port = lab.endpoint("sps-1")["ssh"]["port"]
    _paramiko_put(port, make_iso(ISO, tmp_path), f"/root/{ISO}")
    assert "Usage: firmware-install ISO_FILE" in lab.call(_core_shell(port, "firmware-install"))
    assert "firmware-install: nothing.iso: No such file or directory" in lab.call(
        _core_shell(port, "firmware-install nothing.iso"))
    out = lab.call(_core_shell(port, f"firmware-install {ISO}"))
    assert f"Installing firmware from /root/{ISO}..." in out
    assert "Firmware 7.0.2.1 LTS was installed into slot 2." in out
    slots = _slots(lab)
    assert slots[1] == {"after_reboot": False, "current": False, "version": "7.0.2.1",
                        "upgrade_notes": slots[1]["upgrade_notes"], "upgrade_news": slots[1]["upgrade_news"]}
    assert "7.0.2.1" in slots[1]["upgrade_notes"]
    lab.assert_event("firmware", "sps-1", action="uploaded", slot=2, version="7.0.2.1")


def test_an_iso_installed_on_the_ha_master_reaches_the_slave(lab_runner, tmp_path):
    lab = lab_runner("sps-ha")
    port = lab.endpoint("sps-a")["ssh"]["port"]
    _paramiko_put(port, make_iso(ISO, tmp_path), f"/root/{ISO}")
    assert "into slot 2" in lab.call(_core_shell(port, f"firmware-install {ISO}", host="sps-a"))
    lab.wait_until(lambda lab: bool(Sim.events(lab, "firmware", "sps-b", action="replicated")))
    shown = lab.call(_menu(lab.endpoint("sps-b")["ssh"]["port"], "Firmware management", "Show firmwares"))
    assert "2    7.0.2.1" in shown                     # the slave's console menu lists the replicated slot


@pytest.mark.parametrize("kind,message", [
    ("corrupt", "The uploaded file is not a valid SPS firmware image (it is damaged or incomplete)."),
    ("unsigned", "The uploaded file is not a valid SPS firmware image (signature check failed).")])
def test_a_corrupt_or_unsigned_iso_changes_nothing(lab_runner, tmp_path, kind, message):
    lab = lab_runner(_profile())
    port = lab.endpoint("sps-1")["ssh"]["port"]
    before = _slots(lab)
    iso = make_iso(ISO, tmp_path, corrupt=kind == "corrupt", unsigned=kind == "unsigned")

    async def upload() -> None:
        async with await _connect(port) as conn, conn.start_sftp_client() as sftp:
            await sftp.put(str(iso), f"/root/{ISO}")

    lab.call(upload())
    out = lab.call(_core_shell(port, f"firmware-install /root/{ISO}"))
    assert message in out and "was installed" not in out
    assert _slots(lab) == before


def test_an_upload_cut_short_leaves_nothing_and_uploads_are_bounded(lab_runner):
    lab = lab_runner(_profile(free_storage_mb=1))
    port = lab.endpoint("sps-1")["ssh"]["port"]

    async def cut_short() -> list[str]:
        conn = await _connect(port)
        sftp = await conn.start_sftp_client()
        remote = await sftp.open(f"/root/{ISO}", "wb")
        await remote.write(b"x" * 4096)
        conn.abort()                              # the client dies mid-transfer
        async with await _connect(port) as again, again.start_sftp_client() as sftp2:
            return [n for n in await sftp2.listdir("/root") if not n.startswith(".")]

    assert lab.call(cut_short()) == []              # the partial file, if not yet removed, is hidden
    assert lab.call(_core_shell(port, "ls /root")).splitlines()[1:] == ["root@sps-1:~# "]

    async def too_big() -> None:
        async with await _connect(port) as conn, conn.start_sftp_client() as sftp:
            async with sftp.open("/root/big.iso", "wb") as remote:
                await remote.write(b"x" * (2 << 20))

    with pytest.raises(asyncssh.SFTPFailure, match="No space left on device"):
        lab.call(too_big())


def test_openssh_scp_then_firmware_install(lab_runner, tmp_path):
    if not shutil.which("scp") or not shutil.which("sshpass"):
        pytest.skip("OpenSSH scp or sshpass not installed")
    lab = lab_runner(_profile())
    ssh = lab.endpoint("sps-1")["ssh"]
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    iso = make_iso(ISO, tmp_path)
    for mode, name in ((["-O"], "legacy.iso"), ([], ISO)):   # the scp protocol, then SFTP underneath (OpenSSH 9)
        out = subprocess.run(["sshpass", "-p", "Admin123", "scp", *mode, *opts, "-P", str(ssh["port"]),
                              str(iso), f"root@127.0.0.1:/root/{name}"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, (mode, out.stderr)
    assert "into slot 2" in lab.call(_core_shell(ssh["port"], "firmware-install legacy.iso"))
    assert "into slot 3" in lab.call(_core_shell(ssh["port"], f"firmware-install {ISO}"))
    assert [s.get("version") for s in _slots(lab)] == ["6.0.3", "7.0.2.1", "7.0.2.1", None, None]

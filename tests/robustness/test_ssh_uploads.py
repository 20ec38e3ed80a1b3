"""Item 3 of issue 12 (SFTP and SCP): an upload into the device's upload
folder lands under a temporary name and becomes the file only when the
client closes it while still connected; an SFTP upload cut off after a third,
or an scp killed mid-way (its input ends, or its connection drops), leaves
the device's package as it was and no file behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from simulator.kinds.ftd.files import updates_dir
from simulator.lab import Lab
from simulator.surfaces.ssh import server
from simulator.transfer import is_partial
from tests.conftest import connect, ssh_port, upload

OLD = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
NEW = "Cisco_FTD_Upgrade-7.6.1-1.sh.REL.tar"


def folder(lab) -> Path:
    return updates_dir(lab.ssh.endpoints["ftd-1"].fs_root)


def aborted(lab) -> list[str]:
    return [e["filename"] for e in lab.journal.select("ftd-1", "upload") if e["action"] == "aborted"]


async def test_an_sftp_upload_cut_off_changes_nothing(lab, packages):
    port = ssh_port(lab)
    await upload(port, packages(OLD))
    data = packages(NEW).read_bytes()
    conn = await connect(port)
    async with conn.start_sftp_client() as sftp:
        f = await sftp.open(f"/var/sf/updates/{NEW}", "wb")
        await f.write(data[:len(data) // 3])
        (partial,) = [p for p in folder(lab).iterdir() if p.name != OLD]
        assert is_partial(partial) and partial.name.startswith(f".{NEW}.")   # a lab restart removes it
        conn.abort()
    await lab.settle()
    await asyncio.sleep(0.1)
    assert lab.devices["ftd-1"].package.filename == OLD
    assert sorted(p.name for p in folder(lab).iterdir()) == [OLD] and aborted(lab) == [NEW]


async def scp_to(port: int, name: str, data: bytes, send: int, end: str) -> None:
    """The scp protocol by hand (`scp -t`), sending `send` of the file's bytes, then
    (`end`) the rest and the closing \\0, or an end of input (scp killed), or a dropped connection."""
    conn = await connect(port)
    proc = await conn.create_process(f"scp -t /var/sf/updates/{name}", encoding=None)
    assert await proc.stdout.read(1) == b"\0"
    proc.stdin.write(f"C0644 {len(data)} {name}\n".encode())
    assert await proc.stdout.read(1) == b"\0"
    proc.stdin.write(data[:send])
    if end == "complete":
        proc.stdin.write(data[send:] + b"\0")
        assert await proc.stdout.read(1) == b"\0"
        proc.stdin.write_eof()
        await proc.wait_closed()
        conn.close()
    elif end == "eof":
        await asyncio.sleep(0.05)
        proc.stdin.write_eof()
        await proc.wait_closed()
        conn.close()
    else:
        await asyncio.sleep(0.05)
        conn.abort()
    await asyncio.sleep(0.1)


async def test_an_scp_killed_midway_changes_nothing(lab, packages):
    port = ssh_port(lab)
    await upload(port, packages(OLD))
    data = packages(NEW).read_bytes()
    for end in ("eof", "drop"):
        await scp_to(port, NEW, data, len(data) // 3, end)
        assert lab.devices["ftd-1"].package.filename == OLD
        assert sorted(p.name for p in folder(lab).iterdir()) == [OLD]
    assert aborted(lab) == [NEW, NEW]
    await scp_to(port, NEW, data, len(data) // 3, "complete")            # the same, sent whole
    assert lab.devices["ftd-1"].package.filename == NEW
    assert sorted(p.name for p in folder(lab).iterdir()) == [NEW]


async def test_a_write_past_the_limit_fails_as_a_full_disk_and_leaves_nothing(lab, packages, monkeypatch):
    """A sparse write far out (one byte at 256 MB) or a file bigger than the
    limit: the device's own "No space left on device", no file, the session goes on."""
    monkeypatch.setattr(server, "WRITE_MAX", 1024 * 1024)
    conn = await connect(ssh_port(lab))
    async with conn.start_sftp_client() as sftp:
        for path in ("/var/sf/sparse.bin", f"/var/sf/updates/{NEW}"):
            async with sftp.open(path, "wb") as f:
                with pytest.raises(asyncssh.SFTPFailure, match="No space left on device"):
                    await f.write(b"x", 256 * 1024 * 1024)
                await f.write(b"x" * 1024, 0)        # within the limit: fine
        assert (await sftp.stat("/var/sf/sparse.bin")).size == 1024
    conn.close()
    await upload(ssh_port(lab), packages(OLD))     # the connection and the device go on
    assert lab.devices["ftd-1"].package.filename == OLD


async def test_an_asa_upload_bigger_than_disk0_free_space_is_refused(tmp_path):
    async with Lab("asa-ha", state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        unit = lab.devices["asa-a"]
        unit.disk.total = unit.disk.used + 64 * 1024        # a disk0: nearly full
        free = unit.disk.free
        big = tmp_path / "big.bin"
        big.write_bytes(b"x" * (free + 1))
        conn = await asyncssh.connect("127.0.0.1", lab.ssh.endpoints["asa-a"].port, username=unit.username,
                                      password=unit.password, known_hosts=None)
        with pytest.raises(asyncssh.SFTPFailure, match="No space left on device"):       # SCP, as to a real ASA
            await asyncssh.scp(str(big), (conn, "disk0:/big.bin"))
        conn.close()
        await asyncio.sleep(0.1)
        assert "big.bin" in unit.disk.entries          # what fitted (nothing) was written, as on a full disk
        assert unit.disk.entries["big.bin"].size == 0 and unit.disk.free == free
        assert not [p for p in lab.store.device_fs("asa-a").iterdir() if is_partial(p)]

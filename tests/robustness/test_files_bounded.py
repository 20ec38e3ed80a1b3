"""Item 4 of issue 12 (outside the expert shell): reading a device file system's
files never loads a sparse or huge file whole. Package and bundle inspection
read a few blocks (a sparse 8 GB file, tar members or extension headers that
declare gigabytes), an ASA's disk0: files are hashed in blocks and a file
bigger than disk0: itself is not read at all."""

from __future__ import annotations

import hashlib
import json
import tarfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from simulator.kinds.asa.worker import inspect
from simulator.kinds.ftd.packages import inspect_package
from simulator.kinds.fxos.bundles import inspect_fxos_bundle
from simulator.lab import Lab
from tests.conftest import connect, ssh_port

PACKAGE = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
BUNDLE = "fxos-k9.2.14.1.131.SPA"
GB = 1024 ** 3
MEMORY = 1024 * 1024             # the most one inspection may hold (traced peak)


def traced(read: Callable[[], Any]) -> tuple[Any, int, float]:
    """What `read()` returns, the peak of memory traced while it ran, and its seconds."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        return read(), tracemalloc.get_traced_memory()[1], time.monotonic() - started
    finally:
        tracemalloc.stop()


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of `size` bytes that is `head` then a hole (no disk space used)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size)
    return path


def header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(tarfile.GNU_FORMAT)          # base-256 sizes past 8 GB


def member(name: str, data: bytes) -> bytes:
    return header(name, len(data)) + data + bytes(-len(data) % 512)


def crafted(tmp: Path, name: str) -> list[Path]:
    """Archives a reader that loads members whole would choke on: an 8 GB
    hole, a 1 GB extension header, an 8 GB manifest, a payload declared as
    8 GB, a member of negative size (read to the end by a careless reader)."""
    manifest = json.dumps({"filename": name, "payload": {"name": "payload", "bytes": 8 * GB,
                                                         "sha256": hashlib.sha256().hexdigest()}}).encode()
    return [sparse(tmp / "hole" / name, 8 * GB),
            sparse(tmp / "pax" / name, 2 * GB, header("././@PaxHeader", GB, tarfile.XHDTYPE)),
            sparse(tmp / "manifest" / name, 9 * GB, header("manifest.json", 8 * GB)),
            sparse(tmp / "payload" / name, 9 * GB, member("manifest.json", manifest) + header("payload", 8 * GB)),
            sparse(tmp / "negative" / name, 8 * GB, header("manifest.json", -1))]


@pytest.mark.parametrize("name, inspect_file", [(PACKAGE, inspect_package), (BUNDLE, inspect_fxos_bundle)])
def test_inspecting_a_sparse_or_crafted_package_reads_a_few_blocks(tmp_path, name, inspect_file):
    for path in crafted(tmp_path, name):
        info, peak, seconds = traced(lambda path=path: inspect_file(path))
        assert info.problem == "corrupt" and peak < MEMORY and seconds < 1, (path, peak, seconds)


def test_an_asa_file_is_hashed_in_blocks_and_one_bigger_than_disk0_is_not_read(tmp_path):
    path = sparse(tmp_path / "big.bin", 256 * 1024 * 1024, b"x")
    (size, header_line, md5), peak, _ = traced(lambda: inspect(path))
    assert (size, header_line) == (256 * 1024 * 1024, None) and len(md5) == 32 and peak < MEMORY
    huge = sparse(tmp_path / "huge.bin", 64 * GB)
    with pytest.raises(ValueError):
        traced(lambda: inspect(huge, limit=8 * GB))


async def test_sparse_uploads_over_sftp_cost_a_few_blocks(tmp_path):
    """The campaign's case: one byte written at offset 1 GB over SFTP (an FTD; an ASA has no SFTP)."""
    async with Lab("ftd-standalone", state_dir=tmp_path / "ftd", virtual_time=True, seed=7) as lab:
        async with await connect(ssh_port(lab)) as conn, conn.start_sftp_client() as sftp:
            async def write() -> None:
                async with sftp.open(f"/var/sf/updates/{PACKAGE}", "wb") as fh:
                    await fh.write(b"x", GB)
            tracemalloc.start()
            await write()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        package = lab.devices["ftd-1"].package
        assert package is not None and package.problem == "corrupt" and peak < 4 * MEMORY
    async with Lab("asa-ha", state_dir=tmp_path / "asa", virtual_time=True, seed=7) as lab:
        async with await connect(ssh_port(lab, "asa-a")) as conn:      # an ASA serves SCP only: no SFTP to seek with
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.start_sftp_client()
        assert lab.devices["asa-a"].disk.file("sparse.bin") is None


async def test_a_file_bigger_than_disk0_found_at_start_is_removed_unread(tmp_path):
    state = tmp_path / "state"
    async with Lab("asa-ha", state_dir=state, virtual_time=True, seed=7) as lab:
        disk0 = lab.store.device_fs("asa-a")
    sparse(disk0 / "huge.bin", 64 * GB)                # made while the lab was stopped
    started = time.monotonic()
    async with Lab("asa-ha", state_dir=state, virtual_time=True) as lab:
        assert lab.devices["asa-a"].disk.file("huge.bin") is None and not (disk0 / "huge.bin").exists()
    assert time.monotonic() - started < 5

"""Bounded transfers (issue 12): a server that streams forever, or an SCP/SFTP
source that declares 10 GB, costs a few blocks of memory and stops at the
device's free space with the device's own "no space" error, leaving no file."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
from aiohttp import web

from simulator.lab import Lab
from simulator.transfer import BLOCK, Source, TransferError, fetch
from tests.conftest import connect, ssh_port
from tests.kinds.asa.test_asa import _HOST_KEY, _ScpServer

HUGE = 10 * 1024 ** 3            # what the SCP/SFTP server declares
MEMORY = 2 * 1024 * 1024         # the most a transfer may hold (traced peak)


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[tuple[int, int]]:
    """(http port, ssh port): HTTP `/endless` streams zeros without end, SCP/SFTP
    serve `/huge.bin`, a sparse 10 GB file (user files / secret)."""
    root = tmp_path / "served"
    root.mkdir()
    with (root / "huge.bin").open("wb") as fh:
        fh.truncate(HUGE)

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        block = bytes(BLOCK)
        try:
            while True:
                await response.write(block)
        except ConnectionError:             # the client stopped reading
            return response

    app = web.Application()
    app.router.add_get("/endless", endless)
    app.router.add_get("/endless/{name}", endless)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    ssh = await asyncssh.create_server(_ScpServer, "127.0.0.1", 0, server_host_keys=[_HOST_KEY], allow_scp=True,
                                       sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()))
    yield runner.addresses[0][1], ssh.sockets[0].getsockname()[1]
    ssh.close()
    await runner.cleanup()


async def _traced(work) -> tuple[TransferError, int]:
    """The error `work` fails with and the peak of memory traced while it ran."""
    tracemalloc.start()
    try:
        with pytest.raises(TransferError) as failed:
            await work
        return failed.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_fetch_stops_at_its_limit_holding_a_few_blocks(servers, tmp_path):
    http, ssh = servers
    limit = 4 * 1024 * 1024
    for source in (Source("http", "/endless", "127.0.0.1", http),
                   Source("scp", "/huge.bin", "127.0.0.1", ssh, "files", "secret"),
                   Source("sftp", "/huge.bin", "127.0.0.1", ssh, "files", "secret")):
        target = tmp_path / "part"
        started = time.monotonic()
        error, peak = await _traced(fetch(source, target, limit=limit))
        assert error.cause == "too_big" and peak < MEMORY, (source, peak)
        assert time.monotonic() - started < 10
        assert not target.exists() or target.stat().st_size <= limit + BLOCK
        target.unlink(missing_ok=True)


async def test_an_asa_copy_stops_at_free_space_with_its_own_error(servers, tmp_path):
    http, ssh = servers
    async with Lab("asa-ha", state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        unit, disk0 = lab.devices["asa-a"], lab.store.device_fs("asa-a")
        unit.disk.total = unit.disk.used + 2 * 1024 * 1024          # 2 MB free
        async with await connect(ssh_port(lab, "asa-a")) as conn:
            for source in (f"http://127.0.0.1:{http}/endless", f"scp://files:secret@127.0.0.1:{ssh}/huge.bin"):
                out = (await conn.run(f"copy /noconfirm {source} disk0:/big.bin")).stdout
                assert "%Error writing disk0:/big.bin (No space left on device)" in out, out
                assert unit.disk.file("big.bin") is None
                assert not [p.name for p in disk0.iterdir() if "big" in p.name]


async def test_an_fxos_download_stops_at_free_space_with_its_own_error(servers, tmp_path, monkeypatch):
    http, ssh = servers
    async with Lab("fxos-4100-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=5) as lab:
        chassis = lab.devices["fpr4k-1"]
        monkeypatch.setattr(chassis, "image_store_free_kb", lambda: 2048)       # 2 MB free
        images = lab.store.device_fs(chassis.name) / "workspace/fxos/images"
        for url in (f"http://127.0.0.1:{http}/endless/fxos-k9.2.14.1.131.SPA",
                    f"scp://files:secret@127.0.0.1:{ssh}/huge.bin"):
            task = chassis.start_download(url)
            await lab.settle()
            assert await lab.clock.run_until(lambda task=task: task.state != "Downloading")
            assert (task.state, task.error_code) == ("Failed", "ERR-DNLD-no-space"), task.error_text
            assert "2048 KB free" in task.error_text
            assert list(images.iterdir()) == []

"""The shared downloader (simulator/transfer.py) that the ASA's `copy` and the
FXOS chassis' downloads use: what it fetches, how it fails (one cause, each
kind's own words), and its bounded reads."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest
from aiohttp import web

from simulator.kinds.asa.facts import say
from simulator.kinds.fxos.model import DownloadTask
from simulator.kinds.fxos.transfer import _worded
from simulator.transfer import LocalFiles, Source, TransferError, Transfers, fetch
from tests.kinds.asa.test_asa import _HOST_KEY, _ScpServer


@pytest.fixture
async def servers(tmp_path):
    """An HTTP and an SSH (SCP/SFTP) server on loopback over the same folder: (folder, http port, ssh port)."""
    folder = tmp_path / "pub"
    folder.mkdir()
    (folder / "image.bin").write_bytes(b"x" * 200_000)
    app = web.Application()
    app.router.add_static("/pub", folder)

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    app.router.add_get("/status/{code}", status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ssh = await asyncssh.create_server(_ScpServer, "127.0.0.1", 0, server_host_keys=[_HOST_KEY], allow_scp=True,
                                       sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(folder).encode()))
    yield folder, runner.addresses[0][1], ssh.sockets[0].getsockname()[1]
    ssh.close()
    await runner.cleanup()


async def _cause(source: Source, target, **options) -> TransferError:
    with pytest.raises(TransferError) as failed:
        await fetch(source, target, **options)
    return failed.value


async def test_every_protocol_fetches_the_same_bytes(servers, tmp_path):
    folder, http, ssh = servers
    sources = [Source("http", "/pub/image.bin", "127.0.0.1", http), Source("file", str(folder / "image.bin")),
               Source("scp", "/image.bin", "127.0.0.1", ssh, "files", "secret"),
               Source("sftp", "/image.bin", "127.0.0.1", ssh, "files", "secret")]
    local = LocalFiles(tmp_path / "device", imports=folder)
    for i, source in enumerate(sources):
        assert await fetch(source, tmp_path / f"got{i}", local=local) == 200_000, source
        assert (tmp_path / f"got{i}").read_bytes() == (folder / "image.bin").read_bytes()


async def test_failures_have_one_cause_for_every_kind(servers, tmp_path):
    folder, http, ssh = servers
    target = tmp_path / "part"
    assert (await _cause(Source("http", "/pub/none.bin", "127.0.0.1", http), target)).cause == "missing"
    assert (await _cause(Source("http", "/status/403", "127.0.0.1", http), target)).cause == "auth"
    broken = await _cause(Source("http", "/status/500", "127.0.0.1", http), target)
    assert broken.cause == "transfer" and broken.values["reason"] == "HTTP 500 Internal Server Error"
    refused = await _cause(Source("http", "/x", "127.0.0.1", 1), target)
    assert (refused.cause, refused.values["reason"], refused.values["port"]) == ("unreachable", "Connection refused", 1)
    assert (await _cause(Source("scp", "/none.bin", "127.0.0.1", ssh, "files", "secret"), target)).cause == "missing"
    assert (await _cause(Source("sftp", "/image.bin", "127.0.0.1", ssh, "files", "wrong"), target)).cause == "auth"
    gone = await _cause(Source("scp", "/x", "127.0.0.1", 1, "files", "secret"), target)
    assert (gone.cause, gone.values["reason"]) == ("unreachable", "Connection refused")
    assert (await _cause(Source("file", str(folder / "none.bin")), target)).cause == "missing"


async def test_reads_are_bounded(servers, tmp_path):
    folder, http, ssh = servers
    for source in (Source("http", "/pub/image.bin", "127.0.0.1", http), Source("file", str(folder / "image.bin")),
                   Source("sftp", "/image.bin", "127.0.0.1", ssh, "files", "secret"),
                   Source("scp", "/image.bin", "127.0.0.1", ssh, "files", "secret")):
        failed = await _cause(source, tmp_path / "part", limit=100_000, local=LocalFiles(tmp_path, imports=folder))
        assert failed.cause == "too_big", source


def test_each_kind_words_a_cause_its_own_way():
    refused = TransferError("unreachable", reason="Connection refused", port=22)
    assert say("copy", "open_failed", url="scp://u@h/x.bin", reason=say("copy", "reasons", "unreachable",
                                                                        reason="Connection refused")) \
        == "%Error opening scp://u@h/x.bin (Connection refused)"
    task = DownloadTask("fxos-k9.2.14.1.131.SPA", "scp", "10.0.0.1", 0, "u", "/x.SPA", "scp://u@10.0.0.1/x.SPA", 0.0)
    worded = _worded(task, refused)
    assert (worded.cause, worded.values["detail"]) == ("unreachable",
                                                       "ssh: connect to host 10.0.0.1 port 22: Connection refused")
    assert _worded(task, TransferError("denied")).values["detail"] == "/x.SPA: Permission denied"
    assert say("copy", "reasons", "denied") == "Permission denied"


async def test_transfers_settle_when_every_task_has_reported():
    transfers, done, first = Transfers(), [], asyncio.Event()

    async def work(name: str, after: asyncio.Event | None) -> None:
        if after is not None:
            await after.wait()
        done.append(name)
        first.set()

    transfers.spawn(work("second", first))
    transfers.spawn(work("first", None))
    await transfers.settled()
    assert done == ["first", "second"]


def test_a_source_reads_back_from_its_url():
    source = Source("scp", "/images/a b.bin", "10.0.0.1", 2222, "user@x", "p:a/ss")
    assert Source.parse(source.url()) == source
    assert Source.parse("http://10.0.0.1/x.bin") == Source("http", "/x.bin", "10.0.0.1")
    assert Source.parse("/tmp/x.bin") == Source("file", "/tmp/x.bin")
    assert Source.parse("file:///tmp/x%20y.bin") == Source("file", "/tmp/x y.bin")

"""Fixtures of the ASA tests."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from simulator.kinds.asa.images import write_image
from simulator.kinds.asa.versions import ImageName
from tests.kinds.asa.test_asa import Rig


@pytest.fixture
async def images(tmp_path):
    """An HTTP server on loopback serving ASA images made on demand: url(name) -> URL."""
    folder = tmp_path / "www"
    folder.mkdir()
    app = web.Application()
    app.router.add_static("/", folder)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def url(name: str, version: str | None = None) -> str:
        image = ImageName.parse(name)
        write_image(folder / name, version or (image.version if image else "9.0(1)"), size=64 * 1024)
        return f"http://127.0.0.1:{port}/{name}"

    yield url
    await runner.cleanup()


@pytest.fixture
async def rig(tmp_path):
    """make(**options) -> a started Rig (a failover pair with SSH), stopped at the end."""
    made: list[Rig] = []

    async def make(**options: Any) -> Rig:
        r = await Rig(tmp_path / f"rig{len(made)}", **options).start()
        made.append(r)
        return r

    yield make
    for r in made:
        await r.stop()

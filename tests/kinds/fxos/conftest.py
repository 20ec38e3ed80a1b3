"""What the FXOS tests share: a web server on loopback that serves bundles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from simulator.kinds.fxos.bundles import make_fxos_bundle

BUNDLE = "fxos-k9.2.14.1.131.SPA"


@pytest.fixture
async def web_server(tmp_path: Path) -> AsyncIterator[str]:
    """`host:port` of an HTTP server on loopback serving the 2.14 bundle under /pub."""
    make_fxos_bundle(BUNDLE, tmp_path / "www")
    app = web.Application()
    app.router.add_static("/pub", tmp_path / "www")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()

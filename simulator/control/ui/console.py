"""A device's console line in the browser: a WebSocket attached to the line
as one more client (as a telnet or SSH client of the terminal server is), so
it sees what the device prints and what it types goes to the line's program.

Output waits in a bounded buffer (the newest OUTPUT_MAX characters; a browser
that cannot keep up loses the oldest, as a slow serial client would), input
frames are cut at INPUT_MAX characters."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from aiohttp import WSMsgType, web

from simulator.control import server as api
from simulator.surfaces.console.telnet import CrNormalizer

OUTPUT_MAX = 256 * 1024
INPUT_MAX = 4096
HEARTBEAT = 30.0


class _Browser:
    """The line's view of one WebSocket: writes queue up, a sender drains them."""

    def __init__(self) -> None:
        self.pending: deque[str] = deque()
        self.size = 0
        self.ready = asyncio.Event()
        self.closed = False

    def write(self, text: str) -> None:
        if self.closed:
            raise ConnectionError("browser gone")
        self.pending.append(text)
        self.size += len(text)
        while self.size > OUTPUT_MAX and len(self.pending) > 1:
            self.size -= len(self.pending.popleft())
        self.ready.set()

    def take(self) -> str:
        text = "".join(self.pending)[-OUTPUT_MAX:]
        self.pending.clear()
        self.size = 0
        self.ready.clear()
        return text

    def close(self) -> None:
        self.closed = True
        self.ready.set()


async def _send(ws: web.WebSocketResponse, browser: _Browser) -> None:
    while not browser.closed:
        await browser.ready.wait()
        text = browser.take()
        if text:
            await ws.send_str(text)
    await ws.close()


async def bridge(request: web.Request) -> web.StreamResponse:
    lab = api.lab_of(request)
    name = request.query.get("name", "")
    if lab.console is None or name not in lab.console.endpoints:
        raise api.ApiError(404, f"no console for device {name!r} in this lab")
    line = lab.console.endpoints[name].line
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=INPUT_MAX * 4)
    await ws.prepare(request)
    browser = _Browser()
    normalizer = CrNormalizer()
    sender = asyncio.get_running_loop().create_task(_send(ws, browser))
    line.attach(browser)
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                line.feed(normalizer.feed(message.data[:INPUT_MAX]))
    finally:
        line.detach(browser)
        browser.close()
        with contextlib.suppress(Exception):
            await sender
    return ws

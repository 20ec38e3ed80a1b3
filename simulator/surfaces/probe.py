"""The traffic probe surface: a loopback TCP port per traffic monitor that
accepts connections only while traffic passes (a connection refused is a lost
probe) and answers with the monitor's counters, one JSON line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from simulator.journal import Event, Journal
from simulator.sockets import bind
from simulator.traffic import TrafficMonitor


class ProbeSurface:
    def __init__(self, journal: Journal, host: str) -> None:
        self.journal, self.host = journal, host
        self.monitors: dict[str, TrafficMonitor] = {}
        self.ports: dict[str, int] = {}
        self._servers: dict[str, asyncio.Server] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    def add(self, monitor: TrafficMonitor, port: int = 0) -> None:
        self.monitors[monitor.name] = monitor
        self.ports[monitor.name] = port

    async def start(self) -> None:
        await asyncio.gather(*(self._sync(name) for name in self.monitors))
        self._unsubscribe = self.journal.subscribe(self._on_event)

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        for name in list(self._servers):
            await self._close(name)
        for monitor in self.monitors.values():
            monitor.close()

    async def settled(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on_event(self, event: Event) -> None:
        if event["kind"] == "traffic" and event.get("monitor") in self.monitors:
            task = asyncio.get_running_loop().create_task(self._sync(event["monitor"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _sync(self, name: str) -> None:
        up = self.monitors[name].up
        if up and name not in self._servers:
            sock = bind(self.host, self.ports[name])
            self.ports[name] = sock.getsockname()[1]
            self._servers[name] = await asyncio.start_server(partial(self._serve, name), sock=sock)
        elif not up and name in self._servers:
            await self._close(name)

    async def _close(self, name: str) -> None:
        server = self._servers.pop(name)
        server.close()
        await server.wait_closed()

    async def _serve(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._answer(name, writer)

    async def _answer(self, name: str, writer: asyncio.StreamWriter) -> None:
        writer.write((json.dumps(self.monitors[name].report()) + "\n").encode())
        try:
            await writer.drain()
        finally:
            writer.close()

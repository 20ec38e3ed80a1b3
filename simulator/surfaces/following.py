"""What the SSH, HTTPS and probe surfaces share: one listener per device (or
traffic monitor) that follows it through the journal. A listener says whether
it is in step with what it follows; when an event puts it out of step the
surface starts one task to bring it back (`sync`), and `settled()` waits for
those tasks (useful after moving virtual time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from simulator.journal import Event, Journal
from simulator.sockets import HeldPort


class Listener(Protocol):
    @property
    def in_step(self) -> bool: ...
    async def sync(self) -> None: ...


class DeviceListener:
    """One device's listener on a surface: the device it follows, the port it
    keeps for life, the device's file system. `sync` brings it in step, one
    change at a time (`_follow`)."""

    def __init__(self, device: Any, port: HeldPort, fs_root: Path) -> None:
        self.device = device
        self.held = port
        self.port = port.number
        self.fs_root = fs_root
        self._lock = asyncio.Lock()

    @property
    def in_step(self) -> bool:
        raise NotImplementedError

    async def sync(self) -> None:
        async with self._lock:
            if not self.in_step:
                await self._follow()

    async def _follow(self) -> None:
        raise NotImplementedError


class FollowingSurface:
    """Listeners kept in step with what they follow; subclasses say which listener an event concerns."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def listeners(self) -> list[Listener]:
        raise NotImplementedError

    def listener_for(self, event: Event) -> Listener | None:
        raise NotImplementedError

    async def start(self) -> None:
        await asyncio.gather(*(listener.sync() for listener in self.listeners()))
        self._unsubscribe = self.journal.subscribe(self._on_event)

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()

    async def settled(self) -> None:
        """Wait until every listener is in step."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on_event(self, event: Event) -> None:
        listener = self.listener_for(event)
        if listener is not None and not listener.in_step:
            task = asyncio.get_running_loop().create_task(listener.sync())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

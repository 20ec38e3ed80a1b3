"""What the SSH, HTTPS and probe surfaces share: one listener per device (or
traffic monitor) that follows it through the journal. A listener says whether
it is in step with what it follows; when an event puts it out of step the
surface starts one task to bring it back (`sync`), and `settled()` waits for
those tasks (useful after moving virtual time).

A listener that cannot listen on its port (a fixed port another program
holds) shows it: a `port.lost` event, its `watch.error` (the device's status
says "unreachable"), a try again every RETRY wall seconds, and `port.regained`
once it listens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from simulator.journal import Event, Journal
from simulator.sockets import HeldPort

RETRY = 1.0         # wall seconds between tries at a port another program holds


class PortWatch:
    """Whether a listener listens where it should: the error while it cannot, journalled (for
    `device`, with `about`'s fields) once when the port is lost and once when it is regained;
    `lost` schedules a retry."""

    def __init__(self, journal: Journal, device: str | None, surface: str, port: int, **about: str) -> None:
        self.journal, self.device, self.surface, self.port, self.about = journal, device, surface, port, about
        self.error: str | None = None
        self._retry: asyncio.TimerHandle | None = None     # one pending retry at most

    def lost(self, exc: OSError, retry: Callable[[], None]) -> None:
        error = exc.strerror or str(exc)
        if self.error is None:
            self.journal.emit(self.device, "port.lost", surface=self.surface, port=self.port, error=error,
                              **self.about)
        self.error = error
        if self._retry is None:
            self._retry = asyncio.get_running_loop().call_later(RETRY, self._again, retry)

    def _again(self, retry: Callable[[], None]) -> None:
        self._retry = None
        retry()

    def regained(self) -> None:
        if self.error is not None:
            self.error = None
            self.journal.emit(self.device, "port.regained", surface=self.surface, port=self.port, **self.about)


class Listener(Protocol):
    @property
    def in_step(self) -> bool: ...
    async def sync(self) -> None: ...


class DeviceListener:
    """One device's listener on a surface: the device it follows, the port it
    keeps for life, the device's file system. `sync` brings it in step, one
    change at a time (`_follow`)."""

    SURFACE = ""        # its name in `port.lost` events

    def __init__(self, surface: FollowingSurface, device: Any, port: HeldPort, fs_root: Path) -> None:
        self.surface = surface
        self.device = device
        self.held = port
        self.port = port.number
        self.fs_root = fs_root
        self.watch = PortWatch(surface.journal, device.name, self.SURFACE, port.number)
        self._lock = asyncio.Lock()

    @property
    def in_step(self) -> bool:
        raise NotImplementedError

    async def sync(self) -> None:
        async with self._lock:
            if not self.in_step:
                try:
                    await self._follow()
                except OSError as exc:
                    self.watch.lost(exc, lambda: self.surface.resync(self))
                    return
                if self.held.listening:
                    self.watch.regained()

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
        if listener is not None:
            self.resync(listener)

    def resync(self, listener: Listener) -> None:
        """Bring `listener` in step, in a task of its own (while the surface runs)."""
        if self._unsubscribe is not None and not listener.in_step:
            task = asyncio.get_running_loop().create_task(listener.sync())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

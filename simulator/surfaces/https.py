"""The HTTPS surface: one aiohttp application per API (FDM for FTDs, the
FXOS API for chassis), one listening socket per device. The device a request
is for is found from the local port it arrived on.

Each device's web server follows the device through an `Api` description:
`web_mode(device)` says whether it serves, answers 503 (shutting down, apps
starting) or refuses connections (booting, off), and `new_state(device)` makes
the API's per-device state (its login sessions...), reset whenever the device
stops serving: tokens do not survive a reboot."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from aiohttp import web

from simulator.journal import Event, Journal
from simulator.sockets import bind

Mode = Literal["serve", "unavailable", "closed"]


class ApiState(Protocol):
    def reset(self) -> None: ...


@dataclass(frozen=True)
class Api:
    """What an HTTPS surface serves and how its devices' web servers behave."""

    app_factory: Callable[[HTTPSSurface], web.Application]
    web_mode: Callable[[Any], Mode]
    new_state: Callable[[Any], ApiState]


class DeviceSite:
    """One device's HTTPS listener and its API state."""

    def __init__(self, surface: HTTPSSurface, device: Any, port: int, fs_root: Path) -> None:
        self.surface = surface
        self.device = device
        self.port = port
        self.fs_root = fs_root
        self.mode: Mode = "closed"
        self.site: web.SockSite | None = None
        self.api = surface.api.new_state(device)
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        host = self.surface.host
        return f"https://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def sync(self) -> None:
        async with self._lock:
            mode = self.surface.api.web_mode(self.device)
            if mode == self.mode:
                return
            if self.mode == "serve":
                self.api.reset()           # tokens do not survive a reboot
            if mode == "closed":
                await self._close()
            elif self.site is None:
                await self._listen()
            self.mode = mode

    async def _listen(self) -> None:
        sock = bind(self.surface.host, self.port)
        self.port = sock.getsockname()[1]
        self.site = web.SockSite(self.surface.runner, sock, ssl_context=self.surface.ssl_context)
        await self.site.start()
        self.surface.by_port[self.port] = self

    async def _close(self) -> None:
        site, self.site = self.site, None
        if site is not None:
            await site.stop()
        # Keep-alive connections die with the box.
        server = self.surface.runner.server
        for handler in list(server.connections) if server else []:
            transport = handler.transport
            if transport is not None and (transport.get_extra_info("sockname") or (None, None))[1] == self.port:
                transport.abort()


class HTTPSSurface:
    """Every device's HTTPS endpoint, kept in step with device state through the journal."""

    def __init__(self, journal: Journal, host: str, ssl_context: ssl.SSLContext, api: Api) -> None:
        self.journal = journal
        self.api = api
        self.host = host
        self.ssl_context = ssl_context
        self.sites: dict[str, DeviceSite] = {}
        self.by_port: dict[int, DeviceSite] = {}
        self.runner = web.AppRunner(api.app_factory(self), handle_signals=False, access_log=None)
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, device: Any, port: int, fs_root: Path) -> DeviceSite:
        site = DeviceSite(self, device, port, fs_root)
        self.sites[device.name] = site
        return site

    def site_for(self, request: web.BaseRequest) -> DeviceSite | None:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        return self.by_port.get(sockname[1]) if sockname else None

    async def start(self) -> None:
        await self.runner.setup()
        await asyncio.gather(*(s.sync() for s in self.sites.values()))
        self._unsubscribe = self.journal.subscribe(self._on_event)

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        for task in list(self._tasks):
            task.cancel()
        await self.runner.cleanup()

    async def settled(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on_event(self, event: Event) -> None:
        site = self.sites.get(event["device"] or "")
        if site is not None and self.api.web_mode(site.device) != site.mode:
            task = asyncio.get_running_loop().create_task(site.sync())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

"""The HTTPS surface: one aiohttp application serving every device, one
listening socket per device. The device a request is for is found from the
local port it arrived on.

Each device's web server follows the device (the reference's capture of a
real 7.6 upgrade): it serves while the device's services are up; answers 503
while the device shuts down and again while its applications start after a
boot (and until post-upgrade tasks finish); and refuses connections while
the OS boots, when off, or when the device is unusable."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from ..devices.ftd import FtdDevice
from ..journal import Event, Journal
from ..sockets import bind
from .fdm_auth import FdmSessions

Mode = Literal["serve", "unavailable", "closed"]


def web_mode(device: FtdDevice) -> Mode:
    """What the device's web server does in the device's current state."""
    job = device.job
    if device.state == "rebooting" or device.state == "booting" and device.boot_phase == "apps":
        return "unavailable"
    if device.services_up:
        post_tasks = job is not None and job.state in ("IN_PROGRESS", "CANCELLED") and job.phase == "post"
        return "unavailable" if post_tasks else "serve"
    return "closed"


class DeviceSite:
    """One device's HTTPS listener and its API sessions."""

    def __init__(self, surface: HTTPSSurface, device: FtdDevice, port: int, fs_root: Path) -> None:
        self.surface = surface
        self.device = device
        self.port = port
        self.fs_root = fs_root
        self.mode: Mode = "closed"
        self.site: web.SockSite | None = None
        self.ha_jobs: dict[str, dict[str, Any]] = {}   # HA break jobs, by id
        self.sessions = FdmSessions(device.ctx.clock.now, device.new_id, lambda: (device.username, device.password))
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        host = self.surface.host
        return f"https://{f'[{host}]' if ':' in host else host}:{self.port}"

    async def sync(self) -> None:
        async with self._lock:
            mode = web_mode(self.device)
            if mode == self.mode:
                return
            if self.mode == "serve":
                self.sessions.reset()      # tokens do not survive a reboot
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

    def __init__(self, journal: Journal, host: str, ssl_context: ssl.SSLContext,
                 app_factory: Callable[[HTTPSSurface], web.Application]) -> None:
        self.journal = journal
        self.host = host
        self.ssl_context = ssl_context
        self.sites: dict[str, DeviceSite] = {}
        self.by_port: dict[int, DeviceSite] = {}
        self.runner = web.AppRunner(app_factory(self), handle_signals=False, access_log=None)
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, device: FtdDevice, port: int, fs_root: Path) -> DeviceSite:
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
        if site is not None and web_mode(site.device) != site.mode:
            task = asyncio.get_running_loop().create_task(site.sync())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

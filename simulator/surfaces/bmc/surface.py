"""The BMC surface: a BMC per device whose profile entry (or kind) says so.
Each has its IPMI port (UDP, bound when the device joins, kept for the
lab's life); the lab has one Redfish service (HTTPS) listing them all.
A BMC answers whatever its box's state: that is what it is for."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from simulator.clock import Clock
from simulator.journal import Journal
from simulator.kinds.base import DeviceBase
from simulator.sockets import HeldPort, PortRange, bind_udp, default_range
from simulator.surfaces.bmc.ipmi import IpmiEndpoint
from simulator.surfaces.bmc.power import BoxBmc
from simulator.surfaces.bmc.redfish import ROOT, RedfishService


class BmcSurface:
    def __init__(self, journal: Journal, clock: Clock, host: str, tls: ssl.SSLContext, power: Callable[[str, str], None],
                 *, redfish_port: int = 0, ports: PortRange | None = None) -> None:
        self.journal, self.clock, self.host, self.tls, self.power = journal, clock, host, tls, power
        self.ports = ports
        self.boxes: dict[str, BoxBmc] = {}
        self.ipmi: dict[str, IpmiEndpoint] = {}
        self.redfish = RedfishService(self.boxes, str(uuid.uuid5(uuid.NAMESPACE_URL, f"simulator-redfish:{host}")))
        self._redfish_port = redfish_port
        self.held: HeldPort | None = None
        self.site: web.SockSite | None = None

    def add(self, device: DeviceBase, ipmi_port: int, username: str, password: str,
            console_line: Callable[[], Any]) -> None:
        box = BoxBmc(device, username, password, self.power, self.clock, self.journal)
        sock = bind_udp(self.host, ipmi_port) if ipmi_port else (self.ports or default_range()).bind_udp(self.host)
        self.boxes[device.name] = box
        self.ipmi[device.name] = IpmiEndpoint(box, sock, self.host, console_line)

    @property
    def redfish_url(self) -> str | None:
        if self.held is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.held.number}"

    async def start(self) -> None:
        if not self.boxes:
            return
        await asyncio.gather(*(endpoint.start() for endpoint in self.ipmi.values()))
        await self.redfish.runner.setup()
        self.held = HeldPort(self.host, self._redfish_port, self.ports)
        self.site = web.SockSite(self.redfish.runner, self.held.listen(), ssl_context=self.tls)
        await self.site.start()

    async def stop(self) -> None:
        for endpoint in self.ipmi.values():
            endpoint.stop()
        if self.site is not None:
            await self.redfish.runner.cleanup()
            self.site = None
        if self.held is not None:
            self.held.close()

    def entry(self, name: str) -> dict[str, Any] | None:
        """The endpoints file's `bmc` of a device: `{ipmi: {host, port, username, password},
        redfish: {url, system, username, password}}`."""
        endpoint = self.ipmi.get(name)
        if endpoint is None:
            return None
        entry: dict[str, Any] = {"ipmi": endpoint.entry()}
        if self.redfish_url is not None:
            entry["redfish"] = {"url": self.redfish_url, "system": f"{ROOT}/Systems/{name}",
                                **endpoint.box.entry()}
        return entry

"""The traffic probe surface: a loopback TCP port per traffic monitor that
accepts connections only while traffic passes (a connection refused is a lost
probe) and answers with the monitor's counters, one JSON line."""

from __future__ import annotations

import asyncio
import json

from simulator.journal import Event, Journal
from simulator.sockets import HeldPort, PortRange
from simulator.surfaces.following import FollowingSurface, Listener, PortWatch
from simulator.traffic import TrafficMonitor


class ProbePort:
    """One monitor's port: listening while its traffic passes."""

    def __init__(self, surface: ProbeSurface, monitor: TrafficMonitor, port: int) -> None:
        self.surface, self.monitor = surface, monitor
        self.held = HeldPort(surface.host, port, surface.ports)
        self.port = self.held.number
        self.server: asyncio.Server | None = None
        self.watch = PortWatch(surface.journal, None, "probe", self.port, monitor=monitor.name)

    @property
    def in_step(self) -> bool:
        return (self.server is not None) == self.monitor.up

    async def sync(self) -> None:
        if self.monitor.up and self.server is None:
            try:
                self.server = await asyncio.start_server(self._answer, sock=self.held.listen())
            except OSError as exc:       # a fixed probe port another program holds
                self.watch.lost(exc, lambda: self.surface.resync(self))
                return
            self.watch.regained()
        elif not self.monitor.up and self.server is not None:
            await self.close()

    async def close(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.close()
            self.held.refuse()
            await server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((json.dumps(self.monitor.report()) + "\n").encode())
        try:
            await writer.drain()
        finally:
            writer.close()


class ProbeSurface(FollowingSurface):
    def __init__(self, journal: Journal, host: str, ports: PortRange | None = None) -> None:
        super().__init__(journal)
        self.host = host
        self.ports = ports
        self.probes: dict[str, ProbePort] = {}

    def add(self, monitor: TrafficMonitor, port: int = 0) -> None:
        self.probes[monitor.name] = ProbePort(self, monitor, port)

    def listeners(self) -> list[Listener]:
        return list(self.probes.values())

    def listener_for(self, event: Event) -> Listener | None:
        return self.probes.get(event.get("monitor") or "") if event["kind"] == "traffic" else None

    async def stop(self) -> None:
        await super().stop()
        for probe in self.probes.values():
            await probe.close()
            probe.held.close()
            probe.monitor.close()

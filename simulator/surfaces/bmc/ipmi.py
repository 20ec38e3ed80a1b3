"""IPMI over LAN (RMCP+, what `ipmitool -I lanplus` speaks) for one device, on
its own UDP port, with pyghmi's BMC server class for the protocol.

pyghmi's server runs its sockets on an I/O thread of its own and blocks in
`Bmc.listen()`; its SOL sender waits for acknowledgements in a loop. Neither
fits a lab of many devices on one event loop, so the packets come in here on
an asyncio datagram endpoint and are handed to pyghmi's session objects,
which answer through a socket stand-in writing to the transport: no thread,
nothing blocks, and pyghmi's global session table is kept bounded (sessions
per BMC, idle ones dropped) — it would otherwise grow with every client
address, garbage included."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections import OrderedDict
from typing import Any

from pyghmi.ipmi import bmc as pyghmi_bmc
from pyghmi.ipmi.private import constants as pyghmi_constants
from pyghmi.ipmi.private import serversession as pyghmi_serversession
from pyghmi.ipmi.private import session as pyghmi_session

from simulator.kinds.base import Refused
from simulator.surfaces.bmc.facts import bmc as facts
from simulator.surfaces.bmc.power import BoxBmc
from simulator.surfaces.bmc.sol import SolLink

HANDLERS: dict[Any, dict[int, Any]] = pyghmi_session.Session.bmc_handlers   # pyghmi's table: client address -> {port: session}
UNAUTHORIZED_NAME = 0x0D     # RAKP message 2 status (IPMI 2.0 table 13-15)


class _Wire:
    """What pyghmi's sessions send through: a socket stand-in that writes to the endpoint's transport."""

    def __init__(self, endpoint: IpmiEndpoint) -> None:
        self.endpoint = endpoint

    def sendto(self, packet: bytes, address: Any) -> int:
        transport = self.endpoint.transport
        if transport is not None and not transport.is_closing():
            transport.sendto(bytes(packet), address)
        return len(packet)

    def setblocking(self, flag: bool) -> None:
        pass

    def getsockname(self) -> tuple[str, int]:
        return (self.endpoint.host, self.endpoint.port)


class _Session(pyghmi_serversession.ServerSession):
    """pyghmi's server session, answering an unknown user name as a BMC does (RAKP 2 "unauthorized
    name") where pyghmi stays silent and the client waits out its retries."""

    def _got_rakp1(self, data: Any) -> None:
        name = bytes(data[28:28 + data[27]]).decode("utf-8", "replace")
        if self.authdata.get(name) is None:
            self.send_payload(bytearray([data[0], UNAUTHORIZED_NAME, 0, 0]) + self.clientsessionid,
                              pyghmi_constants.payload_types["rakp2"], retry=False)
            return
        super()._got_rakp1(data)


class _SimBmc(pyghmi_bmc.Bmc):
    """pyghmi's Bmc over a device's BoxBmc. Not IpmiServer.__init__: it binds a socket on pyghmi's I/O thread."""

    def __init__(self, endpoint: IpmiEndpoint) -> None:
        box = endpoint.box
        self.endpoint = endpoint
        self.box = box
        self.revision, self.deviceid, self.firmwaremajor, self.firmwareminor = 0, 0, 1, 0
        self.ipmiversion, self.additionaldevices, self.mfgid, self.prodid = 2, 0, 0, 0
        self.pktqueue: Any = []
        self.uuid = box.uuid
        self.authdata = {box.username: box.password}
        # Get Channel Authentication Capabilities: channel 1, IPMI 2.0 only (pyghmi's static answer)
        self.authcap = struct.pack("BBBBBBBBB", 0, 1, 0b10000000, 0b00000100, 0b00000010, 0, 0, 0, 0)
        self.kg = None
        self.timeout = 60
        self.port = endpoint.port
        self.serversocket = endpoint.wire
        self.activated = False
        self.sol: SolLink | None = None
        self.iohandler = endpoint.sol_input if endpoint.sol_line() is not None else None

    # -- power (Chassis Control answers the completion code returned) --------------------------
    def get_power_state(self) -> str:
        return "on" if self.box.on else "off"

    def _control(self, action: str) -> int:
        try:
            self.box.act(action, "ipmi")
        except Refused as exc:
            codes = facts().ipmi.codes
            return codes.not_supported if exc.reason == "not_supported" else codes.refused
        return 0

    def power_on(self) -> int:
        return self._control("on")

    def power_off(self) -> int:
        return self._control("off")

    def power_cycle(self) -> int:
        return self._control("cycle")

    def power_reset(self) -> int:
        return self._control("reset")

    def power_shutdown(self) -> int:
        return self._control("soft")

    def pulse_diag(self) -> int:
        return self._control("nmi")

    def get_boot_device(self) -> str:
        return self.box.boot_device

    def set_boot_device(self, bootdevice: str) -> None:
        self.box.set_boot_device(bootdevice, "ipmi")

    def get_system_guid(self) -> Any:
        return self.box.uuid

    def cold_reset(self) -> int:
        return 0                    # the BMC restarts at once; the box is not touched

    # -- serial over LAN ---------------------------------------------------------------------
    def is_active(self) -> bool:
        return self.endpoint.sol_line() is not None

    def activate_payload(self, request: Any, session: Any) -> None:
        if self.activated and self.sol is not None and self.sol.ipmi_session not in self.endpoint.live_sessions():
            self.endpoint.end_sol()                 # its session is gone: the payload is free again
        if self.iohandler is None or not self.is_active():
            session.send_ipmi_response(code=0x81)
        elif self.activated:
            session.send_ipmi_response(code=0x80)   # "already active on another session"
        else:
            self.activated = True
            port = list(struct.pack("<H", self.port))
            # inbound/outbound payload sizes (little-endian), then the UDP port of the payload
            session.send_ipmi_response(data=[0, 0, 0, 0, 0, 1, 0, 1, *port, 0xff, 0xff])
            self.sol = SolLink(session, self.endpoint)

    def deactivate_payload(self, request: Any, session: Any) -> None:
        if not self.activated:
            session.send_ipmi_response(code=0x80)
            return
        session.send_ipmi_response()
        self.endpoint.end_sol()


class IpmiEndpoint(asyncio.DatagramProtocol):
    """One device's IPMI port: bound for the lab's life, answering whatever the device's state."""

    def __init__(self, box: BoxBmc, sock: socket.socket, host: str, sol_line: Any) -> None:
        self.box = box
        self.sock = sock
        self.host = host
        self.port: int = sock.getsockname()[1]
        self.sol_line = sol_line                    # () -> the device's ConsoleLine, or None
        self.wire = _Wire(self)
        self.transport: asyncio.DatagramTransport | None = None
        self.sessions: OrderedDict[Any, tuple[Any, float]] = OrderedDict()   # client address -> (session, last packet)
        self.bmc = _SimBmc(self)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        HANDLERS[self.wire] = {0: self.bmc}         # pyghmi hands a stale client's new session back through it
        await loop.create_datagram_endpoint(lambda: self, sock=self.sock)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def stop(self) -> None:
        self.end_sol()
        for address in list(self.sessions):
            self._forget(address)
        HANDLERS.pop(self.wire, None)
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def datagram_received(self, data: bytes, address: Any) -> None:
        """Route as pyghmi's I/O thread does: a known client's session, else the server (sessionless)."""
        try:
            self._receive(data, address)
        except Exception:           # a packet pyghmi cannot parse is dropped, as a BMC drops it
            pass

    def _receive(self, data: bytes, address: Any) -> None:
        now = time.monotonic()
        known = self.sessions.get(address)
        if known is not None and HANDLERS.get(address, {}).get(self.port) is known[0]:
            session: Any = known[0]
            self.sessions[address] = (session, now)
            self.sessions.move_to_end(address)
            session.pktqueue.append((data, address, self.wire, True))
            session.process_pktqueue()
            return
        self._expire(now)
        self.bmc.sessionless_data(data, address)
        made = HANDLERS.get(address, {}).get(self.port)
        if made is not None:                        # an RMCP+ Open Session Request made one
            made.__class__ = _Session
            self.sessions[address] = (made, now)
            self.sessions.move_to_end(address)
            while len(self.sessions) > facts().ipmi.sessions:
                self._forget(next(iter(self.sessions)))

    def _expire(self, now: float) -> None:
        idle = facts().ipmi.session_idle
        for address, (_, last) in list(self.sessions.items()):
            if now - last > idle:
                self._forget(address)

    def _forget(self, address: Any) -> None:
        session, _ = self.sessions.pop(address)
        if self.bmc.sol is not None and self.bmc.sol.ipmi_session is session:
            self.end_sol()
        ours = HANDLERS.get(address)
        if ours is not None and ours.get(self.port) is session:
            del ours[self.port]
            if not ours:
                del HANDLERS[address]

    def live_sessions(self) -> list[Any]:
        return [session for session, _ in self.sessions.values()]

    # -- SOL ---------------------------------------------------------------------------------
    def sol_input(self, data: Any) -> None:
        """What the SOL client typed (pyghmi hands bytes, or a dict for an error)."""
        line = self.sol_line()
        if line is not None and isinstance(data, (bytes, bytearray)):
            line.feed(bytes(data).decode("utf-8", "replace").replace("\r\n", "\r"))

    def end_sol(self) -> None:
        sol, self.bmc.sol = self.bmc.sol, None
        self.bmc.activated = False
        if sol is not None:
            sol.close()

    def entry(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, **self.box.entry()}


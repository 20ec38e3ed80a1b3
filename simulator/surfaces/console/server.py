"""The console surface: every device's serial console as a terminal server
offers it, always listening whatever the device's state.

- telnet on the console port (reverse telnet: the server echoes, character
  mode), and
- optionally SSH on a second port, user `console` with the device's password.

Both attach to the device's one shared `ConsoleLine`: boot messages through
reboots, the login prompt and the CLI when the device is up, the failure
text and a rescue prompt when it cannot boot (what each says: the kind's
`ConsoleKind`).

A connection on which nothing moves either way for `IDLE` wall seconds is
closed, as a terminal server's line times out (an SSH connection that opens
no session too; its login has asyncssh's login timeout)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from simulator.journal import Event, Journal
from simulator.sockets import HeldPort, PortRange
from simulator.surfaces.console import telnet
from simulator.surfaces.console.line import ConsoleLine
from simulator.surfaces.console.transcript import ConsoleKind
from simulator.surfaces.following import PortWatch
from simulator.surfaces.ssh.server import listen_ssh, local_port

CONSOLE_USER = "console"
IDLE = 600.0       # wall seconds: a terminal server line's exec-timeout (10 minutes); tests make it short
T = TypeVar("T")


class _Activity:
    """When a byte last moved either way on a connection."""

    def __init__(self) -> None:
        self.at = asyncio.get_running_loop().time()

    def touch(self) -> None:
        self.at = asyncio.get_running_loop().time()

    async def read(self, read: Callable[[], Awaitable[T]], idle: float) -> T | None:
        """The next input, or None once nothing moved for `idle` seconds."""
        loop = asyncio.get_running_loop()
        while (left := self.at + idle - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(read(), left)
            except TimeoutError:
                continue            # output may have moved meanwhile
            self.touch()
            return data
        return None


class _TelnetClient:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.activity = _Activity()

    def raw(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.activity.touch()
            self.writer.write(data)

    def write(self, text: str) -> None:
        if self.writer.is_closing():
            raise ConnectionError("telnet client gone")
        self.activity.touch()
        self.writer.write(telnet.encode(text))

    def close(self) -> None:
        self.writer.close()


class _SSHClient:
    def __init__(self, process: asyncssh.SSHServerProcess) -> None:
        self.process = process
        self.activity = _Activity()

    def write(self, text: str) -> None:
        self.activity.touch()
        self.process.stdout.write(text)

    def close(self) -> None:
        if not self.process.is_closing():
            self.process.exit(0)


class ConsoleEndpoint:
    """One device's console: its line, the telnet listener, the optional SSH one."""

    def __init__(self, surface: ConsoleSurface, device: Any, port: int, fs_root: Path, kind: ConsoleKind,
                 ssh_port: int | None) -> None:
        self.surface = surface
        self.device = device
        self.held = HeldPort(surface.host, port, surface.ports)
        self.ssh_held = HeldPort(surface.host, ssh_port, surface.ports) if ssh_port is not None else None
        self.port = self.held.number
        self.ssh_port = self.ssh_held.number if self.ssh_held is not None else None
        self.watch = PortWatch(surface.journal, device.name, "console", self.port)
        self.ssh_watch = PortWatch(surface.journal, device.name, "console.ssh", self.ssh_port or 0)
        self.line = ConsoleLine(device, fs_root, kind, surface.journal)
        self.server: asyncio.Server | None = None
        self.ssh_server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._ssh_connections: set[asyncssh.SSHServerConnection] = set()
        self.following = False      # the line takes the device's events

    @property
    def listening(self) -> bool:
        return self.server is not None

    @property
    def error(self) -> str | None:
        """Why a console port does not listen (another program holds it), if one does not."""
        return self.watch.error or self.ssh_watch.error

    async def start(self) -> None:
        await self._listen()
        self.line.start(follow=False)
        self.following = True

    async def _listen(self) -> None:
        """Listen on the ports not yet listening; one another program holds is tried again later."""
        if not self.surface.running:
            return
        try:
            if self.server is None:
                self.server = await asyncio.start_server(self._serve_telnet, sock=self.held.listen())
            self.watch.regained()
        except OSError as exc:
            self.watch.lost(exc, self._relisten)
        if self.ssh_held is not None and self.ssh_server is None:
            try:
                self.ssh_server = await listen_ssh(self.ssh_held.listen(), self.surface.ssh_options())
                self.ssh_watch.regained()
            except OSError as exc:
                self.ssh_watch.lost(exc, self._relisten)

    def _relisten(self) -> None:
        task = asyncio.get_running_loop().create_task(self._listen())
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def stop(self) -> None:
        self.following = False
        server, self.server = self.server, None
        ssh_server, self.ssh_server = self.ssh_server, None
        if server is not None:
            server.close()
        if ssh_server is not None:
            ssh_server.close()
        await self.line.stop()
        for conn in list(self._ssh_connections):
            conn.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        if ssh_server is not None:
            await ssh_server.wait_closed()
        self.held.close()
        if self.ssh_held is not None:
            self.ssh_held.close()

    async def restart_line(self) -> None:
        """The device was put back to a snapshot: the line hangs up its clients and takes up the device anew."""
        await self.line.stop()
        self.line.start(follow=False)

    async def _serve_telnet(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        client = _TelnetClient(writer)
        codec = telnet.TelnetCodec(client.raw)
        client.raw(telnet.GREETING)
        self.line.attach(client)
        try:
            while data := await client.activity.read(lambda: reader.read(4096), self.surface.idle):
                text = codec.feed(data)
                if text:
                    self.line.feed(text)
        except (ConnectionError, OSError):
            pass
        finally:
            self.line.detach(client)
            writer.close()
            if task is not None:
                self._handlers.discard(task)

    async def _serve_ssh(self, process: asyncssh.SSHServerProcess) -> None:
        client = _SSHClient(process)
        normalizer = telnet.CrNormalizer()
        self.line.attach(client)
        try:
            while True:
                try:
                    data = await client.activity.read(lambda: process.stdin.read(4096), self.surface.idle)
                except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                    data = "\x03"
                except asyncssh.TerminalSizeChanged:
                    continue
                if not data:        # end of input, or idle
                    break
                self.line.feed(normalizer.feed(data))
        except (asyncssh.Error, OSError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.line.detach(client)
            client.close()


class _ConsoleSSHServer(asyncssh.SSHServer):
    endpoint: ConsoleEndpoint       # the console the connection came to, by its port

    def __init__(self, surface: ConsoleSurface) -> None:
        self.surface = surface
        self.conn: asyncssh.SSHServerConnection | None = None
        self.no_session: asyncio.TimerHandle | None = None     # closes a connection without a session

    def between_sessions(self, between: bool) -> None:
        """Without a session the connection closes after the idle time; a session disarms that."""
        if self.no_session is not None:
            self.no_session.cancel()
        self.no_session = asyncio.get_running_loop().call_later(self.endpoint.surface.idle, self.conn.close) \
            if between and self.conn is not None else None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.endpoint = self.surface.by_ssh_port[local_port(conn)]
        self.endpoint._ssh_connections.add(conn)
        self.between_sessions(True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.between_sessions(False)
        if self.conn is not None:
            self.endpoint._ssh_connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        device = self.endpoint.device
        ok = username == CONSOLE_USER and password == device.password
        device.ctx.journal.emit(device.name, "console.ssh_login", user=username, ok=ok)
        return ok


class ConsoleSurface:
    """Every device's console port; listening from start() to stop(), whatever the devices do."""

    def __init__(self, journal: Journal, host: str, host_key: asyncssh.SSHKey | None = None,
                 idle: float | None = None, ports: PortRange | None = None) -> None:
        self.journal = journal
        self.host = host
        self.ports = ports
        self.running = False
        self.host_key = host_key
        self.idle = idle or IDLE
        self.endpoints: dict[str, ConsoleEndpoint] = {}
        self.by_ssh_port: dict[int, ConsoleEndpoint] = {}
        self._ssh_options: asyncssh.SSHServerConnectionOptions | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def add(self, device: Any, port: int, fs_root: Path, kind: ConsoleKind,
            ssh_port: int | None = None) -> ConsoleEndpoint:
        """A console for `device` (what it prints and runs: `kind`) on telnet
        `port` (0: the next of the lab's range) and, if `ssh_port` is given (0: the next), on SSH too."""
        endpoint = ConsoleEndpoint(self, device, port, fs_root, kind, ssh_port)
        self.endpoints[device.name] = endpoint
        if endpoint.ssh_port is not None:
            self.by_ssh_port[endpoint.ssh_port] = endpoint
        return endpoint

    def ssh_options(self) -> asyncssh.SSHServerConnectionOptions:
        """Shared by every SSH console listener."""
        if self._ssh_options is None:
            key = self.host_key or asyncssh.generate_private_key("ssh-ed25519")
            self._ssh_options = asyncssh.SSHServerConnectionOptions(
                server_host_keys=[key], server_factory=partial(_ConsoleSSHServer, self),
                process_factory=self._process, allow_scp=False,
                line_editor=False, encoding="utf-8", keepalive_interval=0, login_timeout=60)
        return self._ssh_options

    async def start(self) -> None:
        self.running = True
        self._unsubscribe = self.journal.subscribe(self._on_event)
        await asyncio.gather(*(e.start() for e in self.endpoints.values()))

    async def stop(self) -> None:
        self.running = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await asyncio.gather(*(e.stop() for e in self.endpoints.values()), return_exceptions=True)

    def _on_event(self, event: Event) -> None:
        endpoint = self.endpoints.get(event["device"] or "")
        if endpoint is not None and endpoint.following:
            endpoint.line.on_event(event)

    async def settled(self, rounds: int = 200) -> None:
        """Let each line's program catch up with its device (a login prompt
        printed after a boot); bounded, as a program may be busy for long."""
        for _ in range(rounds):
            if all(e.line.idle for e in self.endpoints.values()):
                return
            await asyncio.sleep(0)

    async def _process(self, process: asyncssh.SSHServerProcess) -> None:
        owner = process.get_extra_info("connection").get_owner()
        assert isinstance(owner, _ConsoleSSHServer)
        owner.between_sessions(False)
        try:
            await owner.endpoint._serve_ssh(process)
        finally:
            owner.between_sessions(True)

"""The SSH surface: one asyncssh listener per device, bound while the device's
services are up and closed (connections refused, sessions dropped) while it
reboots or is off. Interactive shells and exec requests run the device's CLI;
SFTP and SCP, where the kind's real server offers them, reach its file system; what a device's kind makes of SSH (its
CLI, where uploads land, its reboot notice) comes from the kind (`SshKind`).

One SSHServerConnectionOptions object is shared by every listener: nothing
per device is kept while idle beyond the listening socket."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import shutil
import socket
import tempfile
import warnings
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import asyncssh
from asyncssh.sftp import MIN_SFTP_VERSION

from simulator.facts import read_yaml
from simulator.faults import Fault
from simulator.journal import Event, Journal
from simulator.kinds.base import Refused, transfer_fault
from simulator.sockets import BACKLOG, HeldPort, PortRange
from simulator.surfaces.following import DeviceListener, FollowingSurface, Listener
from simulator.terminal.logins import LoginBrake, LoginPolicy
from simulator.terminal.session import Session
from simulator.transfer import PARTIAL

TOO_MANY_FAILURES = "Too many authentication failures"      # OpenSSH's words when MaxAuthTries is reached
WRITE_MAX = 4 * 1024**3     # bytes in one file written by SFTP/SCP (the largest packages are about 2.5 GB)
NO_SPACE = "No space left on device"
NOTICE_WAIT = 1.0           # wall seconds a reboot broadcast may take to reach the sessions
# An offer's lists (algorithms.yaml, a kind's `releases`) -> asyncssh's server options.
OFFER_KEYS = {"kex": "kex_algs", "encryption": "encryption_algs", "mac": "mac_algs"}


async def listen_ssh(sock: socket.socket, options: asyncssh.SSHServerConnectionOptions) -> asyncio.Server:
    """An SSH listener on a held socket, with options made once. asyncssh.create_server copies
    its options in a worker thread on every call: two calls per FTD, 7,800 thread trips fighting
    the loop for the GIL, most of a 3,900-device lab's start-up. The options' `server_factory`
    tells a connection's device by the port it came in on."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: asyncssh.SSHServerConnection(loop, options), sock=sock, backlog=BACKLOG)


def local_port(conn: asyncssh.SSHServerConnection) -> int:
    return int((conn.get_extra_info("sockname") or ("", 0))[1])


def load_host_key(path: Path, algorithm: str = "ssh-ed25519") -> asyncssh.SSHKey:
    if path.exists():
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key(algorithm)
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    return key


class DeviceEndpoint(DeviceListener):
    """One device's SSH listener and the connections it accepted."""

    SURFACE = "ssh"

    def __init__(self, surface: SSHSurface, device: Any, port: HeldPort, fs_root: Path, kind: SshKind,
                 login: LoginPolicy, algorithms: str = "modern") -> None:
        super().__init__(surface, device, port, fs_root)
        self.surface: SSHSurface = surface
        self.kind = kind
        self.server: asyncio.Server | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self.sessions: set[Session] = set()
        self.brake = LoginBrake(login)
        self.algorithms = algorithms
        self.last_login: str | None = None
        self.logins = 0                 # since the lab started (some banners count them)

    @property
    def listening(self) -> bool:
        return self.server is not None

    @property
    def in_step(self) -> bool:
        return self.listening == self.kind.open(self.device)

    async def start(self) -> None:
        """Listen with what the kind offers (the running version's, for `release`: chosen at each boot)."""
        self.server = await listen_ssh(self.held.listen(),
                                       self.surface.options_for(self.kind, self.algorithms, str(self.device.version)))

    async def stop(self, reason: str | None = None) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.close()
        self.held.refuse()
        text = self.kind.reboot_notice(self.device) if reason else None
        if text:
            for session in list(self.sessions):
                session.write(text)
            if self.sessions:      # the broadcast reaches the clients that read it; one that does not holds no one up
                await asyncio.wait([asyncio.ensure_future(s.drain()) for s in self.sessions], timeout=NOTICE_WAIT)
        # The server process dies with the box: the connection ends without an SSH
        # disconnect message (clients see "Connection closed by remote host").
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        if server is not None:
            await server.wait_closed()

    def drop_sessions(self) -> None:
        """The device was put back to a snapshot: its sessions end as at a reboot (the port stays)."""
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()

    async def _follow(self) -> None:
        """Listen while the device's services are up; refuse and drop otherwise."""
        if self.kind.open(self.device):
            await self.start()
        else:
            await self.stop(reason="power" if self.device.state == "off" else "reboot")



class _DeviceSSHServer(asyncssh.SSHServer):
    endpoint: DeviceEndpoint        # the device the connection came to, by its port

    def __init__(self, surface: SSHSurface) -> None:
        self.surface = surface
        self.conn: asyncssh.SSHServerConnection | None = None
        self.fault: Fault | None = None
        self.failures = 0           # wrong passwords on this connection

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.endpoint = self.surface.by_port[local_port(conn)]
        self.endpoint.connections.add(conn)
        device = self.endpoint.device
        self.fault = device.ctx.take_fault(device.name, "ssh.login")
        if self.fault is not None:
            if self.fault.action == "reset":
                asyncio.get_running_loop().call_soon(conn.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.endpoint.connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        keys = self.endpoint.surface.authorized_keys
        if keys is not None and self.conn is not None and username == self.endpoint.device.username:
            self.conn.set_authorized_keys(keys)
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        device, brake = self.endpoint.device, self.endpoint.brake
        if self.fault is not None and self.fault.action == "delay":
            await device.ctx.clock.sleep(self.fault.seconds or 0)
        ok = username == device.username and password == device.password and not brake.locked(username)
        device.ctx.journal.emit(device.name, "ssh.login", user=username, ok=ok, method="password")
        peer = (self.conn.get_extra_info("peername") or ("127.0.0.1", 0))[0] if self.conn else "127.0.0.1"
        if ok:
            brake.passed(peer, username)
            return True
        self.endpoint.kind.login_failed(device, username, peer)
        await brake.failed(peer, username)
        self.failures += 1
        if self.conn is not None and 0 < brake.policy.max_tries <= self.failures:
            asyncio.get_running_loop().call_soon(self.conn.disconnect, asyncssh.DISC_PROTOCOL_ERROR,
                                                 TOO_MANY_FAILURES)
        return False

    def public_key_auth_supported(self) -> bool:
        return self.endpoint.surface.authorized_keys is not None

    def session_requested(self) -> asyncssh.SSHServerSession:
        surface, kind = self.endpoint.surface, self.endpoint.kind
        return _DeviceSession(surface.run_process, surface.sftp_server if kind.sftp or kind.scp else None, kind)


class _DeviceSession(asyncssh.SSHServerProcess):
    """A session channel: a shell or exec request runs the CLI; SCP (an exec of `scp
    -t/-f`) and the SFTP subsystem reach the file system where the kind's real server
    offers them. A subsystem it does not offer is refused, as sshd refuses it (OpenSSH's
    client: "subsystem request failed on channel 0"; its scp then "Connection closed")."""

    def __init__(self, process_factory: Any, sftp_factory: Any, kind: SshKind) -> None:
        super().__init__(process_factory, sftp_factory, MIN_SFTP_VERSION, kind.scp)
        self.sftp = kind.sftp

    def subsystem_requested(self, subsystem: str) -> bool:
        return subsystem == "sftp" and self.sftp and super().subsystem_requested(subsystem)


class SshKind:
    """What SSH means for one device kind (its `ssh.py` subclasses this): its
    CLI, its file uploads and its brake on password guessing (`login`). The
    defaults: no reboot notice, uploads mean nothing to the device, paths as
    the client gives them, no brake."""

    login = LoginPolicy()
    server_version = "OpenSSH_8.8"      # what follows `SSH-2.0-` in the identification string
    releases: list[dict[str, Any]] = []  # what each release offers (`ssh_algorithms: release`; ssh.yaml)
    sftp = True                         # the server offers the SFTP subsystem
    scp = True                          # ... and an SCP server (an exec of `scp -t`/`scp -f`); else the CLI gets it

    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        """Serve an interactive shell or an exec request."""
        raise NotImplementedError

    def open(self, device: Any) -> bool:
        """Does the device listen for SSH now? (An `access` event says this changed while it ran.)"""
        return bool(device.services_up)

    def reboot_notice(self, device: Any) -> str | None:
        """The broadcast open sessions see before a reboot drops them."""
        return None

    def upload_dir(self, fs_root: Path) -> Path | None:
        """Where an uploaded file means something to the device (None: nowhere)."""
        return None

    def sftp_path(self, path: bytes) -> bytes:
        """A path as an SFTP/SCP client names it, in the device file system's terms."""
        return path

    def write_limit(self, device: Any, path: Path) -> int:
        """The size a file written by SFTP/SCP may reach (the device's free space, at most)."""
        return WRITE_MAX

    async def file_arrived(self, device: Any, path: Path, fault: Fault | None) -> None:
        """A file written by SFTP/SCP into upload_dir was closed; may raise Refused.
        Reading a big file is work for a thread, not for the lab's event loop."""

    def login_failed(self, device: Any, username: str, peer: str) -> None:
        """A wrong password (devices that count them show it at the next login)."""


def release_of(releases: list[dict[str, Any]], version: str) -> dict[str, Any]:
    """The entry of a kind's `releases` (oldest first) a version runs: the last whose
    `since` it has reached, comparing the numbers in them (`9.12(1)` < `9.19(1)`)."""
    numbers = _numbers(version)
    chosen: dict[str, Any] = {}
    for entry in releases:
        if _numbers(str(entry["since"])) <= numbers:
            chosen = entry
    return chosen


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


class SSHSurface(FollowingSurface):
    """Every device's SSH endpoint, kept in step with device state through the journal."""

    def __init__(self, journal: Journal, host: str, host_key: asyncssh.SSHKey,
                 authorized_keys: str | None = None, rsa_key_path: Path | None = None,
                 ports: PortRange | None = None) -> None:
        super().__init__(journal)
        self.host = host
        self.ports = ports
        self.endpoints: dict[str, DeviceEndpoint] = {}
        self.by_port: dict[int, DeviceEndpoint] = {}
        self.authorized_keys = asyncssh.import_authorized_keys(authorized_keys) if authorized_keys else None
        self.options = asyncssh.SSHServerConnectionOptions(
            server_host_keys=[host_key], server_factory=partial(_DeviceSSHServer, self),
            line_editor=False, encoding="utf-8", errors="replace", utf8_decode_errors="replace",
            keepalive_interval=0,
            login_timeout=60, server_version=SshKind.server_version)
        self.rsa_key_path = rsa_key_path
        self._rsa: asyncssh.SSHKey | None = None
        self._options: dict[tuple[Any, ...], asyncssh.SSHServerConnectionOptions] = {}

    def options_for(self, kind: SshKind, algorithms: str = "modern",
                    version: str = "") -> asyncssh.SSHServerConnectionOptions:
        """The connection options of a kind: the shared ones, with the identification string
        and the algorithms it offers: "modern", asyncssh's defaults; "legacy", algorithms.yaml's;
        "release", what the kind's `version` offers (its ssh.yaml `releases`). Lists an offer
        leaves out keep asyncssh's defaults."""
        offer = (read_yaml("algorithms.yaml", __package__)["legacy"] if algorithms == "legacy"
                 else release_of(kind.releases, version) if algorithms == "release" else {})
        server_version = offer.get("server_version", kind.server_version)
        key = (server_version, *(tuple(offer.get(name, ())) for name in (*OFFER_KEYS, "host_key")))
        if key not in self._options:
            changes: dict[str, Any] = {option: offer[name] for name, option in OFFER_KEYS.items() if offer.get(name)}
            if any(alg.startswith("diffie-hellman") for alg in offer.get("kex", ())):
                # the old key exchange is the point here, not a warning for the lab's user
                warnings.filterwarnings("ignore", message="Diffie-Hellman over finite fields")
            if offer.get("host_key"):
                changes["server_host_keys"] = [self._rsa_pair(offer["host_key"])]
            self._options[key] = asyncssh.SSHServerConnectionOptions(
                options=self.options, server_version=server_version, **changes)
        return self._options[key]

    def _rsa_pair(self, algorithms: list[str]) -> asyncssh.SSHKeyPair:
        """The RSA host key (kept in the state directory) of a release that has only RSA,
        signing with the algorithms it has (e.g. ssh-rsa only, not rsa-sha2-*)."""
        if self._rsa is None:
            self._rsa = (load_host_key(self.rsa_key_path, "ssh-rsa") if self.rsa_key_path
                         else asyncssh.generate_private_key("ssh-rsa"))
        pair = asyncssh.load_keypairs(self._rsa)[0]
        pair.host_key_algorithms = [alg for alg in pair.host_key_algorithms if alg.decode() in algorithms]
        return pair

    def add(self, device: Any, port: int, fs_root: Path, kind: SshKind,
            login: dict[str, Any] | None = None, algorithms: str = "modern") -> DeviceEndpoint:
        """Serve `device` on `port` (0: any) with what SSH means for its kind
        (`login`: changes to the kind's brake on password guessing)."""
        policy = kind.login.model_copy(update=login) if login else kind.login
        endpoint = DeviceEndpoint(self, device, HeldPort(self.host, port, self.ports), fs_root, kind, policy,
                                  algorithms)
        self.endpoints[device.name] = endpoint
        self.by_port[endpoint.port] = endpoint
        return endpoint

    async def place_file(self, name: str, filename: str, data: bytes) -> None:
        """A file put into the device's upload folder as an SFTP upload would put it
        (`simulator fmc package add`): its `package.transfer` fault, a partial file
        renamed when whole, then the kind's `file_arrived`. Raises Refused, or
        ValueError when the device takes no uploads or the name is not a plain file name."""
        endpoint = self.endpoints[name]
        folder = endpoint.kind.upload_dir(endpoint.fs_root)
        if folder is None:
            raise ValueError(f"{name} takes no uploaded files")
        if not filename or Path(filename).name != filename or filename.startswith("."):
            raise ValueError(f"not a file name: {filename!r}")
        fault = transfer_fault(endpoint.device)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / filename
        partial_file = final.with_name(f".{filename}{PARTIAL}")
        await asyncio.to_thread(partial_file.write_bytes, data)
        os.replace(partial_file, final)
        await endpoint.kind.file_arrived(endpoint.device, final, fault)

    def listeners(self) -> list[Listener]:
        return list(self.endpoints.values())

    def listener_for(self, event: Event) -> Listener | None:
        return self.endpoints.get(event["device"] or "") if event["kind"] in ("state", "access") else None

    async def stop(self) -> None:
        await super().stop()
        await asyncio.gather(*(e.stop() for e in self.endpoints.values()), return_exceptions=True)
        for endpoint in self.endpoints.values():
            endpoint.held.close()

    @staticmethod
    def _endpoint_of(conn: Any) -> DeviceEndpoint:
        owner = conn.get_owner()
        assert isinstance(owner, _DeviceSSHServer)
        return owner.endpoint

    async def run_process(self, process: asyncssh.SSHServerProcess) -> None:
        endpoint = self._endpoint_of(process.get_extra_info("connection"))
        await endpoint.kind.run(endpoint, process)

    def sftp_server(self, chan: asyncssh.SSHServerChannel) -> asyncssh.SFTPServer:
        endpoint = self._endpoint_of(chan.get_connection())
        return _DeviceSFTP(chan, endpoint)


@dataclass
class _Upload:
    """A file being written into the upload folder: under a temporary name until complete."""

    partial: Path
    final: Path
    fault: Fault | None


class _DeviceSFTP(asyncssh.SFTPServer):
    """The device's file system, rooted in its state directory. A file written
    into the kind's upload folder (an FTD's /var/sf/updates) lands under a
    temporary name (`.<name>.<random>.part`, hidden from `ls`) and becomes the
    file, handed to the device, only when the client closes it while still
    talking; a client gone mid-transfer (connection lost, scp killed) leaves
    nothing behind. Serves SCP the same way."""

    def __init__(self, chan: asyncssh.SSHServerChannel, endpoint: DeviceEndpoint) -> None:
        self.endpoint = endpoint
        self._uploads: dict[int, _Upload] = {}     # open file -> where it goes
        self._limits: dict[int, int] = {}          # open file -> the size it may reach
        self.uploads = endpoint.kind.upload_dir(endpoint.fs_root)
        endpoint.fs_root.mkdir(parents=True, exist_ok=True)
        if self.uploads is not None:
            self.uploads.mkdir(parents=True, exist_ok=True)
        super().__init__(chan, chroot=str(endpoint.fs_root).encode())

    def map_path(self, path: bytes) -> bytes:
        return super().map_path(self.endpoint.kind.sftp_path(path))

    def _in_uploads(self, path: Path) -> bool:
        return self.uploads is not None and path.parent == self.uploads

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        real = Path(os.fsdecode(self.map_path(path)))
        writing = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND))
        if not (writing and self._in_uploads(real)):
            file_obj = super().open(path, pflags, attrs)
        else:
            try:
                fault = transfer_fault(self.endpoint.device)
            except Refused as refused:
                raise asyncssh.SFTPFailure(refused.message) from None
            file_obj, partial = _open_partial(real, pflags, attrs)
            self._uploads[id(file_obj)] = _Upload(partial, real, fault)
        if writing:
            self._limits[id(file_obj)] = self.endpoint.kind.write_limit(self.endpoint.device, real)
        return file_obj

    def write(self, file_obj: object, offset: int, data: bytes) -> int | Awaitable[int]:
        """Writes past the file's limit fail as a full disk does (a sparse write far out included)."""
        if offset + len(data) > self._limits.get(id(file_obj), WRITE_MAX):
            raise asyncssh.SFTPFailure(NO_SPACE)
        return super().write(file_obj, offset, data)

    async def close(self, file_obj: object) -> None:
        super().close(file_obj)
        self._limits.pop(id(file_obj), None)
        upload = self._uploads.pop(id(file_obj), None)
        if upload is None:
            return
        device = self.endpoint.device
        if not self._client_sending():
            upload.partial.unlink(missing_ok=True)
            device.ctx.journal.emit(device.name, "upload", action="aborted", filename=upload.final.name)
            return
        os.replace(upload.partial, upload.final)
        try:
            await self.endpoint.kind.file_arrived(device, upload.final, upload.fault)
        except Refused as refused:
            device.ctx.journal.emit(device.name, "package", action="rejected", filename=upload.final.name,
                                    reason=refused.message)

    def exit(self) -> None:
        """The session ends: report exit status 0, as OpenSSH's sftp-server does
        (OpenSSH 9's scp, which speaks SFTP, exits 1 without it). SCP sent its own."""
        self.channel.exit(0)

    def _client_sending(self) -> bool:
        """Whether the client still talks on this session. SFTP and SCP clients
        wait for the answer to their close; files still open when a connection
        drops or the input ends (a killed scp) are closed too, and are not whole."""
        chan = self.channel
        return not chan.is_closing() and getattr(chan, "_recv_state", "open") == "open"


def _open_partial(final: Path, pflags: int, attrs: asyncssh.SFTPAttrs) -> tuple[BinaryIO, Path]:
    """The temporary file an upload to `final` is written to (with `final`'s
    content when the client opens it to append or to write in place)."""
    if pflags & asyncssh.FXF_EXCL and final.exists():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(final))
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=PARTIAL, dir=final.parent)
    os.fchmod(fd, 0o644 if attrs.permissions is None else attrs.permissions & 0o7777)
    if not pflags & asyncssh.FXF_TRUNC and final.is_file():
        shutil.copyfile(final, name)
    return os.fdopen(fd, "ab" if pflags & asyncssh.FXF_APPEND else "r+b", buffering=0), Path(name)

"""Fetching a file from where a device's copy command points (the ASA's
`copy`, the FXOS chassis' `download image`): scp:// and sftp:// from any SSH
server (asyncssh as the client), http:// and https:// (aiohttp; certificates
are not checked, as the devices do not check them), or a local path.

A local path means the device's own file system, or the lab's import directory
(a profile's `import_dir`): `LocalFiles`. It never means any other file of the
lab host: such a path is a missing file, as on the device.

Reads are bounded: the file is streamed to disk in blocks, never held in
memory (at most a few blocks in flight), and a transfer that grows past
`limit` bytes (the device's free space) stops as soon as a server declares or
sends more (`too_big`); a server that goes silent times out.

A file on its way (a download, a copy, an upload over SFTP/SCP or the FDM
API) is written under a hidden partial name beside where it lands
(`partial_path`: `.NAME.part`; `is_partial` knows them all) and renamed when
whole; a lab start removes the partial files a stop or crash left
(`remove_partials`).

A kind's worker (`DeviceWorker`) takes a device's transfers while the lab runs
and runs its fetches as tasks, telling the lab when they have all reported.

A failure is a `TransferError` with a cause and the facts around it; each kind
words it its own way (its facts): `unreachable` (no connection; `reason` as
the OS says it), `timeout`, `auth` (login or HTTP 401/403 refused), `missing`
(no such file), `denied` (the server may not read it), `too_big`, `transfer`
(anything else on the way; `reason`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, unquote, urlsplit

import aiohttp
import asyncssh

BLOCK = 1 << 16
SFTP_REQUESTS = 4           # SFTP reads in flight: at most this many blocks in memory
READ_TIMEOUT = 60.0         # seconds a server may stay silent in the middle of a transfer


@dataclass(frozen=True)
class Source:
    """Where a file comes from."""

    protocol: str               # http | https | scp | sftp | file
    path: str                   # the file on the server (a local path: see LocalFiles)
    host: str = ""
    port: int | None = None
    user: str = ""
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> Source:
        """`scp://user:password@host:port/path`, `http(s)://...`, `sftp://...`,
        `file:///path` or a plain (local) path."""
        where = urlsplit(url)
        scheme = where.scheme.lower()
        if scheme in ("http", "https", "scp", "sftp"):
            password = unquote(where.password) if where.password is not None else None
            return cls(scheme, unquote(where.path), where.hostname or "", where.port, unquote(where.username or ""),
                       password)
        return cls("file", unquote(where.path) if scheme == "file" else url)

    def url(self) -> str:
        """The URL `parse` reads back (credentials included; a local file: its path)."""
        if self.protocol == "file":
            return self.path
        secret = f":{quote(self.password, safe='')}" if self.password is not None else ""
        login = f"{quote(self.user, safe='')}{secret}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{self.protocol}://{login}{self.host}{port}{quote(self.path)}"


PARTIAL = ".part"       # the suffix of a hidden file on its way (`.NAME.part`, SFTP/SCP's `.NAME.<random>.part`)


def partial_path(path: Path) -> Path:
    """Where a file on its way to `path` is written until it is whole."""
    return path.with_name(f".{path.name}{PARTIAL}")


def is_partial(path: Path) -> bool:
    """A partial file: `partial_path`'s name, or any hidden `.*.part` (SFTP/SCP add a random part)."""
    return path.name.startswith(".") and path.name.endswith(PARTIAL)


def remove_partials(folder: Path) -> None:
    """Remove the partial files a stopped or killed lab left in `folder` (at lab start)."""
    if folder.is_dir():
        for path in folder.iterdir():
            if is_partial(path) and path.is_file():
                path.unlink(missing_ok=True)


@dataclass(frozen=True)
class LocalFiles:
    """The files a device's local path may name: its own file system (`root`,
    a path read from there) and the lab's import directory (`imports`, a file
    by its own path); nothing else of the lab host, symbolic links included."""

    root: Path
    imports: Path | None = None

    def find(self, path: str) -> Path | None:
        """The file `path` names, if the device may read it."""
        places = [(self.root / path.lstrip("/"), self.root)]
        if self.imports is not None and path.startswith("/"):
            places.append((Path(path), self.imports))
        for candidate, inside in places:
            try:
                real = candidate.resolve()
                if real.is_relative_to(inside.resolve()) and real.is_file():
                    return real
            except (OSError, ValueError):      # a name too long, a NUL byte, a link loop
                continue
        return None


class TransferError(Exception):
    def __init__(self, cause: str, **values: Any) -> None:
        super().__init__(cause, values)
        self.cause, self.values = cause, values


def os_reason(exc: OSError) -> str:
    """`Connection refused`, `No route to host` ... as the OS says it."""
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if exc.errno:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or "I/O error"


async def fetch(source: Source, target: Path, *, limit: int | None = None, connect_timeout: float = 10.0,
                local: LocalFiles | None = None) -> int:
    """Copy `source` to `target`; the bytes written. A local path is looked up in
    `local` (none: no local file exists). On a TransferError `target` may hold
    part of the file: the caller removes it."""
    if source.protocol in ("scp", "sftp"):
        await _ssh(source, target, limit, connect_timeout)
    elif source.protocol in ("http", "https"):
        await _http(source, target, limit, connect_timeout)
    else:
        origin = local.find(source.path) if local is not None else None
        if origin is None:
            raise TransferError("missing")
        await _local(origin, target, limit)
    return target.stat().st_size


def _check_limit(size: int, limit: int | None) -> None:
    if limit is not None and size > limit:
        raise TransferError("too_big", size=size, limit=limit)


def _guard(limit: int | None) -> Callable[[bytes, bytes, int, int], None] | None:
    """An SFTP/SCP progress handler that stops a transfer whose declared or copied size passes `limit`."""
    if limit is None:
        return None

    def progress(_source: bytes, _target: bytes, done: int, total: int) -> None:
        _check_limit(max(done, total), limit)
    return progress


async def _ssh(source: Source, target: Path, limit: int | None, connect_timeout: float) -> None:
    port = source.port or 22
    try:
        conn = await asyncio.wait_for(asyncssh.connect(
            source.host, port, username=source.user or None, password=source.password or "",
            known_hosts=None, client_keys=None, agent_path=None,
            preferred_auth="password,keyboard-interactive"), connect_timeout)
    except asyncssh.PermissionDenied:
        raise TransferError("auth") from None
    except TimeoutError:
        raise TransferError("unreachable", reason="Connection timed out", port=port) from None
    except OSError as exc:
        raise TransferError("unreachable", reason=os_reason(exc), port=port) from None
    except asyncssh.Error as exc:
        raise TransferError("transfer", reason=exc.reason, stage="connect") from None
    try:
        async with conn:
            if source.protocol == "sftp":
                async with conn.start_sftp_client() as sftp:
                    if limit is not None:
                        _check_limit((await sftp.stat(source.path)).size or 0, limit)
                    await sftp.get(source.path, str(target), block_size=BLOCK, max_requests=SFTP_REQUESTS,
                                   progress_handler=_guard(limit))
            else:
                await asyncssh.scp((conn, source.path), str(target), block_size=BLOCK,
                                   progress_handler=_guard(limit))
    except asyncssh.SFTPNoSuchFile:
        raise TransferError("missing") from None
    except asyncssh.SFTPPermissionDenied:
        raise TransferError("denied") from None
    except asyncssh.SFTPError as exc:
        if "no such file" in str(exc.reason).lower() or "not found" in str(exc.reason).lower():
            raise TransferError("missing") from None
        raise TransferError("transfer", reason=exc.reason) from None
    except (asyncssh.Error, OSError) as exc:
        raise TransferError("transfer", reason=str(exc) or type(exc).__name__) from None
    _check_limit(target.stat().st_size, limit)


async def _http(source: Source, target: Path, limit: int | None, connect_timeout: float) -> None:
    port = f":{source.port}" if source.port else ""
    url = f"{source.protocol}://{source.host}{port}{source.path}"
    auth = aiohttp.BasicAuth(source.user, source.password or "") if source.user else None
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=READ_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(url, auth=auth, ssl=False) as resp:
            if resp.status in (401, 403):
                raise TransferError("auth", status=resp.status)
            if resp.status in (404, 410):
                raise TransferError("missing", status=resp.status)
            if resp.status >= 400:
                raise TransferError("transfer", status=resp.status, reason=f"HTTP {resp.status} {resp.reason}")
            _check_limit(resp.content_length or 0, limit)
            size = 0
            with target.open("wb") as out:
                async for block in resp.content.iter_chunked(BLOCK):
                    size += len(block)
                    _check_limit(size, limit)
                    out.write(block)
    except aiohttp.ClientConnectorError as exc:
        raise TransferError("unreachable", reason=os_reason(exc.os_error), port=source.port or 80) from None
    except TimeoutError:
        raise TransferError("timeout", reason="Connection timed out") from None
    except aiohttp.ClientError as exc:
        raise TransferError("transfer", reason=f"{type(exc).__name__}: {exc}") from None


async def _local(origin: Path, target: Path, limit: int | None) -> None:
    try:
        _check_limit(origin.stat().st_size, limit)
        await asyncio.to_thread(_copy_file, origin, target, limit)
    except OSError as exc:
        raise TransferError("denied" if isinstance(exc, PermissionError) else "transfer", reason=os_reason(exc)) \
            from None


def _copy_file(origin: Path, target: Path, limit: int | None) -> None:
    """Copy in blocks, stopping past `limit` (a file that grows while it is read)."""
    size = 0
    with origin.open("rb") as src, target.open("wb") as out:
        while block := src.read(BLOCK):
            size += len(block)
            _check_limit(size, limit)
            out.write(block)


class Transfers:
    """The transfers in flight of one device's worker, as tasks."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()     # doing I/O (not waiting on the lab clock)
        self._changed = asyncio.Event()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        self._busy.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._rest)

    def resting(self) -> None:
        """The calling transfer waits on the lab clock from now on (not on I/O)."""
        current = asyncio.current_task()
        if current is not None:
            self._rest(current)

    def _rest(self, task: asyncio.Task[None]) -> None:
        self._busy.discard(task)
        self._changed.set()

    async def settled(self) -> None:
        """Wait until every transfer has reported or waits on the lab clock."""
        while self._busy:
            self._changed.clear()
            waiter = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait([*self._busy, waiter], return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class DeviceWorker:
    """The I/O worker of one device while the lab runs (a kind's `Kind.workers`):
    attached, it is the device's `transfer` service and hears the device's
    journal events; `detach()` lets go; `settled()` waits for its transfers."""

    start: Callable[..., None]      # what the device calls to have bytes moved (a subclass's)

    def __init__(self, device: Any) -> None:
        self.device = device
        self.transfers = Transfers()
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self) -> Self:
        self.device.transfer = self.start
        self._unsubscribe = self.device.ctx.journal.subscribe(self.on_event, device=self.device.name)
        return self

    def detach(self) -> None:
        if self.device.transfer == self.start:
            self.device.transfer = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.transfers.cancel()

    async def settled(self) -> None:
        """Wait until every transfer has reported to the device or waits on the lab clock."""
        await self.transfers.settled()

    def on_event(self, event: dict[str, Any]) -> None:
        """One of the device's journal events (a deleted file to remove ...)."""

    @staticmethod
    async def fetched(part: Path, fetching: Coroutine[Any, Any, Any],
                      failed: Callable[[str, dict[str, Any]], None]) -> bool:
        """Run `fetching`, which writes `part`: True when it worked; else `part` is
        removed and `failed(cause, values)` tells the device."""
        try:
            await fetching
        except TransferError as exc:
            part.unlink(missing_ok=True)
            failed(exc.cause, exc.values)
            return False
        except asyncio.CancelledError:
            part.unlink(missing_ok=True)
            raise
        except Exception as exc:  # a simulator bug or an odd server: the transfer fails, the lab goes on
            part.unlink(missing_ok=True)
            reason = f"{type(exc).__name__}: {exc}"
            failed("transfer", {"reason": reason, "detail": reason})
            return False
        return True

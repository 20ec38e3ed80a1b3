"""Moving platform bundle files onto a simulated FXOS chassis.

The chassis model (devices/fxos.py) keeps the download task; this helper,
attached to one chassis, does the network I/O the task asks for and reports
back: `download_received` once the file is on the chassis' disk,
`download_failed` with a cause (unreachable, auth, missing, transfer).

- scp:// and sftp:// pull from any SSH server (asyncssh as the client; the
  lab's own devices or a test's server on loopback);
- http:// and https:// (aiohttp; the lab's own CA is not required);
- a plain path or file:// copies a local file;
- tftp:// and ftp:// are not served by the lab: the chassis tries for a while
  (simulated time) and fails as with an unreachable server.

A failed or deleted download leaves no file behind."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import asyncssh

from simulator.journal import Event
from simulator.kinds.ftd.packages import cut_short
from simulator.kinds.fxos.bundles import BUNDLE_CUT_AT, inspect_fxos_bundle
from simulator.kinds.fxos.model import DownloadTask, FxosChassis, fxos_data

IMAGES_DIR = "workspace/fxos/images"


def images_dir(fs_root: Path) -> Path:
    """Where a chassis keeps downloaded bundles, inside its state directory."""
    path = fs_root / IMAGES_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _os_reason(exc: OSError) -> str:
    """`Connection refused`, `No route to host` ... as the OS says it."""
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if exc.errno:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc)


class TransferError(Exception):
    def __init__(self, cause: str, **values: Any) -> None:
        super().__init__(cause, values)
        self.cause, self.values = cause, values


class FxosDownloader:
    """The transfer service of one chassis."""

    def __init__(self, chassis: FxosChassis, directory: Path, connect_timeout: float = 10.0) -> None:
        self.chassis = chassis
        self.directory = directory
        self.connect_timeout = connect_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()     # doing I/O (not waiting on the lab clock)
        self._changed = asyncio.Event()
        self._unsubscribe = None

    def attach(self) -> FxosDownloader:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.chassis.transfer = self.start
        self._unsubscribe = self.chassis.ctx.journal.subscribe(self._on_event, device=self.chassis.name)
        return self

    def detach(self) -> None:
        if self.chassis.transfer == self.start:
            self.chassis.transfer = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()

    def start(self, task: DownloadTask, password: str | None) -> None:
        job = asyncio.get_running_loop().create_task(self._run(task, password))
        self._tasks.add(job)
        self._busy.add(job)
        job.add_done_callback(self._tasks.discard)
        job.add_done_callback(self._idle)

    def _idle(self, job: asyncio.Task[None]) -> None:
        self._busy.discard(job)
        self._changed.set()

    async def settled(self) -> None:
        """Wait until every transfer has reported to the chassis or waits on
        the lab clock (an unreachable tftp/ftp server)."""
        while self._busy:
            self._changed.clear()
            waiter = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait([*self._busy, waiter], return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()

    def _on_event(self, event: Event) -> None:
        """Remove the file of a download that failed or was deleted, and of a deleted package."""
        kind, state = event["kind"], event.get("state")
        if (kind == "fxos.download" and state in ("Failed", "Deleted")) or (
                kind == "fxos.package" and event.get("action") == "deleted"):
            filename = event.get("filename") or ""
            if filename and filename not in self.chassis.packages:
                (self.directory / filename).unlink(missing_ok=True)

    # -- one transfer ------------------------------------------------------------------
    async def _run(self, task: DownloadTask, password: str | None) -> None:
        chassis = self.chassis
        dest = self.directory / task.filename
        part = self.directory / (task.filename + ".part")
        try:
            await self._fetch(task, password, part)
        except TransferError as exc:
            part.unlink(missing_ok=True)
            chassis.download_failed(task.filename, exc.cause, exc.values)
            return
        except asyncio.CancelledError:
            part.unlink(missing_ok=True)
            raise
        except Exception as exc:  # a simulator bug or an odd server: the task fails, the lab goes on
            part.unlink(missing_ok=True)
            chassis.download_failed(task.filename, "transfer", {"detail": f"{type(exc).__name__}: {exc}"})
            return
        if task.corrupt:
            cut_short(part, at=BUNDLE_CUT_AT)
        part.replace(dest)
        info = inspect_fxos_bundle(dest)
        if not chassis.download_received(task.filename, info):
            dest.unlink(missing_ok=True)

    async def _fetch(self, task: DownloadTask, password: str | None, part: Path) -> None:
        if task.protocol in ("tftp", "ftp"):
            await self._unreachable(task)
        elif task.protocol in ("scp", "sftp"):
            await self._ssh(task, password, part)
        elif task.protocol in ("http", "https"):
            await self._http(task, password, part)
        else:
            await self._local(task, part)

    async def _unreachable(self, task: DownloadTask) -> None:
        current = asyncio.current_task()
        if current is not None:
            self._idle(current)     # from here on it waits on simulated time only
        await self.chassis.ctx.clock.sleep(fxos_data().unreachable_after)
        if task.protocol == "tftp":
            detail = f"TFTP: no response from {task.server}:{task.port or 69}: Transfer timed out"
        else:
            detail = f"ftp: connect to {task.server} port {task.port or 21}: Connection timed out"
        raise TransferError("unreachable", detail=detail)

    async def _ssh(self, task: DownloadTask, password: str | None, part: Path) -> None:
        port = task.port or 22
        try:
            conn = await asyncio.wait_for(asyncssh.connect(
                task.server, port, username=task.userid or "admin", password=password or "",
                known_hosts=None, client_keys=None, agent_path=None,
                preferred_auth="password,keyboard-interactive"), self.connect_timeout)
        except asyncssh.PermissionDenied:
            raise TransferError("auth") from None
        except (OSError, asyncio.TimeoutError) as exc:
            reason = "Connection timed out" if isinstance(exc, asyncio.TimeoutError) else _os_reason(exc)
            raise TransferError("unreachable", detail=f"ssh: connect to host {task.server} port {port}: "
                                                      f"{reason}") from None
        except asyncssh.Error as exc:
            raise TransferError("transfer", detail=f"ssh: {exc.reason}") from None
        try:
            async with conn:
                if task.protocol == "sftp":
                    async with conn.start_sftp_client() as sftp:
                        await sftp.get(task.path, str(part))
                else:
                    await asyncssh.scp((conn, task.path), str(part))
        except asyncssh.SFTPNoSuchFile:
            raise TransferError("missing") from None
        except asyncssh.SFTPPermissionDenied:
            raise TransferError("transfer", detail=f"{task.path}: Permission denied") from None
        except asyncssh.SFTPError as exc:
            if "no such file" in str(exc.reason).lower() or "not found" in str(exc.reason).lower():
                raise TransferError("missing") from None
            raise TransferError("transfer", detail=f"{task.protocol}: {exc.reason}") from None
        except (asyncssh.Error, OSError) as exc:
            raise TransferError("transfer", detail=f"{task.protocol}: {exc}") from None

    async def _http(self, task: DownloadTask, password: str | None, part: Path) -> None:
        port = f":{task.port}" if task.port else ""
        url = f"{task.protocol}://{task.server}{port}{task.path}"
        auth = aiohttp.BasicAuth(task.userid, password or "") if task.userid else None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(url, auth=auth, ssl=False) as resp:
                    if resp.status in (401, 403):
                        raise TransferError("auth")
                    if resp.status in (404, 410):
                        raise TransferError("missing")
                    if resp.status >= 400:
                        raise TransferError("transfer", detail=f"HTTP {resp.status} {resp.reason}")
                    with part.open("wb") as fh:
                        async for chunk in resp.content.iter_chunked(65536):
                            fh.write(chunk)
        except aiohttp.ClientConnectorError as exc:
            raise TransferError("unreachable", detail=f"{task.protocol}: connect to {task.server} port "
                                                      f"{task.port or 80}: {_os_reason(exc.os_error)}") from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TransferError("transfer", detail=f"{type(exc).__name__}: {exc}") from None

    async def _local(self, task: DownloadTask, part: Path) -> None:
        source = Path(task.path)
        if not source.is_file():
            raise TransferError("missing")
        part.write_bytes(await asyncio.to_thread(source.read_bytes))

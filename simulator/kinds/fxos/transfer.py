"""Moving platform bundle files onto a simulated FXOS chassis.

The chassis model (devices/fxos.py) keeps the download task; this helper,
attached to one chassis, does the network I/O the task asks for and reports
back: `download_received` once the file is on the chassis' disk,
`download_failed` with a cause (unreachable, auth, missing, transfer).

- scp://, sftp://, http://, https:// and a local path (of the chassis' own
  file system or the lab's import directory, never another file of the lab
  host) through the shared downloader (simulator/transfer.py), bounded by the
  image store's free space, its failures worded as the chassis words them
  (`_worded`);
- tftp:// and ftp:// are not served by the lab: the chassis tries for a while
  (simulated time) and fails as with an unreachable server.

A download is written under its partial name until it is whole. A failed or
deleted download leaves no file behind, nor does a lab stopped or killed in
the middle of one: at attach the images folder keeps only the chassis' bundles."""

from __future__ import annotations

from pathlib import Path

from simulator.journal import Event
from simulator.kinds.fxos.bundles import BUNDLE_CUT_AT, inspect_fxos_bundle
from simulator.kinds.fxos.model import DownloadTask, FxosChassis, fxos_data
from simulator.signed import cut_short
from simulator.transfer import DeviceWorker, LocalFiles, Source, TransferError, fetch, partial_path

IMAGES_DIR = "workspace/fxos/images"


def images_dir(fs_root: Path) -> Path:
    """Where a chassis keeps downloaded bundles, inside its state directory."""
    path = fs_root / IMAGES_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


class FxosDownloader(DeviceWorker):
    """The transfer service of one chassis, over its file system folder `fs_root`."""

    def __init__(self, chassis: FxosChassis, fs_root: Path, connect_timeout: float = 10.0) -> None:
        super().__init__(chassis)
        self.chassis = chassis
        self.directory = fs_root / IMAGES_DIR
        self.local = LocalFiles(fs_root, chassis.import_dir)
        self.connect_timeout = connect_timeout

    def attach(self) -> FxosDownloader:
        """Attached at lab start: files of the images folder that are not the
        chassis' bundles (partial or unfinished downloads of the last run) go."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in self.directory.iterdir():
            if path.is_file() and path.name not in self.chassis.packages:
                path.unlink()
        return super().attach()

    def start(self, task: DownloadTask, password: str | None) -> None:
        self.transfers.spawn(self._run(task, password))

    def on_event(self, event: Event) -> None:
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
        part = partial_path(dest)
        if not await self.fetched(part, self._fetch(task, password, part),
                                  lambda cause, values: chassis.download_failed(task.filename, cause, values)):
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
            return
        user = task.userid or ("admin" if task.protocol in ("scp", "sftp") else "")
        source = Source(task.protocol, task.path, task.server, task.port or None, user, password)
        try:
            await fetch(source, part, limit=self.chassis.image_store_free_kb() * 1024,
                        connect_timeout=self.connect_timeout, local=self.local)
        except TransferError as exc:
            raise _worded(task, exc) from None

    async def _unreachable(self, task: DownloadTask) -> None:
        self.transfers.resting()
        await self.chassis.ctx.clock.sleep(fxos_data().unreachable_after)
        if task.protocol == "tftp":
            detail = f"TFTP: no response from {task.server}:{task.port or 69}: Transfer timed out"
        else:
            detail = f"ftp: connect to {task.server} port {task.port or 21}: Connection timed out"
        raise TransferError("unreachable", detail=detail)


def _worded(task: DownloadTask, exc: TransferError) -> TransferError:
    """A failed fetch as the chassis reports it: its download error's cause and detail."""
    cause, values = exc.cause, exc.values
    reason = values.get("reason", "")
    if cause in ("auth", "missing"):
        return TransferError(cause)
    if cause == "too_big":
        return TransferError("disk_full", needed_kb=-(-values["size"] // 1024), free_kb=values["limit"] // 1024)
    if cause == "unreachable":
        if task.protocol in ("scp", "sftp"):
            return TransferError(cause, detail=f"ssh: connect to host {task.server} port {values['port']}: {reason}")
        return TransferError(cause, detail=f"{task.protocol}: connect to {task.server} port {values['port']}: "
                                           f"{reason}")
    if cause == "denied":
        return TransferError("transfer", detail=f"{task.path}: Permission denied")
    if values.get("stage") == "connect":
        return TransferError("transfer", detail=f"ssh: {reason}")
    if task.protocol in ("scp", "sftp"):
        return TransferError("transfer", detail=f"{task.protocol}: {reason}")
    return TransferError("transfer", detail=reason)

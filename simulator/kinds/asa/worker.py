"""The ASA's I/O worker, one per unit while the lab runs: its disk0: is a
folder of the lab's state directory (SFTP and SCP see the same folder), and
the worker keeps that folder and the unit's catalogue (disk.py) in step:

- at attach, files the unit knows are put in place (its own image) or
  reported gone, files found in the folder are reported as arrivals, partial
  files of copies and uploads a stopped or killed lab left are removed, and
  so are files bigger than disk0: itself;
- a file the unit deletes is removed, an image it makes at a reimage written;
- `copy` jobs: the bytes are fetched (simulator/transfer.py: a URL, or a local
  path of disk0: or the lab's import directory, never another file of the lab
  host) under a partial name, inspected (size, checked header, MD5) and
  reported to the unit, which keeps the file or refuses it (no space)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from simulator.journal import Event
from simulator.kinds.asa.disk import HEAD, SPOILED, CopyJob, body_start, checked_header, disk_name, header_of
from simulator.kinds.asa.images import write_image
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.versions import ImageName
from simulator.transfer import BLOCK, DeviceWorker, LocalFiles, Source, fetch, partial_path, remove_partials


def inspect(path: Path, limit: int | None = None) -> tuple[int, str | None, str]:
    """(size, header, MD5) of a file, read in blocks: a stand-in image's header
    is checked against the size and digest it declares. ValueError for a file
    bigger than `limit` (nothing of it is read)."""
    if limit is not None and path.stat().st_size > limit:
        raise ValueError(f"{path.name}: bigger than {limit} bytes")
    md5 = hashlib.md5()
    with path.open("rb") as f:
        head = f.read(HEAD)
        body = hashlib.sha256(head[body_start(head):]) if header_of(head) else None
        md5.update(head)
        size = len(head)
        while block := f.read(BLOCK):
            md5.update(block)
            if body is not None:
                body.update(block)
            size += len(block)
    return size, checked_header(head, size, body.hexdigest()) if body is not None else None, md5.hexdigest()


def spoil(path: Path) -> None:
    """A `package.transfer` corrupt fault: the file is cut short and its header spoiled (it does not boot)."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.write(SPOILED)
        f.truncate(max(32, size // 2))


class AsaDiskWorker(DeviceWorker):
    device: AsaDevice

    def __init__(self, device: AsaDevice, folder: Path, connect_timeout: float = 10.0) -> None:
        super().__init__(device)
        self.folder = folder
        self.connect_timeout = connect_timeout
        self.local = LocalFiles(folder, device.import_dir)

    def attach(self) -> AsaDiskWorker:
        self.folder.mkdir(parents=True, exist_ok=True)
        super().attach()
        self._sync()           # what the unit knows and what the folder holds agree from here on
        return self

    def start(self, job: CopyJob) -> None:
        self.transfers.spawn(self._copy(job))

    # -- the folder and the catalogue -----------------------------------------------------------
    def _sync(self) -> None:
        device = self.device
        for entry in device.disk.listing():
            path = self.folder / entry.name
            if entry.is_dir:
                path.mkdir(exist_ok=True)
            elif not path.is_file() and not self._write_made(entry.name):
                device.file_gone(entry.name)
        remove_partials(self.folder)           # copies and uploads the last run did not finish
        for path in sorted(self.folder.iterdir()):
            known = device.disk.entries.get(path.name)
            if path.is_file() and not path.name.startswith(".") and (known is None or known.size !=
                                                                       path.stat().st_size):
                self._found(path)

    def _found(self, path: Path) -> None:
        """A file in the folder the unit does not know (as it is): reported, or
        removed when it is bigger than disk0: (it could not have been written)."""
        try:
            found = inspect(path, limit=self.device.disk.total)
        except ValueError:
            path.unlink()
            return
        self.device.file_arrived(path.name, *found, source="disk0")

    def _write_made(self, name: str) -> bool:
        """Write the unit's own image (made at a reimage) if it is not there; False for other files."""
        entry, image = self.device.disk.file(name), ImageName.parse(name)
        if entry is None or not entry.made or image is None:
            return False
        path = self.folder / name
        if not path.is_file() or path.stat().st_size != entry.size:
            write_image(path, image.version, entry.size)
        return True

    def on_event(self, event: Event) -> None:
        if event["kind"] != "file":
            return
        name = event["name"]
        if event["action"] == "added":
            self._write_made(name)
        elif event["action"] == "deleted" and self.device.disk.entries.get(name) is None:
            (self.folder / name).unlink(missing_ok=True)

    # -- copy ---------------------------------------------------------------------------------------
    async def _copy(self, job: CopyJob) -> None:
        device = self.device
        part = partial_path(self.folder / job.name)
        inside = disk_name(job.source)           # a copy inside disk0:
        source = Source("file", "/" + inside) if inside is not None else Source.parse(job.source)
        fetching = fetch(source, part, limit=job.limit, connect_timeout=self.connect_timeout, local=self.local)
        if not await self.fetched(part, fetching, lambda cause, values: device.copy_failed(job.id, cause, values)):
            return
        if job.corrupt:
            spoil(part)
        size, header, md5 = await asyncio.to_thread(inspect, part)
        if device.copy_received(job.id, size, header, md5):
            part.replace(self.folder / job.name)
        else:
            part.unlink(missing_ok=True)

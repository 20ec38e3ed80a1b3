"""The ASA's I/O worker, one per unit while the lab runs: its disk0: is a
folder of the lab's state directory (SFTP and SCP see the same folder), and
the worker keeps that folder and the unit's catalogue (disk.py) in step:

- at attach, files the unit knows are put in place (its own image) or
  reported gone, files found in the folder are reported as arrivals;
- a file the unit deletes is removed, an image it makes at a reimage written;
- `copy` jobs: the bytes are fetched (simulator/transfer.py, or a copy inside
  disk0:), inspected (size, header, MD5) and reported to the unit, which keeps
  the file or refuses it (no space)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from simulator.journal import Event
from simulator.kinds.asa.disk import SPOILED, CopyJob, disk_name, header_of
from simulator.kinds.asa.images import write_image
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.versions import ImageName
from simulator.transfer import BLOCK, DeviceWorker, Source, fetch


def inspect(path: Path) -> tuple[int, str | None, str]:
    """(size, header, MD5) of a file, read in blocks."""
    digest = hashlib.md5()
    head = b""
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            head = head or block[:256]
            digest.update(block)
    return path.stat().st_size, header_of(head), digest.hexdigest()


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
        for part in self.folder.glob(".*.part"):       # a copy the last run did not finish
            part.unlink()
        for path in sorted(self.folder.iterdir()):
            known = device.disk.entries.get(path.name)
            if path.is_file() and not path.name.startswith(".") and (known is None or known.size !=
                                                                       path.stat().st_size):
                device.file_arrived(path.name, *inspect(path), source="disk0")

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
        part = self.folder / f".{job.name}.part"
        inside = disk_name(job.source)           # a copy inside disk0:
        source = Source("file", str(self.folder / inside)) if inside is not None else Source.parse(job.source)
        fetching = fetch(source, part, limit=job.limit, connect_timeout=self.connect_timeout)
        if not await self.fetched(part, fetching, lambda cause, values: device.copy_failed(job.id, cause, values)):
            return
        if job.corrupt:
            spoil(part)
        size, header, md5 = await asyncio.to_thread(inspect, part)
        if device.copy_received(job.id, size, header, md5):
            part.replace(self.folder / job.name)
        else:
            part.unlink(missing_ok=True)

"""The FMC's worker: moves upgrade package files into its devices'
/var/sf/updates, where their expert shell and SFTP see them, for the copies
the FMC orders (copy_order.py):

- from the internal server: the device's own fetch of the pointer's URL over
  HTTP(S) (simulator/transfer.py; certificates are not checked, as the lab's
  devices check none), bounded by the device's free space;
- from the FMC: the FMC's own file in its /var/sf/updates when it has one (a
  package uploaded over SFTP or `simulator fmc package add`), else a stand-in
  of what the name says (a package the profile says was downloaded);
- from the internet: a stand-in, as cisco.com would send it.

A file is written under its partial name and renamed when whole, then
inspected as the device inspects an upload; a file the device then does not
take is removed (the FTD's own worker removes the one a new package replaces)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from simulator.kinds.fmc.copy_order import CopyOrder
from simulator.kinds.fmc.facts import text
from simulator.kinds.fmc.model import FmcDevice
from simulator.kinds.ftd.files import updates_dir
from simulator.kinds.ftd.packages import PackageInfo, cut_short, inspect_package, make_package
from simulator.transfer import DeviceWorker, Source, fetch, partial_path

Arrived = Callable[[PackageInfo | None, str | None], None]


def device_fs(fmc_root: Path, name: str) -> Path:
    """Another device's file system folder: the lab keeps them side by side
    (`<state>/devices/<name>/fs`, store.Store.device_fs)."""
    return fmc_root.parents[1] / name / fmc_root.name


class PackageCopier(DeviceWorker):
    def __init__(self, center: FmcDevice, fs_root: Path, connect_timeout: float = 10.0) -> None:
        super().__init__(center)
        self.center, self.fs_root, self.connect_timeout = center, fs_root, connect_timeout

    def start(self, order: CopyOrder, arrived: Arrived) -> None:
        self.transfers.spawn(self._run(order, arrived))

    async def _run(self, order: CopyOrder, arrived: Arrived) -> None:
        folder = updates_dir(device_fs(self.fs_root, order.device))
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / order.filename
        part = partial_path(dest)
        if not await self.fetched(part, self._bring(order, part),
                                  lambda cause, values: arrived(None, _worded(order, cause, values))):
            return
        if order.corrupt:
            cut_short(part)
        part.replace(dest)
        info = await asyncio.to_thread(inspect_package, dest)
        arrived(info, None)
        device = self.center.devices.get(order.device)
        package = getattr(device, "package", None)
        if package is None or package.filename != order.filename:
            dest.unlink(missing_ok=True)        # refused by the device

    async def _bring(self, order: CopyOrder, part: Path) -> None:
        if order.source == "internal":
            assert order.url is not None
            await fetch(Source.parse(order.url), part, limit=order.limit, connect_timeout=self.connect_timeout)
            return
        own = updates_dir(self.fs_root) / order.filename
        if order.source == "fmc" and own.is_file():
            await asyncio.to_thread(shutil.copyfile, own, part)
        else:
            await asyncio.to_thread(_stand_in, order.filename, part)


def _stand_in(filename: str, part: Path) -> None:
    """The signed file a name stands for (its manifest names it, so it is made under that name)."""
    with tempfile.TemporaryDirectory() as scratch:
        shutil.move(make_package(filename, Path(scratch)), part)


def _worded(order: CopyOrder, cause: str, values: dict[str, object]) -> str:
    reason = values.get("reason") or values.get("detail") or {
        "missing": "404 Not Found", "auth": "401 Unauthorized", "denied": "403 Forbidden",
        "timeout": "Connection timed out", "too_big": "No space left on device"}.get(cause, cause)
    return text("fetch_failed", url=order.url or order.filename, reason=reason)

"""The FTD's file system as surfaces see it: the folders clients expect, what
happens when a file lands in the upgrade folder, and what a lab start clears.

Uploads (SFTP/SCP, the FDM API) are written under a hidden partial name
(simulator.transfer.is_partial: `.NAME.part`, `.NAME.<random>.part`) and
renamed when whole; the
partial files a stopped or killed lab left go when the lab starts again
(`UpdatesFolder`, the kind's worker) — not when a session makes the folders,
as another session's upload may be on its way then.

/var/sf/updates holds the device's one package, as FDM lists it: "You can
upload one package only. If you upload a new package, it replaces the old
one" (seed 000), and "upgrading removes the related package from the
upgraded appliance" (seed 001). The worker removes the file of a package the
device lets go (replaced, deleted, consumed by an upgrade) or refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from simulator.faults import Fault
from simulator.journal import Event
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import PackageInfo, cut_short, inspect_package
from simulator.kinds.ftd.versions import PackageName
from simulator.transfer import remove_partials

UPDATES_DIR = "/var/sf/updates"


def make_device_fs(root: Path) -> None:
    """The folders of the device file system that clients expect (made on first use)."""
    for folder in (UPDATES_DIR.lstrip("/"), "home/admin"):
        (root / folder).mkdir(parents=True, exist_ok=True)


class UpdatesFolder:
    """The kind's worker: keeps /var/sf/updates to the device's one package while the lab runs."""

    def __init__(self, device: FtdDevice, root: Path) -> None:
        self.device, self.folder = device, updates_dir(root)
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self) -> UpdatesFolder:
        """At lab start the partial uploads of the last run go, and packages the device no longer has."""
        remove_partials(self.folder)
        if self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.is_file() and _is_package(path.name):
                    self._release(path.name)
        self._unsubscribe = self.device.ctx.journal.subscribe(self.on_event, device=self.device.name)
        return self

    def on_event(self, event: Event) -> None:
        if event["kind"] != "package":
            return
        gone = event.get("replaced") if event["action"] == "uploaded" else event.get("filename")
        if gone:
            self._release(gone)

    def _release(self, filename: str) -> None:
        package = self.device.package
        if package is None or package.filename != filename:
            (self.folder / filename).unlink(missing_ok=True)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def settled(self) -> None:
        return None


def _is_package(filename: str) -> bool:
    try:
        PackageName.parse(filename)
    except ValueError:
        return False
    return True


def updates_dir(root: Path) -> Path:
    return root / UPDATES_DIR.lstrip("/")


def receive_package(device: FtdDevice, path: Path, fault: Fault | None = None) -> PackageInfo:
    """A file arrived in /var/sf/updates: it becomes the device's one package
    (the worker removes the one it replaces). Raises Refused when the device
    cannot take it now. A `corrupt` fault cuts the file short."""
    if fault is not None and fault.action == "corrupt":
        cut_short(path)
    info = inspect_package(path)
    device.accept_package(info)
    return info

"""The FTD's file system as surfaces see it: the folders clients expect, what
happens when a file lands in the upgrade folder, and what a lab start clears.

Uploads (SFTP/SCP, the FDM API) are written under a hidden partial name
(simulator.transfer.is_partial: `.NAME.part`, `.NAME.<random>.part`) and
renamed when whole; the
partial files a stopped or killed lab left go when the lab starts again
(`tidy_device_fs`, the kind's worker) — not when a session makes the folders,
as another session's upload may be on its way then."""

from __future__ import annotations

from pathlib import Path

from simulator.faults import Fault
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import PackageInfo, cut_short, inspect_package
from simulator.transfer import remove_partials

UPDATES_DIR = "/var/sf/updates"


def make_device_fs(root: Path) -> None:
    """The folders of the device file system that clients expect (made on first use)."""
    for folder in (UPDATES_DIR.lstrip("/"), "home/admin"):
        (root / folder).mkdir(parents=True, exist_ok=True)


class _NoWork:
    """The worker of a device whose file system needs nothing while the lab runs."""

    def detach(self) -> None:
        return None

    async def settled(self) -> None:
        return None


NO_WORK = _NoWork()


def tidy_device_fs(device: FtdDevice, root: Path) -> _NoWork:
    """At lab start (a kind's worker): the partial uploads of the last run go."""
    remove_partials(updates_dir(root))
    return NO_WORK


def updates_dir(root: Path) -> Path:
    return root / UPDATES_DIR.lstrip("/")


def receive_package(device: FtdDevice, path: Path, fault: Fault | None = None) -> PackageInfo:
    """A file arrived in /var/sf/updates: it becomes the device's one package
    and the file of the package it replaces is removed. Raises Refused when
    the device cannot take it now. A `corrupt` fault cuts the file short."""
    if fault is not None and fault.action == "corrupt":
        cut_short(path)
    info = inspect_package(path)
    old = device.accept_package(info)
    if old:
        (path.parent / old).unlink(missing_ok=True)
    return info

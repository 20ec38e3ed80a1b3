"""The FTD's file system as surfaces see it: the folders clients expect and
what happens when a file lands in the upgrade folder."""

from __future__ import annotations

from pathlib import Path

from simulator.faults import Fault
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import PackageInfo, cut_short, inspect_package

UPDATES_DIR = "/var/sf/updates"


def make_device_fs(root: Path) -> None:
    """The folders of the device file system that clients expect (made on first use)."""
    for folder in (UPDATES_DIR.lstrip("/"), "home/admin"):
        (root / folder).mkdir(parents=True, exist_ok=True)


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

"""Upgrade package files: small real tar files that stand for big vendor packages.

A package is a signed vendor file (simulator/signed.py) named as the vendor
names it; its manifest says its platform, kind, version and declared
installed size, and the signature covers the whole file. The readiness check
tells a good package from an unsigned, renamed, cut or altered one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.versions import PackageName, Version
from simulator.signed import SignedFile, read_signed, write_signed
from simulator.signed import cut_short as _cut_short

# Stands for the vendor's signing key: only `simulator package make` signs.
_SIGNING_KEY = b"simulator: Cisco release signing key stand-in"
CUT_AT = 700   # bytes: inside the first member's data


@dataclass(frozen=True)
class PackageInfo(SignedFile):
    """What the device knows about an uploaded package."""

    filename: str
    platform: str | None     # None when the file could not be read
    kind: str | None
    version: str | None
    size_mb: int             # declared installed size
    file_bytes: int
    signed: bool
    intact: bool

    @property
    def problem(self) -> str | None:
        """A whole vendor file that is no FTD package (an FXOS bundle) is for another platform, not corrupt."""
        if self.intact and self.kind is None:
            return "model"
        return super().problem

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> PackageInfo:
        return cls(**data)


def make_package(filename: str, directory: Path, size_mb: int | None = None,
                 unsigned: bool = False, corrupt: bool = False) -> Path:
    """Write a package file; `filename` is the vendor's name (platform and version)."""
    name = PackageName.parse(filename)
    declared = size_mb if size_mb is not None else ftd_facts.ftd().package_size_mb[name.kind]
    path = write_signed(directory / filename, {"platform": name.platform, "kind": name.kind,
                                               "version": str(name.version), "size_mb": declared},
                        _SIGNING_KEY, payload="upgrade.sh", unsigned=unsigned)
    if corrupt:
        cut_short(path)
    return path


def cut_short(path: Path) -> None:
    """A package as a broken transfer leaves it."""
    _cut_short(path, CUT_AT)


def inspect_package(path: Path) -> PackageInfo:
    """Read what a package file says about itself, as the device would on upload
    (bounded reads: a sparse or huge file costs a few blocks)."""
    file_bytes = path.stat().st_size
    try:
        meta, signed = read_signed(path, _SIGNING_KEY)
    except ValueError:
        return _unreadable(path, file_bytes)
    try:
        Version.parse(meta["version"])
        return PackageInfo(path.name, meta["platform"], meta["kind"], meta["version"], int(meta["size_mb"]),
                           file_bytes, signed=signed, intact=True)
    except (KeyError, ValueError, TypeError):
        # whole, but another product's file (an FXOS bundle, an ASA image): not for this platform
        return PackageInfo(path.name, None, None, None, 0, file_bytes, signed=False, intact=True)


def _unreadable(path: Path, file_bytes: int) -> PackageInfo:
    """A file cut short or not a vendor file: what its name says, and corrupt."""
    try:
        name: PackageName | None = PackageName.parse(path.name)
    except ValueError:
        name = None
    return PackageInfo(path.name, name.platform if name else None, name.kind if name else None,
                       str(name.version) if name else None, 0, file_bytes, signed=False, intact=False)

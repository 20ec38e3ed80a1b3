"""The FMC's own upgrade packages (seed 001 Table 7:
`Cisco_Secure_FW_Mgmt_Center_Upgrade-Version-build.sh.REL.tar`; before 7.3
`Cisco_Firepower_Mgmt_Center_...`): names, and small signed stand-in files
as for the FTD's (simulator/signed.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from simulator.kinds.ftd.packages import PackageInfo
from simulator.kinds.ftd.versions import Version
from simulator.signed import cut_short, read_signed, write_signed

PLATFORM = "FMC"
_SIGNING_KEY = b"simulator: Cisco FMC release signing key stand-in"
_NAME = re.compile(r"^Cisco_(?:Secure_FW_Mgmt_Center|Firepower_Mgmt_Center)_(?P<kind>Upgrade|Patch|Hotfix_[A-Za-z0-9]+)"
                   r"-(?P<version>\d+\.\d+\.\d+(?:\.\d+)?-\d+)\.sh\.REL\.tar$")
SIZE_MB = {"upgrade": 5200, "patch": 1800, "hotfix": 300}    # declared installed sizes (RECONSTRUCTED)


@dataclass(frozen=True)
class FmcPackageName:
    filename: str
    kind: str
    version: Version

    @classmethod
    def parse(cls, filename: str) -> FmcPackageName:
        m = _NAME.match(filename)
        if not m:
            raise ValueError(f"not an FMC upgrade package name: {filename!r} "
                             "(expected e.g. Cisco_Secure_FW_Mgmt_Center_Upgrade-7.6.1-91.sh.REL.tar)")
        kind = m["kind"].lower()
        return cls(filename, "hotfix" if kind.startswith("hotfix") else kind, Version.parse(m["version"]))


def is_fmc_package(filename: str) -> bool:
    return _NAME.match(filename) is not None


def by_name(filename: str) -> PackageInfo:
    """A package the FMC downloaded itself: what its name says, signed and whole."""
    name = FmcPackageName.parse(filename)
    return PackageInfo(filename, PLATFORM, name.kind, str(name.version), SIZE_MB[name.kind], 0,
                       signed=True, intact=True)


def make_fmc_package(filename: str, directory: Path, *, size_mb: int | None = None, unsigned: bool = False,
                     corrupt: bool = False) -> Path:
    name = FmcPackageName.parse(filename)
    path = write_signed(directory / filename, {"platform": PLATFORM, "kind": name.kind, "version": str(name.version),
                                               "size_mb": size_mb or SIZE_MB[name.kind]},
                        _SIGNING_KEY, payload="upgrade.sh", unsigned=unsigned)
    if corrupt:
        cut_short(path, 700)
    return path


def inspect_fmc_package(path: Path) -> PackageInfo:
    size = path.stat().st_size
    try:
        meta, signed = read_signed(path, _SIGNING_KEY)
        return PackageInfo(path.name, PLATFORM, meta["kind"], meta["version"], int(meta["size_mb"]), size,
                           signed=signed, intact=True)
    except (ValueError, KeyError, TypeError):
        name = FmcPackageName.parse(path.name)
        return PackageInfo(path.name, PLATFORM, name.kind, str(name.version), 0, size, signed=False, intact=False)

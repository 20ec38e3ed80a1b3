"""FTD version numbers and upgrade package names.

Versions look like `7.4.1-172` (major.minor.maintenance-build) or, for a
patch, `7.4.1.1-12`. Package names follow table 3 of the FDM upgrade guide:
`Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.versions import read_numbers

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?(?:-(\d+))?$")


@dataclass(frozen=True, order=True)         # ordered field by field
class Version:
    major: int
    minor: int
    maintenance: int
    patch: int = 0
    build: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        numbers = read_numbers(text, (_VERSION,))
        if numbers is None:
            raise ValueError(f"not an FTD version: {text!r} (expected A.B.C-build, e.g. 7.4.1-172)")
        return cls(*numbers)

    @property
    def numbers(self) -> str:
        """`7.4.1` or `7.4.1.1` (the fourth digit only for patches)."""
        base = f"{self.major}.{self.minor}.{self.maintenance}"
        return f"{base}.{self.patch}" if self.patch else base

    @property
    def train(self) -> str:
        """The A.B a row of the upgrade path table is keyed by."""
        return f"{self.major}.{self.minor}"

    @property
    def release(self) -> Version:
        """This version without its patch digit and build (the A.B.C release)."""
        return Version(self.major, self.minor, self.maintenance)

    def __str__(self) -> str:
        return f"{self.numbers}-{self.build}"


def update_type(current: Version, target: Version) -> str:
    """major (A.x), maintenance (A.x.y) or patch (A.x.y.z), as the guide names them."""
    if target.release == current.release and target.patch:
        return "patch"
    if target.train == current.train:
        return "maintenance"
    return "major"


_PACKAGE = re.compile(
    r"^Cisco_FTD_(?:(?P<platform>SSP(?:-FP[0-9]K)?)_)?(?P<kind>Upgrade|Patch|Hotfix_[A-Za-z0-9]+)"
    r"-(?P<version>\d+\.\d+\.\d+(?:\.\d+)?-\d+)\.sh\.REL\.tar$"
)


@dataclass(frozen=True)
class PackageName:
    """What a vendor package file name says: platform family, kind and version."""

    filename: str
    platform: str  # "" (FTDv / ISA 3000), "SSP" (4100/9300), "SSP-FP1K", "SSP-FP2K", "SSP-FP3K"
    kind: str      # "upgrade", "patch" or "hotfix"
    version: Version

    @classmethod
    def parse(cls, filename: str) -> PackageName:
        m = _PACKAGE.match(filename)
        if not m:
            raise ValueError(
                f"not an FTD upgrade package name: {filename!r} "
                "(expected e.g. Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar)")
        kind = m["kind"].lower()
        kind = "hotfix" if kind.startswith("hotfix") else kind
        return cls(filename, m["platform"] or "", kind, Version.parse(m["version"]))

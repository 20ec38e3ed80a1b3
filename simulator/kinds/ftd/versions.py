"""FTD version numbers and upgrade package names.

Versions look like `7.4.1-172` (major.minor.maintenance-build) or, for a
patch, `7.4.1.1-12`. Package names follow table 3 of the FDM upgrade guide:
`Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?(?:-(\d+))?$")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    maintenance: int
    patch: int = 0
    build: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        m = _VERSION.match(text.strip())
        if not m:
            raise ValueError(f"not an FTD version: {text!r} (expected A.B.C-build, e.g. 7.4.1-172)")
        a, b, c, d, build = m.groups()
        return cls(int(a), int(b), int(c), int(d or 0), int(build or 0))

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

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def _key(self) -> tuple[int, ...]:
        return (self.major, self.minor, self.maintenance, self.patch, self.build)


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

"""FXOS platform bundles: version numbers and small real files that stand for them.

A platform bundle is named `fxos-k9.<a>.<b>.<c>.<build>.SPA` (seed 000,
table 4: `fxos-k9.fxos_version.SPA`) and installs platform version
`<a>.<b>(<c>.<build>)`, e.g. `fxos-k9.2.14.1.131.SPA` <-> `2.14(1.131)`.
The file is a signed vendor file (simulator/signed.py): a tar holding
`manifest.json` (version, declared size, the chassis families it supports, its
payload's digest), a `signature` and a small payload, like the FTD packages,
so a lab models an 850 MB bundle without writing one and a cut or altered
bundle fails verification."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from simulator.signed import SignedFile, cut_short, read_signed, write_signed
from simulator.versions import read_numbers

_SIGNING_KEY = b"simulator: Cisco FXOS release signing key stand-in"
BUNDLE_CUT_AT = 560   # bytes: inside the first member of a bundle
PLATFORMS = ("fp4k", "fp9k")          # chassis families a bundle may support
DEFAULT_SIZE_KB = 853688              # seed ch. 3: "Downloaded Image Size (KB): 853688"

_NAME = re.compile(r"^fxos-k9\.(\d+)\.(\d+)\.(\d+)\.(\d+)\.SPA$")
_VERSIONS = (re.compile(r"^(\d+)\.(\d+)\((\d+)\.(\d+)\)$"),            # 2.14(1.131)
             re.compile(r"^(\d+)\.(\d+)(?:\.(\d+)(?:\.(\d+))?)?$"))    # 2.14.1.131, 2.14.1, 2.14


class FxosVersion(NamedTuple):
    """`2.14(1.131)`: major.minor(maintenance.build); versions order as their numbers do."""

    major: int
    minor: int
    maintenance: int = 0
    build: int = 0

    @classmethod
    def parse(cls, text: str) -> FxosVersion:
        """Accepts `2.14(1.131)`, `2.14.1.131`, `2.14.1`, `2.14` (a train)."""
        numbers = read_numbers(text, _VERSIONS)
        if numbers is None:
            raise ValueError(f"not an FXOS version: {text!r} (expected e.g. 2.14(1.131))")
        return cls(*numbers)

    @classmethod
    def from_filename(cls, filename: str) -> FxosVersion:
        numbers = read_numbers(filename, (_NAME,))
        if numbers is None:
            raise ValueError(f"not an FXOS platform bundle name: {filename!r} "
                             "(expected e.g. fxos-k9.2.14.1.131.SPA)")
        return cls(*numbers)

    @property
    def train(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def filename(self) -> str:
        return f"fxos-k9.{self.major}.{self.minor}.{self.maintenance}.{self.build}.SPA"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}({self.maintenance}.{self.build})"


def is_bundle_name(filename: str) -> bool:
    """`fxos-k9.2.14.1.131.SPA`: what `simulator package make` hands to make_fxos_bundle."""
    return _NAME.match(filename) is not None


def normalize(text: str) -> str:
    """Any accepted spelling -> `2.14(1.131)`."""
    return str(FxosVersion.parse(text))


@dataclass(frozen=True)
class BundleInfo(SignedFile):
    """What the chassis knows about a downloaded platform bundle."""

    filename: str
    version: str | None       # None when the file could not be read
    size_kb: int              # declared size
    file_bytes: int
    platforms: tuple[str, ...]
    signed: bool
    intact: bool

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["platforms"] = list(self.platforms)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> BundleInfo:
        return cls(**{**data, "platforms": tuple(data.get("platforms", PLATFORMS))})


def make_fxos_bundle(filename: str, directory: Path, size_kb: int | None = None,
                     platforms: tuple[str, ...] | list[str] = PLATFORMS,
                     unsigned: bool = False, corrupt: bool = False) -> Path:
    """Write a platform bundle file; `filename` is the vendor's name (it gives the version)."""
    version = FxosVersion.from_filename(filename)
    unknown = set(platforms) - set(PLATFORMS)
    if unknown or not platforms:
        raise ValueError(f"platforms must be among {', '.join(PLATFORMS)}")
    manifest = {"kind": "fxos-platform-bundle", "version": str(version),
                "size_kb": size_kb if size_kb is not None else DEFAULT_SIZE_KB, "platforms": sorted(platforms)}
    path = write_signed(directory / filename, manifest, _SIGNING_KEY, payload="images/fxos-k9-system.bin",
                        unsigned=unsigned)
    if corrupt:
        cut_short(path, at=BUNDLE_CUT_AT)
    return path


def inspect_fxos_bundle(path: Path) -> BundleInfo:
    """Read what a bundle file says about itself, as the chassis does after a
    download (bounded reads: a sparse or huge file costs a few blocks)."""
    try:
        meta, signed = read_signed(path, _SIGNING_KEY)
        version = str(FxosVersion.parse(meta["version"]))
        if meta.get("kind") != "fxos-platform-bundle":
            raise ValueError("not a platform bundle")
        return BundleInfo(path.name, version, int(meta["size_kb"]), path.stat().st_size,
                          tuple(meta.get("platforms") or PLATFORMS), signed=signed, intact=True)
    except (KeyError, ValueError, TypeError):
        try:
            named: str | None = str(FxosVersion.from_filename(path.name))
        except ValueError:
            named = None
        return BundleInfo(path.name, named, 0, path.stat().st_size, PLATFORMS, signed=False, intact=False)

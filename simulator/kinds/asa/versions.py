"""ASA software versions, image file names and the zero-downtime upgrade rule.

Versions are written the ASA way: `9.18(4)` (major.minor(maintenance)) or
`9.18(4)5` with an interim build. Image file names carry the version:
`asa9-20-2-smp-k8.bin` -> 9.20(2), `asa9-18-4-5-lfbff-k8.SPA` -> 9.18(4)5, the
older packed form `asa952-2-lfbff-k8.SPA` -> 9.5(2)2, `cisco-asa-fp2k.9.20.2.SPA`
-> 9.20(2), `asav9-20-2.zip` -> 9.20(2).

The zero-downtime rule (seed 002, table 81-1; seed 003): maintenance releases
within a minor release in any order; a minor release only to the next minor
release (no skipping); a major release only from the last minor release of the
previous major. The minor trains of each major come from data (asa.yaml
`trains`), since numbers are not contiguous (there is no 9.11)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"^(\d+)\.(\d+)\((\d+)\)(\d+)?$")
_DOTTED = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?$")


@total_ordering
@dataclass(frozen=True)
class AsaVersion:
    major: int
    minor: int
    maintenance: int
    interim: int = 0

    @classmethod
    def parse(cls, text: str) -> AsaVersion:
        """`9.18(4)5`, `9.18(4)` or the dotted form `9.18.4.5`."""
        text = str(text).strip()
        m = _VERSION.match(text) or _DOTTED.match(text)
        if not m:
            raise ValueError(f"not an ASA version: {text!r} (expected e.g. 9.18(4) or 9.18(4)5)")
        a, b, c, d = m.groups()
        return cls(int(a), int(b), int(c), int(d or 0))

    @property
    def train(self) -> str:
        """The minor release (`9.18`): a row of the train table."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}({self.maintenance})" + (str(self.interim) if self.interim else "")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AsaVersion):
            return NotImplemented
        return self._key() < other._key()

    def _key(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.maintenance, self.interim)

    def dashed(self) -> str:
        """`9-18-4-5`: the version as new-style image names write it."""
        parts = [self.major, self.minor, self.maintenance] + ([self.interim] if self.interim else [])
        return "-".join(str(p) for p in parts)

    def dotted(self) -> str:
        parts = [self.major, self.minor, self.maintenance] + ([self.interim] if self.interim else [])
        return ".".join(str(p) for p in parts)


# -- image file names ------------------------------------------------------------------------
# family -> regular expression; group `v` is the version part of the name.
_IMAGES: dict[str, re.Pattern[str]] = {
    "smp": re.compile(r"^asa(?P<v>[0-9-]+)-smp-k8\.bin$", re.I),
    "lfbff": re.compile(r"^asa(?P<v>[0-9-]+)-lfbff-k8\.spa$", re.I),
    "asav": re.compile(r"^asav(?P<v>[0-9-]+)\.zip$", re.I),
    "fp1k": re.compile(r"^cisco-asa-fp1k\.(?P<v>[0-9.]+)\.spa$", re.I),
    "fp2k": re.compile(r"^cisco-asa-fp2k\.(?P<v>[0-9.]+)\.spa$", re.I),
    "fp3k": re.compile(r"^cisco-asa-fp3k\.(?P<v>[0-9.]+)\.spa$", re.I),
}


@dataclass(frozen=True)
class ImageName:
    filename: str
    family: str          # smp | lfbff | asav | fp1k | fp2k | fp3k
    version: AsaVersion

    @classmethod
    def parse(cls, filename: str) -> ImageName | None:
        """What an image file name says, or None when it is not an ASA image name."""
        name = filename.rsplit("/", 1)[-1]
        for family, rx in _IMAGES.items():
            m = rx.match(name)
            if m is None:
                continue
            version = _version_of(m["v"])
            return cls(name, family, version) if version is not None else None
        return None


def _version_of(text: str) -> AsaVersion | None:
    if "." in text:                              # cisco-asa-fp2k.9.20.2.SPA
        m = _DOTTED.match(text)
        return AsaVersion.parse(text) if m else None
    parts = text.split("-")
    if len(parts) >= 3 and all(p.isdigit() for p in parts) and len(parts) <= 4:
        # new style: 9-18-4[-5]
        return AsaVersion(*(int(p) for p in parts))
    # old packed style: 952[-2] = 9.5(2)[2]; four digits are read with a
    # two-digit minor (ASAv's asa9121-smp-k8.bin = 9.12(1)).
    packed, *rest = parts
    if not packed.isdigit() or len(packed) < 3 or len(rest) > 1 or (rest and not rest[0].isdigit()):
        return None
    cut = 3 if len(packed) >= 4 else 2
    return AsaVersion(int(packed[0]), int(packed[1:cut]), int(packed[cut:]), int(rest[0]) if rest else 0)


def image_name(family: str, version: AsaVersion) -> str:
    """The vendor's file name for an image of `family` at `version`."""
    if family == "smp":
        return f"asa{version.dashed()}-smp-k8.bin"
    if family == "lfbff":
        return f"asa{version.dashed()}-lfbff-k8.SPA"
    if family == "asav":
        return f"asav{version.dashed()}.zip"
    if family in ("fp1k", "fp2k", "fp3k"):
        return f"cisco-asa-{family}.{version.dotted()}.SPA"
    raise ValueError(f"unknown ASA image family {family!r}")


# -- zero-downtime upgrades ------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """A version change between the two units of a failover pair."""

    kind: str            # same | maintenance | minor | major
    supported: bool      # a zero-downtime upgrade (failover keeps working across it)
    reason: str | None   # why not: skipped_minor | not_last_minor | skipped_major | unknown_train


def upgrade_step(current: AsaVersion, target: AsaVersion, trains: dict[int, list[str]]) -> Step:
    """Classify a change from `current` to `target` by table 81-1 (seed 002).
    Downgrades follow the same rule read backwards (the pair only cares that
    the two versions can run side by side)."""
    if current == target:
        return Step("same", True, None)
    low, high = sorted((current, target))
    if low.train == high.train:
        return Step("maintenance", True, None)
    low_trains, high_trains = trains.get(low.major), trains.get(high.major)
    if not low_trains or not high_trains or low.train not in low_trains or high.train not in high_trains:
        return Step("minor" if low.major == high.major else "major", False, "unknown_train")
    if low.major == high.major:
        i, j = low_trains.index(low.train), low_trains.index(high.train)
        return Step("minor", j == i + 1, None if j == i + 1 else "skipped_minor")
    if high.major != low.major + 1:
        return Step("major", False, "skipped_major")
    if low.train != low_trains[-1]:
        return Step("major", False, "not_last_minor")
    if high.train != high_trains[0]:
        return Step("major", False, "skipped_minor")
    return Step("major", True, None)

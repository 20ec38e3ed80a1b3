"""ASA software versions, image file names and the zero-downtime upgrade rule.

Versions are written the ASA way: `9.18(4)` (major.minor(maintenance)) or
`9.18(4)5` with an interim build. Image file names carry the version (their
patterns per family are facts.yaml `images`): `asa9-20-2-smp-k8.bin` ->
9.20(2), `asa9-18-4-5-lfbff-k8.SPA` -> 9.18(4)5, the older packed form
`asa952-2-lfbff-k8.SPA` -> 9.5(2)2, `cisco-asa-fp2k.9.20.2.SPA` -> 9.20(2),
`asav9-20-2.zip` -> 9.20(2).

The zero-downtime rule (seed 002, table 81-1; seed 003): maintenance releases
within a minor release in any order; a minor release only to the next minor
release (no skipping); a major release only from the last minor release of the
previous major. The minor trains of each major come from data (facts.yaml
`trains`), since numbers are not contiguous (there is no 9.11)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from simulator.kinds.asa.facts import asa_data, say
from simulator.versions import read_numbers

_VERSION = re.compile(r"^(\d+)\.(\d+)\((\d+)\)(\d+)?$")
_DOTTED = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True, order=True)         # ordered field by field: major, minor, maintenance, interim
class AsaVersion:
    major: int
    minor: int
    maintenance: int
    interim: int = 0

    @classmethod
    def parse(cls, text: str) -> AsaVersion:
        """`9.18(4)5`, `9.18(4)` or the dotted form `9.18.4.5`."""
        numbers = read_numbers(text, (_VERSION, _DOTTED))
        if numbers is None:
            raise ValueError(say("profile", "bad_version", text=str(text).strip()))
        return cls(*numbers)

    @property
    def train(self) -> str:
        """The minor release (`9.18`): a row of the train table."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}({self.maintenance})" + (str(self.interim) if self.interim else "")

    def dashed(self) -> str:
        """`9-18-4-5`: the version as new-style image names write it."""
        return "-".join(self._numbers())

    def dotted(self) -> str:
        """`9.18.4.5`: the version as Firepower image names write it."""
        return ".".join(self._numbers())

    def _numbers(self) -> list[str]:
        return [str(n) for n in (self.major, self.minor, self.maintenance, self.interim)[:4 if self.interim else 3]]


# -- image file names ------------------------------------------------------------------------
@cache
def _families() -> dict[str, re.Pattern[str]]:
    """Family -> the pattern of its file names (facts.yaml `images`)."""
    return {family: re.compile(spec.pattern, re.IGNORECASE) for family, spec in asa_data().images.items()}


@dataclass(frozen=True)
class ImageName:
    filename: str
    family: str          # a key of facts.yaml `images` (smp, lfbff, asav, fp1k ...)
    version: AsaVersion

    @classmethod
    def parse(cls, filename: str) -> ImageName | None:
        """What an image file name says, or None when it is not an ASA image name."""
        name = filename.rsplit("/", 1)[-1]
        for family, rx in _families().items():
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
    spec = asa_data().images.get(family)
    if spec is None:
        raise ValueError(f"unknown ASA image family {family!r}")
    return spec.name.format(dashed=version.dashed(), dotted=version.dotted())


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


def zero_downtime(current: str | AsaVersion, target: str | AsaVersion) -> Step:
    """Table 81-1 of seed 002 between two versions."""
    return upgrade_step(AsaVersion.parse(str(current)), AsaVersion.parse(str(target)), asa_data().trains)


def zero_downtime_warning(current: str, target: str) -> str | None:
    """The warning an operator sees for a version change the pair cannot run across."""
    step = zero_downtime(current, target)
    if step.supported:
        return None
    cur, tgt = AsaVersion.parse(current), AsaVersion.parse(target)
    trains = asa_data().trains
    low = min(cur, tgt)
    following = trains.get(low.major, [])
    nxt = following[following.index(low.train) + 1] if low.train in following[:-1] else "?"
    last = trains.get(low.major, ["?"])[-1]
    return say("zero_downtime", step.reason or "unknown_train", current=current, target=target, next=nxt,
               major=low.major, last=last)


def model_runs(model: str, version: str | AsaVersion) -> bool:
    """Does this hardware run this release?"""
    data = asa_data()
    info = data.models.get(model)
    if info is None:
        return False
    first, last = data.train_index(info.first_train), data.train_index(info.last_train)
    here = data.train_index(AsaVersion.parse(str(version)).train)
    return first is not None and last is not None and here is not None and first <= here <= last


def hardware_range(model: str, version: str | AsaVersion) -> str:
    """Why a profile or a reimage cannot put `version` on `model` (the simulator's words)."""
    data = asa_data()
    if model not in data.models:
        return say("profile", "unknown_model", model=model, models=", ".join(data.models))
    info = data.models[model]
    return say("profile", "hardware_range", model=model, first=info.first_train, last=info.last_train,
               version=version)

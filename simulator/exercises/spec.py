"""The schema of an exercise file (exercises/*.yaml): a starting lab (a
profile, faults, start steps), a goal in words, and checks as data. Each
check and each start step is one mapping with exactly one type key beside
its `name`/`description`, so a file reads as a list of what is wanted."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from simulator.faults import Fault
from simulator.kinds.spec import Strict


class Match(Strict):
    """A journal event: its kind (exact), optionally its device, and any other fields it must carry."""

    model_config = ConfigDict(extra="allow")
    kind: str = Field(min_length=1)
    device: str | None = None

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def matches(self, event: dict[str, Any]) -> bool:
        return (event["kind"] == self.kind and (self.device is None or event["device"] == self.device)
                and all(event.get(k) == v for k, v in self.fields.items()))

    def label(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.fields.items())
        return " ".join(filter(None, [self.device, self.kind, extra]))


# -- checks ---------------------------------------------------------------------------------
class Versions(Strict):
    device: str | None = None
    pair: str | None = None
    version: str = Field(min_length=1)          # a prefix: "7.6.0" matches 7.6.0-113
    units: Literal["all", "any"] = "all"

    @model_validator(mode="after")
    def _one_target(self) -> Versions:
        if (self.device is None) == (self.pair is None):
            raise ValueError("give `device` or `pair` (one of them)")
        return self


class State(Strict):
    device: str
    state: str | list[str]


class TrafficLost(Strict):
    monitor: str                                # an HA pair, or a standalone device
    seconds: float = Field(ge=0)


class DoneWithin(Strict):
    minutes: float = Field(gt=0)
    until: Match = Match(kind="upgrade.finished")   # the last such event ends the work


CHECK_TYPES = ("versions", "state", "traffic_lost_max", "never_upgraded_while_active", "done_within", "order",
               "absent")


class Check(Strict):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    versions: Versions | None = None
    state: State | None = None
    traffic_lost_max: TrafficLost | None = None
    never_upgraded_while_active: str | None = None      # an HA pair
    done_within: DoneWithin | None = None
    order: list[Match] | None = Field(default=None, min_length=2)
    absent: Match | list[Match] | None = None

    @model_validator(mode="after")
    def _one_type(self) -> Check:
        given = [t for t in CHECK_TYPES if getattr(self, t) is not None]
        if len(given) != 1:
            raise ValueError(f"expected exactly one check type of {', '.join(CHECK_TYPES)} "
                             f"(got {', '.join(given) or 'none'})")
        return self

    @property
    def type(self) -> str:
        return next(t for t in CHECK_TYPES if getattr(self, t) is not None)

    @property
    def args(self) -> Any:
        return getattr(self, self.type)


# -- start steps ----------------------------------------------------------------------------
class PackageStep(Strict):
    device: str
    file: str = Field(min_length=1)             # the vendor's file name (`simulator package make`)


class UpgradeStep(Strict):
    device: str
    auto_cancel: bool = True


class WaitStep(Strict):
    device: str
    state: str
    minutes: float = Field(default=120, gt=0)   # simulated time it may take at most


class PowerStep(Strict):
    device: str
    action: Literal["on", "off", "cycle"]


STEP_TYPES = ("package", "upgrade", "wait", "power")


class Step(Strict):
    package: PackageStep | None = None
    upgrade: UpgradeStep | None = None
    wait: WaitStep | None = None
    power: PowerStep | None = None

    @model_validator(mode="after")
    def _one_type(self) -> Step:
        given = [t for t in STEP_TYPES if getattr(self, t) is not None]
        if len(given) != 1:
            raise ValueError(f"expected exactly one step of {', '.join(STEP_TYPES)} (got {', '.join(given) or 'none'})")
        return self

    @property
    def type(self) -> str:
        return next(t for t in STEP_TYPES if getattr(self, t) is not None)

    @property
    def args(self) -> Any:
        return getattr(self, self.type)


class ExerciseFile(Strict):
    title: str = Field(min_length=1)
    goal: str = Field(min_length=1)
    # A bundled profile's name, {base: NAME, <top-level keys that replace the base's>}, or a whole profile.
    profile: str | dict[str, Any]
    faults: list[Fault] = Field(default_factory=list)
    start: list[Step] = Field(default_factory=list)
    checks: list[Check] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> ExerciseFile:
        names = [c.name for c in self.checks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"check names must be unique ({', '.join(twice)} used twice)")
        return self

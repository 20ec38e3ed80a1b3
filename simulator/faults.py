"""Fault plan: named injection points where a test, a profile, a YAML file or
the control API makes a device fail, hang, lose power, slow down, fill its
disk, corrupt a transfer, drop or delay connections, or run its clock off.

A fault fires when the device reaches its point and every trigger holds:
`after` earlier occurrences skipped, `percent` reached (upgrade stages),
simulated time at or past `at`, and a draw under `probability` from the lab's
seeded generator (the same seed and plan give the same run). Points in TIMED
fire by themselves: at `at`, or at once when added.

Adding a fault or reading the plan never changes a device by itself except
for the timed points; every firing is counted (`fired`, `fired_at`)."""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# point pattern -> (what it does, actions it accepts)
POINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "upgrade.stage:<stage>": (
        "before an upgrade stage runs (`upgrade.stage:300_os`, or `upgrade.stage:*` with `percent`): "
        "fail ends the stage with the device's error (auto-cancel rolls back; without it the device "
        "waits in maintenance mode), hang stops the job (cancel still works), power_loss makes the "
        "device go dark and unusable, slow stretches the stage by `factor`",
        ("fail", "hang", "power_loss", "slow")),
    "readiness": ("when a readiness check evaluates: fail adds `message` to its findings", ("fail",)),
    "rollback": ("when a cancel or auto-cancel rollback stage runs: hang, power_loss, slow",
                 ("hang", "power_loss", "slow")),
    "revert": ("when a revert stage runs: hang, power_loss, slow", ("hang", "power_loss", "slow")),
    "reboot": ("when the device reboots: power_loss/fail leave it unusable after boot, hang keeps it down",
               ("fail", "hang", "power_loss")),
    "boot": ("when the device boots: fail leaves it unusable, hang keeps it booting, slow stretches the boot",
             ("fail", "hang", "slow")),
    "package.transfer": ("a package file arrives (SFTP, SCP, REST upload, an FMC's copy to the device): "
                         "disk_full refuses it with "
                         "`No space left on device`, corrupt truncates it (the readiness check then "
                         "finds it corrupt), fail refuses it with `message`",
                         ("disk_full", "corrupt", "fail")),
    "ssh.login": ("an SSH login: reset drops the connection, delay waits `seconds` (simulated) first",
                  ("reset", "delay")),
    "https.request": ("an HTTPS request: reset drops the connection, status answers `status` (500 or 503), "
                      "delay waits `seconds` (simulated) first", ("reset", "status", "delay")),
    "health": ("an FMC's health tests of a device (`device`: a managed device, or the FMC for its own "
               "upgrade; seed 001 Table 9): fail makes the test named in `message` (default Disk Status) "
               "alert: the device's healthStatus is red while the fault is unspent, and each upgrade or "
               "readiness request the FMC checks against it is refused (one per `times`)", ("fail",)),
    "registration": ("when an FMC's device registration task completes (`device`: the FMC): fail fails "
                     "the Registration task with `message`", ("fail",)),
    "clock.ntp": ("timed: the device's clock runs `seconds` off from then on (NTP lost)", ("offset",)),
    "power": ("timed: the device loses power (power_loss), as a pulled cord or the IPMI button",
              ("power_loss",)),
    "ha.sync": ("when a joining HA unit takes the active unit's configuration (`device`: the joining "
                "unit): fail leaves it in Cold Standby with the configuration out of sync until HA is "
                "resumed or the unit reboots", ("fail",)),
    "failover.link": ("timed, on an HA pair (`device`: the pair's name, or none for every pair): cut the "
                      "failover link (both units go active: split brain); with `seconds` it comes back "
                      "after that long", ("cut",)),
}
TIMED = ("clock.ntp", "power", "failover.link")
ACTIONS = tuple(sorted({a for _, actions in POINTS.values() for a in actions}))


def point_pattern(point: str) -> str | None:
    """The POINTS key a concrete point (or wildcard) belongs to."""
    if point.startswith("upgrade.stage:") and len(point) > len("upgrade.stage:"):
        return "upgrade.stage:<stage>"
    return point if point in POINTS else None


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    point: str
    action: str
    device: str | None = None               # None: any device
    message: str | None = None
    factor: float = Field(default=3.0, gt=0)       # slow
    seconds: float | None = None                   # delay, offset
    status: int | None = Field(default=None, ge=500, le=599)   # https.request status
    times: int | None = Field(default=1, ge=1)     # fires this many times; None: every time
    after: int = Field(default=0, ge=0)            # skip this many occurrences first
    percent: int | None = Field(default=None, ge=0, le=100)
    at: float | None = Field(default=None, ge=0)   # simulated seconds since the lab first started
    probability: float = Field(default=1.0, gt=0, le=1)
    id: int = 0
    seen: int = 0
    fired: int = 0
    fired_at: list[float] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Fault:
        pattern = point_pattern(self.point)
        if pattern is None:
            raise ValueError(f"unknown point {self.point!r}; expected one of {', '.join(POINTS)}")
        allowed = POINTS[pattern][1]
        if self.action not in allowed:
            raise ValueError(f"action {self.action!r} does not apply at {self.point}; expected one of "
                             f"{', '.join(allowed)}")
        if self.action in ("delay", "offset") and self.seconds is None:
            raise ValueError(f"action {self.action} needs `seconds`")
        if self.action == "status" and self.status is None:
            raise ValueError("action status needs `status` (for example 503)")
        return self

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, device: str, point: str) -> bool:
        return (self.device in (None, device) and not self.spent
                and (self.point == point or fnmatch.fnmatchcase(point, self.point)))


class FaultPlan:
    def __init__(self, now: Callable[[], float] = lambda: 0.0, rng: random.Random | None = None) -> None:
        self.now = now
        self.rng = rng or random.Random(0)
        self.faults: list[Fault] = []
        self.on_add: Callable[[Fault], None] | None = None   # the lab schedules timed faults
        self._next_id = 1

    def add(self, point: str, action: str, device: str | None = None, **options: Any) -> Fault:
        return self.add_fault(Fault(point=point, action=action, device=device, **options))

    def add_fault(self, fault: Fault) -> Fault:
        if not fault.id:
            fault.id = self._next_id
        self._next_id = max(self._next_id, fault.id + 1)
        self.faults.append(fault)
        if self.on_add is not None:
            self.on_add(fault)
        return fault

    def get(self, fault_id: int) -> Fault | None:
        return next((f for f in self.faults if f.id == fault_id), None)

    def remove(self, fault: Fault) -> None:
        self.faults.remove(fault)

    def take(self, device: str, point: str, percent: int | None = None) -> Fault | None:
        """The fault that fires for `device` at `point` now, if any (counted as fired)."""
        now = self.now()
        for fault in self.faults:
            if not fault.matches(device, point) or fault.point in TIMED:
                continue
            if fault.at is not None and now < fault.at:
                continue
            if fault.percent is not None and (percent is None or percent < fault.percent):
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            if fault.probability < 1 and self.rng.random() >= fault.probability:
                continue
            return self.fire(fault)
        return None

    def peek(self, device: str, point: str) -> Fault | None:
        """The unspent fault at `point` for `device` that is due, without counting it (a standing
        condition a device shows until the fault is spent or removed)."""
        now = self.now()
        return next((f for f in self.faults if f.matches(device, point) and (f.at is None or now >= f.at)), None)

    def fire(self, fault: Fault) -> Fault:
        fault.fired += 1
        fault.fired_at.append(round(self.now(), 3))
        return fault

    # -- persistence and files ---------------------------------------------------
    def dump(self) -> list[dict[str, Any]]:
        return [f.model_dump() for f in self.faults]

    def load(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.add_fault(Fault.model_validate(item))

    def replace(self, items: list[dict[str, Any]]) -> None:
        """A snapshot's plan, with what had fired then (nobody is told: the lab schedules
        timed faults again). Ids go on from the highest ever given, so none is reused."""
        on_add, self.on_add = self.on_add, None
        next_id, self.faults = self._next_id, []
        try:
            self.load(items)
        finally:
            self.on_add = on_add
            self._next_id = max(self._next_id, next_id)


def describe_points() -> str:
    return "\n".join(f"{point}: {text}" for point, (text, _) in POINTS.items())

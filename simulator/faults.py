"""Fault plan: named injection points where a test (later a profile or the
control API) makes a device fail, hang, lose power or slow down.

Injection points a device model asks about:
  upgrade.stage:<stage>   before an upgrade stage runs (e.g. upgrade.stage:300_os)
  readiness               when a readiness check evaluates
  rollback                when a cancel/auto-cancel rollback starts
  revert                  when a revert starts
  reboot                  when the device reboots
  boot                    when the device boots

Actions: fail (the device's own error, or `message`), hang (the job stops
progressing; cancel still works), power_loss (the device goes dark), slow
(durations there are stretched by `factor`)."""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIONS = ("fail", "hang", "power_loss", "slow")


@dataclass
class Fault:
    point: str
    action: str
    device: str | None = None        # None: any device
    message: str | None = None
    factor: float = 1.0               # for `slow`
    times: int | None = 1             # fires this many times; None: every time
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; expected one of {', '.join(ACTIONS)}")

    def matches(self, device: str, point: str) -> bool:
        return (self.device in (None, device) and self.point == point
                and (self.times is None or self.fired < self.times))


class FaultPlan:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, point: str, action: str, device: str | None = None, **options) -> Fault:
        fault = Fault(point, action, device, **options)
        self.faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        self.faults.remove(fault)

    def take(self, device: str, point: str) -> Fault | None:
        """The fault that fires for `device` at `point` now, if any (counted as fired)."""
        for fault in self.faults:
            if fault.matches(device, point):
                fault.fired += 1
                return fault
        return None

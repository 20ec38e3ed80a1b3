"""What every device model shares: the lab services it is given, and the error
it raises when an operation is refused."""

from __future__ import annotations

import random
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator.clock import Clock, Timer
from simulator.faults import Fault, FaultPlan
from simulator.journal import Journal

if TYPE_CHECKING:
    from simulator.machines import Trigger


@dataclass
class DeviceContext:
    """The lab services a device model uses; one instance shared by all devices."""

    clock: Clock
    journal: Journal
    faults: FaultPlan = field(default_factory=FaultPlan)
    rng: random.Random = field(default_factory=random.Random)

    def take_fault(self, device: str, point: str, percent: int | None = None) -> Fault | None:
        """The plan's fault that fires at `point` for `device` now, if any; the journal records it."""
        fault = self.faults.take(device, point, percent=percent)
        if fault is not None:
            self.journal.emit(device, "fault", point=point, action=fault.action, id=fault.id)
        return fault


    def standing_fault(self, device: str, point: str) -> Fault | None:
        """The plan's fault at `point` for `device` that holds now, not counted (see FaultPlan.peek)."""
        return self.faults.peek(device, point)


class DeviceBase:
    """What every device model does the same way: its journal events, its one
    pending timer on the lab clock, reproducible ids, and a clock that NTP
    trouble can put off (`clock_offset`). Subclasses set `ctx`, `name`,
    `clock_offset` and `_timer` in their constructor."""

    kind: str
    ctx: DeviceContext
    name: str
    model: str
    version: str
    serial: str
    username: str
    password: str
    clock_offset: float
    _timer: Timer | None
    state: str
    ha: Any = None                 # the failover pair this unit belongs to, if any
    host: DeviceBase | None = None     # the device this one runs on (a chassis), if any
    host_slot: int | None = None

    @property
    def services_up(self) -> bool:
        """Its management services (SSH) answer."""
        raise NotImplementedError

    @property
    def apps_up(self) -> bool:
        """It runs its applications and passes traffic."""
        return self.services_up

    def power_on(self) -> None:
        raise NotImplementedError

    def power_off(self, cause: str = "operator") -> None:
        raise NotImplementedError

    def reboot(self) -> None:
        """An operator's reboot of the running software (a BMC's graceful restart)."""
        raise Refused("not_supported", f"{self.name}: rebooting a {self.kind} device is not simulated")

    def shutdown(self) -> None:
        """A graceful shutdown to power off (a BMC's soft power-off, ACPI's power button)."""
        raise Refused("not_supported", f"{self.name}: a graceful shutdown of a {self.kind} device is not simulated")

    def require_host_up(self) -> None:
        """Refuse an operator's power-on while the device's host is down."""

    def reimage(self, version: str | None = None) -> None:
        """Reinstall the software from scratch (ValueError: a version it cannot run)."""
        raise Refused("not_supported", f"{self.name}: reimaging a {self.kind} device is not simulated")

    def summary(self) -> dict[str, Any]:
        """What the control API adds about the device's work in progress."""
        return {}

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def restore(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def new_id(self) -> str:
        """A fresh object id, reproducible under the lab's seed."""
        return str(uuidlib.UUID(int=self.ctx.rng.getrandbits(128), version=4))

    def local_time(self) -> float:
        """The time the device believes it is."""
        return self.ctx.clock.now() + self.clock_offset

    def set_clock_offset(self, seconds: float) -> None:
        self.clock_offset = seconds
        self._emit("clock.offset", seconds=seconds)

    def _emit(self, kind: str, **fields: Any) -> None:
        self.ctx.journal.emit(self.name, kind, **fields)

    def _state_changed(self) -> None:
        self._emit("state", state=self.state)

    def _after(self, seconds: float, callback: Callable[..., Any], *args: Any) -> None:
        """Replace the device's pending timer."""
        self._cancel_timer()
        self._timer = self.ctx.clock.call_later(seconds, callback, *args)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class SwitchedPower:
    """Power for a box whose machine has an `off` state and the `power_up` and `cut_power`
    triggers (FMC, SPS): on only from off; off from anything, its pending timer dropped."""

    state: str
    power_up: Trigger
    cut_power: Trigger
    _cancel_timer: Callable[[], None]

    def power_on(self) -> None:
        if self.state == "off":
            self.power_up()

    def power_off(self, cause: str = "operator") -> None:
        if self.state != "off":
            self._cancel_timer()
            self.cut_power()
            self._power_lost()

    def _power_lost(self) -> None:
        """What the box loses with its power beyond its state."""


class Refused(Exception):
    """An operation the device refuses, with the device's own message.

    `reason` is a stable key (for surfaces that map it to their own codes)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


DISK_FULL = "No space left on device"


def transfer_fault(device: Any) -> Fault | None:
    """The `package.transfer` fault for a transfer that starts now, if any.
    disk_full and fail raise Refused at once; corrupt is handed to receive_package."""
    fault = device.ctx.take_fault(device.name, "package.transfer")
    if fault is None:
        return None
    if fault.action == "disk_full":
        raise Refused("disk_full", DISK_FULL)
    if fault.action == "fail":
        raise Refused("transfer_failed", fault.message or "Transfer failed")
    return fault

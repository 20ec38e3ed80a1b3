"""What every device model shares: the lab services it is given, and the error
it raises when an operation is refused."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..faults import Fault, FaultPlan
from ..journal import Journal


@dataclass
class DeviceContext:
    """The lab services a device model uses; one instance shared by all devices."""

    clock: Clock
    journal: Journal
    faults: FaultPlan = field(default_factory=FaultPlan)
    rng: random.Random = field(default_factory=random.Random)


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
    fault = device.ctx.faults.take(device.name, "package.transfer")
    if fault is None:
        return None
    device.ctx.journal.emit(device.name, "fault", point="package.transfer", action=fault.action, id=fault.id)
    if fault.action == "disk_full":
        raise Refused("disk_full", DISK_FULL)
    if fault.action == "fail":
        raise Refused("transfer_failed", fault.message or "Transfer failed")
    return fault

"""What every device model shares: the lab services it is given, and the error
it raises when an operation is refused."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..clock import Clock
from ..faults import FaultPlan
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

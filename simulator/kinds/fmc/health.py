"""The health tests that block a device upgrade through the FMC (seed 001,
Table 9), read from the devices' real state: Disk Usage (the space the
upgrade needs), the FTD HA status (in sync, not split brain) and Time
Synchronization (an alert only above a 10 s offset); and from the fault
plan's `health` point (any test, e.g. Database or Disk Status)."""

from __future__ import annotations

from typing import Any

from simulator.kinds.fmc.facts import fmc, text
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.packages import PackageInfo


def alerts(unit: Any) -> list[str]:
    """The device's alerting upgrade-related health tests, package aside."""
    found = []
    if abs(unit.clock_offset) > fmc().health.time_offset_max:
        found.append(text("health_time", device=unit.name, offset=round(abs(unit.clock_offset)),
                          limit=round(fmc().health.time_offset_max)))
    pair = unit.ha
    refusal = pair.upgrade_refusal(unit) if pair is not None else None
    if refusal is not None:
        found.append(text("health_ha", device=unit.name, detail=refusal.message))
    return found


def fault_alert(device: Any, *, count: bool) -> str | None:
    """The `health` fault's alert for `device` (counted as fired when it refuses something)."""
    ctx = device.ctx
    fault = ctx.take_fault(device.name, "health") if count else ctx.standing_fault(device.name, "health")
    if fault is None:
        return None
    return text("health_fault", test=fault.message or fmc().health.fault_test, device=device.name)


def upgrade_alerts(unit: Any, package: PackageInfo) -> list[str]:
    """`alerts`, and Disk Usage: the space the upgrade calculates it needs (the package on
    the device already counts as used)."""
    found = alerts(unit)
    needed = int(package.size_mb * ftd_facts.ftd().disk_needed_factor)
    if unit.package is not None and unit.package.filename == package.filename:
        needed -= package.size_mb
    if unit.disk_free_mb < needed:
        found.append(text("health_disk", device=unit.name, needed_mb=needed, free_mb=unit.disk_free_mb))
    faulted = fault_alert(unit, count=True)
    return found + ([faulted] if faulted else [])

"""The console's vendor text (simulator/data/console/ftd.yaml), rendered for
one device: the lines of each boot milestone with their simulated offsets,
the login prompts and the rescue shell's texts."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from simulator import facts as vendor
from simulator.kinds.ftd import views
from simulator.kinds.ftd.model import FtdDevice


@dataclass(frozen=True)
class Line:
    at: float       # simulated seconds after the milestone's event
    text: str


class _Blank(dict):
    """format_map values: a missing field renders empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, values: dict[str, Any]) -> str:
    return template.format_map(_Blank(values))


@cache
def data() -> dict[str, Any]:
    return vendor.read_yaml("kinds/ftd/console.yaml")


def family(device: FtdDevice) -> str:
    for name, models in (data().get("families") or {}).items():
        if device.model in models:
            return name
    return "appliance"


def values(device: FtdDevice, **extra: Any) -> dict[str, Any]:
    """What the placeholders of the console texts stand for on this device."""
    v = device.ver
    hardware = device.info.asa_hardware.split(",")
    memory = hardware[1].split()[0] if len(hardware) > 1 and hardware[1].split() else ""
    mac = device.uuid.replace("-", "")[:6]
    return {
        "hostname": device.hostname, "version": device.version, "numbers": v.numbers, "build": v.build,
        "model": device.info.description, "platform": hardware[0].strip(), "memory_mb": memory,
        "mac": "00:27:e3:" + ":".join(mac[i:i + 2] for i in range(0, 6, 2)), "serial": device.serial,
        "asa_version": device.asa_version, "os_line": views.os_line(device),
        "date": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(device.ctx.clock.now())), **extra,
    }


def milestone(device: FtdDevice, name: str, **extra: Any) -> list[Line]:
    """The lines of one milestone, filled in, in the order they print."""
    entries = (data()["milestones"].get(name) or [])
    mine = family(device)
    filled = values(device, **extra)
    lines = [Line(float(e.get("at", 0)), fill(str(e.get("text", "")), filled))
             for e in entries if e.get("family") in (None, mine)]
    return sorted(lines, key=lambda line: line.at)   # stable: same offset keeps file order


def reset_cause(kind: str) -> str:
    return (data().get("reset_causes") or {}).get(kind, "ResetRequest")


def message(event: dict[str, Any]) -> str | None:
    """The console line for a journal event that is not a milestone, if any."""
    template = (data().get("messages") or {}).get(event["kind"])
    return fill(template, event) if template else None


def login_text(key: str, device: FtdDevice) -> str:
    return fill(data()["login"][key], values(device))


def rescue_text(key: str, device: FtdDevice, **extra: Any) -> str:
    return fill(data()["rescue"][key], values(device, **extra))

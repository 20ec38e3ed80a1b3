"""The file descriptors a lab's sockets need, and the one-line refusal of a lab
that cannot have them in one process.

`precheck` reads a profile's YAML alone, with the listeners of each kind from
kinds/listeners.yaml: `simulator up --shards 1` refuses a lab too big for one
process before it validates the profile and imports the device kinds (seconds
on a loaded machine). lab.check_descriptors makes the same check on the
validated profile and the kinds themselves."""

from __future__ import annotations

import resource
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from simulator.profile_files import resolve

# A held port (sockets.py) is one socket, bound or listening. Besides its listeners a lab keeps
# room for the runtime's own files (journal, state store, libraries) and a couple of hundred
# client connections at once (past that, asyncio pauses accepting for a moment).
HELD_PORT_FDS = 1
SPARE_FDS = 256


@cache
def _kinds() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "kinds" / "listeners.yaml").read_text())
    return data


def allowed(needed: int) -> int | None:
    """The descriptors this process may open, the soft limit raised to the hard one first when
    `needed` is more, as servers do (None: no limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and needed > soft and soft != hard:
        soft = hard if hard != resource.RLIM_INFINITY else needed
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return None if soft == resource.RLIM_INFINITY else soft


def check(lab: str, ports: int, fds: int, devices: int) -> None:
    """Refuse, in one line, a lab whose `fds` (for `ports` listeners) this process cannot open."""
    needed = fds + SPARE_FDS
    soft = allowed(needed)
    if soft is not None and needed > soft:
        raise OSError(f"lab {lab} needs about {needed:,} file descriptors for {devices:,} devices "
                      f"({ports / devices:.0f} listening ports each, and room for clients) but this process may "
                      f"open {soft:,} (ulimit -n); lower `count`, drop console ports (console_ssh_port: null) "
                      f"or raise the limit")


def raw_listeners(data: Any) -> tuple[int, int, int] | None:
    """(listening ports, file descriptors, devices) of a profile's YAML as lab.listeners counts them
    on the validated profile; None for YAML it does not understand (validation says why, later)."""
    try:
        known = _kinds()
        paired = {unit for pair in data.get("ha_pairs") or () for unit in (pair["primary"], pair["secondary"])}
        held, consoles, devices, bmcs = len(data.get("ha_pairs") or ()) + 1, 0, 0, 0
        for entry in data["devices"]:
            name = entry.get("kind", known["default"])
            kind = known["kinds"][name]
            count, start = entry.get("count"), entry.get("start", 1)
            names = [entry["name"]] if count is None else [entry["name"].format(n=start + i) for i in range(count)]
            unpaired = sum(name not in paired for name in names)
            devices += len(names)
            held += len(names) * (kind["ssh"] + kind["https"]) + (unpaired if kind["traffic"] else 0)
            if kind["console"]:
                consoles += len(names) * (1 + (entry.get("console_ssh_port", 0) is not None))
            bmc = entry.get("bmc")
            bmcs += len(names) * bool(bmc if bmc is not None else _bmc_by_kind(name, kind["bmc"], entry["model"]))
    except (AttributeError, KeyError, TypeError, ValueError, IndexError, OSError):
        return None
    held += bmcs + (bmcs > 0)           # an IPMI port per BMC, the lab's Redfish service
    return held + consoles, HELD_PORT_FDS * held + consoles, devices


def _bmc_by_kind(kind: str, rule: bool | str, model: str) -> bool:
    if rule != "models":
        return bool(rule)
    info = _models(kind)[model]
    return not (info.get("virtual") or info.get("logical_device"))


@cache
def _models(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "kinds" / kind / "facts.yaml").read_text())
    return data["models"]


def counted(ref: str | None) -> tuple[str, int, int, int] | None:
    """(lab, listening ports, file descriptors, devices) of a profile file from its YAML alone (None
    when it cannot be read or understood: loading it says why)."""
    try:
        data = yaml.safe_load(resolve(ref).read_text(encoding="utf-8"))
    except (ValueError, OSError, yaml.YAMLError):
        return None
    found = raw_listeners(data)
    return None if found is None or found[2] == 0 else (str(data.get("lab", "?")), *found)


def fits(ref: str | None) -> bool | None:
    """Whether one process may open a profile's sockets (the hard limit, as shards.needed counts);
    None when its YAML does not say."""
    found = counted(ref)
    if found is None:
        return None
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return hard == resource.RLIM_INFINITY or found[2] + SPARE_FDS <= hard


def precheck(ref: str | None) -> None:
    """The descriptor check of lab.check_descriptors from the profile's YAML alone (nothing when
    the file cannot be read or understood: loading it says why)."""
    found = counted(ref)
    if found is not None:
        check(*found)

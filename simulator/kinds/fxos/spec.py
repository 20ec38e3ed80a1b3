"""The security modules of a chassis' profile entry, and the checks of every
chassis against the FTDs of the profile it hosts (kind.py declares the entry)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field

from simulator.kinds.fxos.facts import fxos_data
from simulator.kinds.spec import Strict


class FxosAppSpec(Strict):
    device: str = Field(min_length=1)
    identifier: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class FxosModuleSpec(Strict):
    slot: int = Field(ge=1, le=3)
    apps: list[FxosAppSpec] = Field(default_factory=list)


def check_profile(chassis: Iterable[Mapping[str, Any]], ftd_models: Mapping[str, str]) -> list[str]:
    """Cross-checks of every chassis of a profile against its FTDs
    (`ftd_models`: FTD device name -> model). Empty when all is well."""
    problems: list[str] = []
    hosted: dict[str, str] = {}
    data = fxos_data()
    for spec in chassis:
        name, model = spec["name"], spec["model"]
        info = data.models.get(model)
        if info is None:
            continue
        slots: set[int] = set()
        for module in spec.get("modules") or []:
            slot = module["slot"]
            if slot > info.slots:
                problems.append(f"chassis {name!r}: {model} has {info.slots} security module slot(s); no slot {slot}")
            if slot in slots:
                problems.append(f"chassis {name!r}: slot {slot} is listed twice")
            slots.add(slot)
            idents: set[str] = set()
            for app in module.get("apps") or []:
                device = app["device"]
                ident = app.get("identifier") or device
                if ident in idents:
                    problems.append(f"chassis {name!r}: slot {slot} has two app instances named {ident!r}")
                idents.add(ident)
                if device not in ftd_models:
                    problems.append(f"chassis {name!r}: slot {slot} names FTD {device!r}, which the profile "
                                    f"does not have")
                    continue
                if device in hosted:
                    problems.append(f"FTD {device!r} is hosted by both {hosted[device]!r} and {name!r}")
                hosted[device] = name
                if info.ftd_model is None:
                    problems.append(f"chassis {name!r}: no FTD model of the simulator runs on {model}")
                elif ftd_models[device] != info.ftd_model:
                    problems.append(f"chassis {name!r}: FTD {device!r} is a {ftd_models[device]}; a logical "
                                    f"device on {model} is a {info.ftd_model}")
    return problems

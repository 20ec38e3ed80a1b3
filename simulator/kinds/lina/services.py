"""The Lina data plane's default service policy (inspections of global_policy)
and its traffic statistics per interface, in the ASA's words (services.yaml).
Counters grow with the unit's uptime; like network.py it needs only a `Unit`."""

from __future__ import annotations

from functools import cache
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.lina.network import Unit, counters, stable


@cache
def services_data() -> dict[str, Any]:
    return read_yaml("services.yaml", __package__)


def _fmt(key: str, **values: Any) -> str:
    return str(services_data()["templates"][key]).format(**values)


def config_lines() -> list[str]:
    """The default class map, policy map and global service policy of the running configuration."""
    lines = ["class-map inspection_default", " match default-inspection-traffic", "!", "!",
             "policy-map type inspect dns preset_dns_map", " parameters", "  message-length maximum client auto",
             "  message-length maximum 512", "  no tcp-inspection", "policy-map global_policy",
             " class inspection_default"]
    lines += [f"  inspect {name}" + (f" {m}" if m and m.startswith("preset") else "")
              for name, m, _rate, _proxy in services_data()["inspections"]]
    return lines + ["!", "service-policy global_policy global"]


def show_service_policy(unit: Unit) -> str:
    hours = unit.uptime() / 3600
    lines = ["", _fmt("policy_head")]
    for name, inspect_map, rate, proxy in services_data()["inspections"]:
        packets = int(rate * hours * stable(unit, f"inspect:{name}"))
        lines.append(_fmt("inspect", name=name, map=f" {inspect_map}" if inspect_map else "", packets=packets,
                          rate=int(rate / 3600)))
        if proxy:
            lines.append(_fmt("tcp_proxy"))
    return "\n".join(lines)


def show_traffic(unit: Unit) -> str:
    """Per nameif, then per physical interface (the same counters: one nameif per interface here)."""
    secs = f"{unit.uptime():.3f}"
    named = [i for i in unit.interfaces() if i.nameif]
    blocks = [_fmt("traffic", name=i.nameif, secs=secs, **counters(unit, i)) for i in named]
    blocks.append(_fmt("physical"))
    blocks += [_fmt("traffic", name=i.name, secs=secs, **counters(unit, i)) for i in named]
    return "\n".join(blocks)

"""The Lina data plane's service objects and object groups, as the running
configuration holds them (objects.yaml). Like network.py they need nothing of
the device; `show object-group` prints the same lines as the configuration."""

from __future__ import annotations

from functools import cache
from typing import Any

from simulator.facts import read_yaml


@cache
def objects_data() -> dict[str, Any]:
    return read_yaml("objects.yaml", __package__)


def service_lines() -> list[str]:
    """`show running-config object service`."""
    lines = []
    for obj in objects_data()["services"]:
        lines += [f"object service {obj['name']}", f" description {obj['description']}", f" service {obj['service']}"]
    return lines


def _group_lines(kind: str, key: str) -> list[str]:
    lines = []
    for group in objects_data()[key]:
        lines.append(f"object-group {kind} {group['name']}" + (f" {group['protocol']}" if "protocol" in group else ""))
        if "description" in group:
            lines.append(f" description {group['description']}")
        lines += [f" {member}" for member in group["members"]]
    return lines


def network_group_lines() -> list[str]:
    """`show running-config object-group network`, `show object-group network`."""
    return _group_lines("network", "network_groups")


def service_group_lines() -> list[str]:
    """`show running-config object-group service`, `show object-group service`."""
    return _group_lines("service", "service_groups")


def config_lines() -> list[str]:
    """Service objects, then the object groups (after the network objects, before the access lists)."""
    return [*service_lines(), *network_group_lines(), *service_group_lines()]

"""Where the Lina views' lines go in a running configuration (an ASA's, an
FTD's): the objects, groups and access lists after `names`, the NAT, access
groups and routing processes after the interfaces."""

from __future__ import annotations

from simulator.kinds.lina import objects, policy, routing, vpn
from simulator.kinds.lina.network import Unit


def object_lines() -> list[str]:
    """Names and network objects, service objects and object groups, access lists (the crypto maps' last)."""
    lines = policy.config_lines()
    at = next((i for i, line in enumerate(lines) if line.startswith("access-list")), len(lines))
    return lines[:at] + objects.config_lines() + lines[at:] + vpn.acl_lines()


def policy_lines(unit: Unit) -> list[str]:
    """The VPN address pools, NAT and access groups, the dynamic routing processes, then the static routes."""
    lines = policy.policy_lines()
    at = next((i for i, line in enumerate(lines) if line.startswith("route ")), len(lines))
    return vpn.pool_lines() + lines[:at] + routing.config_lines(unit) + lines[at:]

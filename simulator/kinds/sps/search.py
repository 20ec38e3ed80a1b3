"""A central-management cluster of SPS nodes (sps.md 1, 2.3, 4.7): roles
`central-management`, `managed-host` and one search role per node
(`search-master`, one per cluster, `search-minion`, `search-local`). All
nodes must run the same version. Seed 004: the Search Minions are upgraded
first; a Search Master booted into a new version while a minion still runs
an older one gets the legacy Elasticsearch index of a minion with an invalid
schema mapping, and the minions can no longer push documents: a critical
error that only a reimage of the master clears (the control API's reimage).

No I/O: the REST API reads `nodes()` and a node's `search_error`."""

from __future__ import annotations

from typing import Any

from simulator.journal import Event
from simulator.kinds.sps.facts import SpsVersion, text
from simulator.kinds.sps.model import SpsDevice

ROLES = ("central-management", "managed-host", "search-master", "search-minion", "search-local")
SEARCH_ROLES = ("search-master", "search-minion", "search-local")


def check_roles(specs: list[tuple[str, list[str]]]) -> list[str]:
    """What a profile's cluster roles break: one search role per node, one master, one central management."""
    problems = []
    for name, roles in specs:
        if roles and sum(role in SEARCH_ROLES for role in roles) != 1:
            problems.append(f"device {name!r}: cluster_roles need exactly one of {', '.join(SEARCH_ROLES)}")
    for role in ("search-master", "central-management"):
        holders = [name for name, roles in specs if role in roles]
        if len(holders) > 1:
            problems.append(f"cluster role {role} is held by {', '.join(holders)}: a cluster has one")
    return problems


class SearchCluster:
    """The lab's central-management cluster: its nodes and their roles."""

    def __init__(self) -> None:
        self.members: dict[str, SpsDevice] = {}
        self.roles: dict[str, list[str]] = {}

    def add(self, device: SpsDevice, roles: list[str]) -> None:
        self.members[device.name], self.roles[device.name] = device, list(roles)
        device.cluster = self
        device.ctx.journal.subscribe(self._on_event, device=device.name)

    def holding(self, role: str) -> list[SpsDevice]:
        return [self.members[name] for name, roles in self.roles.items() if role in roles]

    def _on_event(self, event: Event) -> None:
        """The master coming up on a version newer than a minion's: the critical index error."""
        if event["kind"] != "upgrade.finished":
            return
        device = self.members[event["device"]]
        if "search-master" not in self.roles[device.name]:
            return
        version = SpsVersion.parse(device.version)
        behind = [m.name for m in self.holding("search-minion") if SpsVersion.parse(m.version) < version]
        if behind:
            device.set_search_error(text("index_error", minions=", ".join(behind)))

    def nodes(self) -> list[dict[str, Any]]:
        """Each node as `/api/cluster/status` lists it; a version unlike the others' is a warning."""
        versions = {m.version for m in self.members.values()}
        entries = []
        for name, device in self.members.items():
            warnings = [{"message": text("cluster_versions", versions=", ".join(sorted(versions))), "paths": []}
                        ] if len(versions) > 1 else []
            entries.append({"key": device.node_id, "fqdn": device.hostname, "roles": self.roles[name],
                            "firmware_version": device.version if device.services_up else None,
                            "last_seen": None if not device.services_up else device.ctx.clock.now(),
                            "health_status": device.health() if device.services_up else None,
                            "sync_status": "n/a" if not device.services_up else "synced",
                            "configuration_sync": {"issues": {"warnings": warnings}}})
        return entries

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

from collections.abc import Mapping
from typing import Any

from simulator.journal import Event
from simulator.kinds.base import Refused
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
    """The lab's central-management cluster: its nodes (each knows its own roles)."""

    def __init__(self) -> None:
        self.members: dict[str, SpsDevice] = {}

    def add(self, device: SpsDevice) -> None:
        self.members[device.name] = device
        device.cluster = self
        device.ctx.journal.subscribe(self._on_event, device=device.name)

    @property
    def roles(self) -> dict[str, list[str]]:
        return {name: device.cluster_roles for name, device in self.members.items()}

    def holding(self, role: str) -> list[SpsDevice]:
        return [self.members[name] for name, roles in self.roles.items() if role in roles]

    def node(self, node_id: str) -> SpsDevice:
        found = next((m for m in self.members.values() if m.node_id == node_id), None)
        if found is None:
            raise Refused("not_found", text("no_cluster_node", node=node_id))
        return found

    def assign(self, node_id: str, roles: Any) -> SpsDevice:
        """`PUT /api/cluster/nodes/<id>` `{"roles": [...]}`: `managed-host` and exactly one search
        role; one `search-master` per cluster; `central-management` only through promote."""
        device = self.node(node_id)
        if not isinstance(roles, list) or any(not isinstance(r, str) or r not in ROLES for r in roles) \
                or len(set(roles)) != len(roles):
            raise Refused("invalid", text("cluster_role_unknown", roles=", ".join(ROLES)))
        if ("central-management" in roles) != ("central-management" in device.cluster_roles):
            raise Refused("invalid", text("cluster_role_promote"))
        if sum(role in SEARCH_ROLES for role in roles) != 1:
            raise Refused("invalid", text("cluster_role_search", roles=", ".join(SEARCH_ROLES)))
        master = [m.name for m in self.holding("search-master") if m is not device]
        if "search-master" in roles and master:
            raise Refused("invalid", text("cluster_role_master", node=master[0]))
        device.set_cluster_roles(roles)
        return device


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


def promote(device: SpsDevice) -> None:
    """`POST /api/cluster/promote`: this node becomes the cluster's Central Management node."""
    holders = device.cluster.holding("central-management") if device.cluster else []
    if holders:
        raise Refused("invalid", text("cluster_promoted", node=holders[0].hostname))
    device.set_cluster_roles(["central-management", *device.cluster_roles])


def joiner(devices: Mapping[str, Any]) -> Any:
    """How a node joins the lab's one central-management cluster: the first member makes it."""
    def join(device: SpsDevice) -> None:
        cluster = next((d.cluster for d in devices.values() if isinstance(d, SpsDevice) and d.cluster), None)
        (cluster or SearchCluster()).add(device)
    return join

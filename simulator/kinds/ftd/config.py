"""An FTD's configuration as Device Manager edits it.

The device keeps two copies: the running configuration (what it enforces) and
the candidate (what the API edits). Their difference is the list of pending
changes; a deployment makes the candidate the running configuration. Both
copies are plain dicts so they snapshot and restore as JSON:

    {"hostname": "ftd-1", "networks": {"<id>": {"name", "subType", "value", "description", "version"}}}
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Any

NETWORK_SUBTYPES = ("HOST", "NETWORK", "RANGE", "FQDN")


def factory_config(hostname: str) -> dict[str, Any]:
    return {"hostname": hostname, "networks": {}}


def clone(config: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(config)


@dataclass(frozen=True)
class Change:
    """One pending change, as FDM lists it (BaseEntityDiff)."""

    entity_id: str
    entity_type: str      # devicehostname | networkobject
    name: str
    action: str           # ADD | EDIT | DELETE


def pending_changes(running: dict[str, Any], candidate: dict[str, Any], hostname_id: str) -> list[Change]:
    changes = []
    if running["hostname"] != candidate["hostname"]:
        changes.append(Change(hostname_id, "devicehostname", candidate["hostname"], "EDIT"))
    old, new = running["networks"], candidate["networks"]
    for obj_id, obj in new.items():
        if obj_id not in old:
            changes.append(Change(obj_id, "networkobject", obj["name"], "ADD"))
        elif old[obj_id] != obj:
            changes.append(Change(obj_id, "networkobject", obj["name"], "EDIT"))
    for obj_id, obj in old.items():
        if obj_id not in new:
            changes.append(Change(obj_id, "networkobject", obj["name"], "DELETE"))
    return changes


def network_problem(sub_type: str, value: str) -> str | None:
    """Why `value` is not a valid network object of `sub_type` (None: valid)."""
    if sub_type not in NETWORK_SUBTYPES:
        return f"Invalid subType {sub_type!r}; expected one of {', '.join(NETWORK_SUBTYPES)}"
    try:
        if sub_type == "HOST":
            ipaddress.ip_address(value)
        elif sub_type == "NETWORK":
            ipaddress.ip_network(value, strict=True)
        elif sub_type == "RANGE":
            first, last = (ipaddress.ip_address(part.strip()) for part in value.split("-", 1))
            if first.version != last.version or first > last:
                raise ValueError(value)
        elif not value or " " in value or len(value) > 253:
            raise ValueError(value)
    except ValueError:
        return f"Invalid {sub_type.lower()} value: {value!r}"
    return None


@dataclass
class Deployment:
    """A deployment job (FDM DeploymentStatus)."""

    id: str
    queued: float
    state: str = "QUEUED"          # QUEUED | DEPLOYING | DEPLOYED | DEPLOY_FAILED
    started: float | None = None
    finished: float | None = None
    message: str = ""
    changes: list[str] = field(default_factory=list)   # names of the deployed entities

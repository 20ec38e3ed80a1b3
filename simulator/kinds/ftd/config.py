"""An FTD's configuration as Device Manager edits it.

The device keeps two copies: the running configuration (what it enforces) and
the candidate (what the API edits). Their difference is the list of pending
changes; a deployment (QUEUED, DEPLOYING, then DEPLOYED, or DEPLOY_FAILED when a
reboot cuts it short) makes the candidate the running configuration. Both
copies are plain dicts so they snapshot and restore as JSON:

    {"hostname": "ftd-1", "networks": {"<id>": {"name", "subType", "value", "description", "version"}}}
"""

from __future__ import annotations

import copy
import ipaddress
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator.clock import Timer
from simulator.kinds.base import DeviceBase, Refused
from simulator.kinds.ftd import facts as ftd_facts

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
            if first.version != last.version or int(first) > int(last):
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


class Configuration(DeviceBase):
    """Editing and deploying the configuration (a part of FtdDevice)."""

    uuid: str
    config: dict[str, Any]          # running
    candidate: dict[str, Any]       # being edited
    deployments: list[Deployment]
    snort_restart_due: bool         # the first deploy after an upgrade restarts Snort
    _deploy_timer: Timer | None = None

    if TYPE_CHECKING:      # FtdDevice's
        def _say(self, group: str, key: str, **values: Any) -> str: ...
        def _seconds(self, base: float) -> float: ...
        def _require_usable(self) -> None: ...

    @property
    def hostname(self) -> str:
        return str(self.config["hostname"])

    @property
    def hostname_id(self) -> str:
        return str(uuidlib.uuid5(uuidlib.UUID(self.uuid), "devicehostname"))

    def set_hostname(self, hostname: str) -> None:
        """The CLI's `configure network hostname`: applied at once."""
        self._require_usable()
        self.config["hostname"] = self.candidate["hostname"] = hostname
        self._emit("config", key="hostname", value=hostname)

    def pending(self) -> list[Change]:
        return pending_changes(self.config, self.candidate, self.hostname_id)

    def _require_editable(self) -> None:
        """Configuration is edited on the active unit of a pair (the standby's is read-only)."""
        self._require_usable()
        if self.ha is not None and not self.ha.broken and not self.ha.is_active(self):
            raise Refused("ha_standby", self.ha._say("deploy_standby"))

    def stage_hostname(self, hostname: str) -> None:
        self._require_editable()
        self.candidate["hostname"] = hostname
        self._emit("config.staged", entity="devicehostname", name=hostname)

    def save_network(self, obj_id: str | None, name: str, sub_type: str, value: str,
                     description: str | None = None) -> str:
        """Create (obj_id None) or replace a network object in the candidate."""
        self._require_editable()
        networks = self.candidate["networks"]
        if obj_id is not None and obj_id not in networks:
            raise Refused("not_found", self._say("refuse", "not_found", id=obj_id))
        if any(o["name"] == name and i != obj_id for i, o in networks.items()):
            raise Refused("duplicate", self._say("refuse", "duplicate_name"))
        problem = network_problem(sub_type, value)
        if problem:
            raise Refused("invalid", problem)
        obj_id = obj_id or self.new_id()
        networks[obj_id] = {"name": name, "subType": sub_type, "value": value, "description": description,
                            "version": self.new_id().split("-")[0]}
        self._emit("config.staged", entity="networkobject", name=name)
        return obj_id

    def delete_network(self, obj_id: str) -> None:
        self._require_editable()
        obj = self.candidate["networks"].pop(obj_id, None)
        if obj is None:
            raise Refused("not_found", self._say("refuse", "not_found", id=obj_id))
        self._emit("config.staged", entity="networkobject", name=obj["name"], action="delete")

    def discard_changes(self) -> None:
        self._require_usable()
        self.candidate = clone(self.config)
        self._emit("config.discarded")

    def deploy(self) -> Deployment:
        """Make the candidate the running configuration (a queued job)."""
        self._require_usable()
        if self.ha is not None:
            self.ha.check_deploy(self)
        if self.state != "online":
            raise Refused("busy", self._say("refuse", "deploy_busy"))
        if any(d.state in ("QUEUED", "DEPLOYING") for d in self.deployments):
            raise Refused("deploy_running", self._say("refuse", "deploy_running"))
        deployment = Deployment(self.new_id(), self.ctx.clock.now(), changes=[c.name for c in self.pending()])
        self.deployments.append(deployment)
        del self.deployments[:-ftd_facts.ftd().deployments_kept]
        self._emit("deploy", state="QUEUED", id=deployment.id, changes=deployment.changes)
        self._deploy_timer = self.ctx.clock.call_later(ftd_facts.ftd().timings["deploy_queue"], self._deploy_step,
                                                       deployment)
        return deployment

    def _deploy_step(self, deployment: Deployment) -> None:
        now = self.ctx.clock.now()
        if deployment.state == "QUEUED":
            deployment.state, deployment.started = "DEPLOYING", now
            self._emit("deploy", state="DEPLOYING", id=deployment.id)
            seconds = self._seconds(ftd_facts.ftd().timings["deploy"])
            self._deploy_timer = self.ctx.clock.call_later(seconds, self._deploy_step, deployment)
            return
        self._deploy_timer = None
        self.config = clone(self.candidate)
        deployment.state, deployment.finished = "DEPLOYED", now
        deployment.message = self._say("job", "deployed")
        self._emit("deploy", state="DEPLOYED", id=deployment.id)
        if self.ha is not None:
            self.ha.config_deployed(self)
        if self.snort_restart_due:
            self.snort_restart_due = False
            self._emit("snort.restart", reason="first deployment after upgrade",
                       traffic_interruption_s=ftd_facts.ftd().timings["snort_restart"])

    def _stop_deploy(self) -> None:
        """A reboot or power loss ends a deployment that was running."""
        if self._deploy_timer is not None:
            self._deploy_timer.cancel()
            self._deploy_timer = None
        for deployment in self.deployments:
            if deployment.state in ("QUEUED", "DEPLOYING"):
                deployment.state, deployment.finished = "DEPLOY_FAILED", self.ctx.clock.now()
                deployment.message = self._say("job", "deploy_interrupted")

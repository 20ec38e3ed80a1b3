"""The FMC's configuration and its deployment (`object/networks`,
`deployment/*`). The FMC holds the policy objects; a change marks every
managed target (a standalone device, or an HA pair as one container) out of
date until a deployment pushes it, as FDM's candidate configuration does on a
device (seed 001: "Before device upgrade, deploy configuration changes").
A deployment runs the device's own deploy (its time, the Snort restart after an
upgrade, its refusals) on the target's active unit. The lab has no access
policies, so every object change counts for every device (RECONSTRUCTED)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator.kinds.base import Refused
from simulator.kinds.fmc.facts import fmc, text

if TYPE_CHECKING:
    from simulator.kinds.fmc.model import FmcDevice, Task

CHANGES_KEPT = 1000         # pending changes remembered (the oldest dropped; the devices stay out of date)
JOBS_KEPT = 1000            # deployment job histories kept
OBJECTS_MAX = 10000         # network objects an FMC holds in the lab


@dataclass
class Change:
    seq: int
    when: float
    object_id: str
    name: str
    object_type: str
    action: str             # ADD | EDIT | DELETE
    target: str | None = None   # the one target it concerns (a device upgraded), or None: every target


@dataclass
class DeployJob:
    """One deployment of a task (`deployment/jobhistories`)."""

    id: str
    task_id: str
    targets: list[tuple[str, str]]          # (target id, name)
    started: float
    status: str = "DEPLOYING"               # DEPLOYING | DEPLOYED | FAILED
    ended: float | None = None
    message: str = ""
    domain: str | None = None               # the domain whose request made it (None: Global, older records)


@dataclass
class Target:
    """What the FMC deploys to: a standalone device or an HA pair (its active unit receives it)."""

    id: str
    name: str
    type: str               # Device | DeviceHAPair
    units: list[Any]

    @property
    def receiver(self) -> Any:
        pair = self.units[0].ha
        if pair is not None and not pair.broken:
            return next((u for u in self.units if u.name == pair.active), self.units[0])
        return self.units[0]


@dataclass
class Configuration:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)      # network objects by id
    seq: int = 0
    changes: list[Change] = field(default_factory=list)
    deployed: dict[str, int] = field(default_factory=dict)                # target id -> last seq deployed
    jobs: list[DeployJob] = field(default_factory=list)
    every: int = 0                                                        # seq of the last change for all
    targeted: dict[str, int] = field(default_factory=dict)                # target id -> seq of its last own

    def record(self, when: float, object_id: str, name: str, object_type: str, action: str,
               target: str | None = None) -> None:
        self.seq += 1
        self.changes.append(Change(self.seq, when, object_id, name, object_type, action, target))
        del self.changes[:-CHANGES_KEPT]
        if target is None:
            self.every = self.seq
        else:
            self.targeted[target] = self.seq

    def pending(self, target_id: str) -> list[Change]:
        done = self.deployed.get(target_id, 0)
        return [c for c in self.changes if c.seq > done and c.target in (None, target_id)]

    def out_of_date(self, target_id: str) -> bool:
        return max(self.every, self.targeted.get(target_id, 0)) > self.deployed.get(target_id, 0)

    def snapshot(self) -> dict[str, Any]:
        return {"objects": self.objects, "seq": self.seq, "deployed": self.deployed,
                "changes": [vars(c) for c in self.changes], "jobs": [vars(j) for j in self.jobs],
                "every": self.every, "targeted": self.targeted}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Configuration:
        jobs = [DeployJob(**{**j, "targets": [tuple(t) for t in j["targets"]]}) for j in data["jobs"]]
        for job in jobs:            # a deployment the lab stopped under did not finish
            if job.status == "DEPLOYING":
                job.status, job.message = "FAILED", text("deploy_stopped")
        return cls(data["objects"], data["seq"], [Change(**c) for c in data["changes"]], data["deployed"], jobs,
                   data.get("every", data["seq"]), data.get("targeted", {}))


def network_problem(value: Any) -> str | None:
    """object/networks holds networks in CIDR form; anything else is FMC's type mismatch."""
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError(value)
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return text("network_value", value=value)
    return None


class Deployer:
    """The FMC's side of configuration: objects edited through the API, and deployments."""

    def __init__(self, center: FmcDevice) -> None:
        self.center = center
        self.config = Configuration()

    # -- targets -----------------------------------------------------------------
    def targets(self) -> list[Target]:
        """Managed standalone devices and HA pairs, in profile order."""
        center, found, seen = self.center, [], set()
        for device in center.managed():
            pair = device.ha
            if pair is not None and pair in center.pairs():
                if pair.name not in seen:
                    seen.add(pair.name)
                    found.append(Target(center.pair_id(pair), pair.name, "DeviceHAPair",
                                        [pair.primary, pair.secondary]))
            else:
                found.append(Target(device.uuid, device.name, "Device", [device]))
        return found

    def domain_of(self, target: Target) -> str:
        """A target's domain: its units' (an HA pair split across domains belongs to Global only)."""
        owners = {self.center.domain_of(u) for u in target.units}
        return owners.pop() if len(owners) == 1 else self.center.global_domain

    def targets_in(self, domain: str) -> list[Target]:
        """The targets a domain sees: all of them in Global, its own in a sub-domain."""
        return [t for t in self.targets() if self.center.sees(domain, self.domain_of(t))]

    def target(self, target_id: str, domain: str | None = None) -> Target:
        """A target by id; in `domain`, another domain's target is not found (that domain does not see it)."""
        found = next((t for t in self.targets() if t.id == target_id), None)
        if found is None or (domain is not None and not self.center.sees(domain, self.domain_of(found))):
            raise Refused("not_found", text("not_found", id=target_id))
        return found

    def target_of(self, device: Any) -> Target:
        return next(t for t in self.targets() if device in t.units)

    def upgraded(self, device: Any) -> None:
        """Seed 001: "you will need to deploy again after upgrade": the device's target is out of date."""
        target = self.target_of(device)
        self.config.record(self.center.ctx.clock.now(), device.uuid, device.name, "Device", "EDIT", target.id)

    def deployable(self, domain: str) -> list[Target]:
        return [t for t in self.targets_in(domain) if self.config.out_of_date(t.id)]

    def jobs_in(self, domain: str) -> list[DeployJob]:
        """The deployment jobs a domain sees: those its requests made (Global: all of them)."""
        center = self.center
        return [j for j in self.config.jobs if center.sees(domain, j.domain or center.global_domain)]

    def deploying(self, target: Target) -> bool:
        return any(j.status == "DEPLOYING" and target.id in (i for i, _ in j.targets) for j in self.config.jobs)

    # -- objects --------------------------------------------------------------------
    def save_network(self, object_id: str | None, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Create (`object_id` None) or replace a network object: a change to deploy."""
        objects = self.config.objects
        name, value = body.get("name"), body.get("value")
        if not isinstance(name, str) or not name:
            raise Refused("invalid", text("bad_field", name="name"))
        problem = network_problem(value)
        if problem:
            raise Refused("invalid", problem)
        if any(o["name"] == name and i != object_id for i, o in objects.items()):
            raise Refused("duplicate", text("object_exists", name=name))
        if object_id is None and len(objects) >= OBJECTS_MAX:
            raise Refused("full", text("objects_full", limit=OBJECTS_MAX))
        action = "ADD" if object_id is None else "EDIT"
        object_id = object_id or self.center.new_id()
        description = body.get("description")
        objects[object_id] = {"name": name, "value": value, "overridable": bool(body.get("overridable", False)),
                              "description": description if isinstance(description, str) else ""}
        self.config.record(self.center.ctx.clock.now(), object_id, name, "Network", action)
        return object_id, objects[object_id]

    def network(self, object_id: str) -> dict[str, Any]:
        found = self.config.objects.get(object_id)
        if found is None:
            raise Refused("not_found", text("not_found", id=object_id))
        return found

    def delete_network(self, object_id: str) -> dict[str, Any]:
        found = self.network(object_id)
        del self.config.objects[object_id]
        self.config.record(self.center.ctx.clock.now(), object_id, found["name"], "Network", "DELETE")
        return found

    # -- deployment ----------------------------------------------------------------------
    def deploy(self, target_ids: list[str], force: bool, domain: str) -> Task:
        """`deploymentrequests` in `domain`: a task that deploys to each target in turn; a target
        the domain does not see is refused before anything starts."""
        if not target_ids:
            raise Refused("no_targets", text("no_targets"))
        targets = [self.target(i, domain) for i in dict.fromkeys(target_ids)]
        for target in targets:
            if self.deploying(target):
                raise Refused("busy", text("deploy_running", device=target.name))
            if not force and not self.config.out_of_date(target.id):
                raise Refused("up_to_date", text("up_to_date", device=target.name))
        task = self.center.new_task("DEVICE_DEPLOYMENT", f"Deployment to {', '.join(t.name for t in targets)}",
                                    domain)
        task.sub_tasks = [{"target": {"id": t.id, "name": t.name, "type": t.type}, "status": "PENDING",
                           "message": ""} for t in targets]
        job = DeployJob(self.center.new_id(), task.id, [(t.id, t.name) for t in targets], self.center.ctx.clock.now(),
                        domain=domain)
        self.config.jobs.append(job)
        del self.config.jobs[:-JOBS_KEPT]
        DeployRun(self, task, job, targets, self.config.seq).start()
        return task


class DeployRun:
    """One deployment task: the targets' active units deploy one after the other."""

    def __init__(self, deployer: Deployer, task: Task, job: DeployJob, targets: list[Target], seq: int) -> None:
        self.deployer, self.task, self.job, self.targets, self.seq = deployer, task, job, targets, seq
        self.center = deployer.center

    def start(self) -> None:
        self.center.set_task(self.task, "RUNNING")
        self._next(0)

    def _next(self, at: int) -> None:
        if self.task.done:
            return self._end("FAILED", self.task.message)
        if at == len(self.targets):
            message = text("deployed", count=len(self.targets))
            self.task.message = message
            self.center.set_task(self.task, "COMPLETED")
            return self._end("DEPLOYED", message)
        target = self.targets[at]
        try:
            deployment = target.receiver.deploy()
        except Refused as refused:
            return self._fail(at, refused.message)
        self.task.sub_tasks[at].update(status="RUNNING", message="Deploying.")

        def look() -> None:
            if self.task.done:
                return self._end("FAILED", self.task.message)
            if deployment.state in ("QUEUED", "DEPLOYING"):
                return self._later(look)
            if deployment.state != "DEPLOYED":
                return self._fail(at, deployment.message)
            self.deployer.config.deployed[target.id] = self.seq
            self.task.sub_tasks[at].update(status="COMPLETED", message="Deployed.")
            self._next(at + 1)

        self._later(look)

    def _later(self, callback: Callable[[], None]) -> None:
        self.center.ctx.clock.call_later(fmc().timings["poll"], callback)

    def _fail(self, at: int, detail: str) -> None:
        message = text("deploy_failed", device=self.targets[at].name, detail=detail)
        self.task.sub_tasks[at].update(status="FAILED", message=message)
        self.task.message = message
        self.center.set_task(self.task, "FAILED")
        self._end("FAILED", message)

    def _end(self, status: str, message: str) -> None:
        if self.job.status == "DEPLOYING":
            self.job.status, self.job.message, self.job.ended = status, message, self.center.ctx.clock.now()

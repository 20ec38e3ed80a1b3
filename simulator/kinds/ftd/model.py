"""The simulated Firepower Threat Defense device: identity, software version,
the one upgrade package, readiness checks, upgrade/cancel/retry/revert jobs,
reboots and power. Pure model: no I/O; every duration goes through the clock,
every change is a journal event, faults come from the lab's fault plan.

One `transitions` machine serves every FTD in the lab (`add_model`)."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from typing import Any

from transitions import Machine

from simulator.clock import Timer
from simulator.kinds.base import DeviceBase, DeviceContext, Refused
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.config import (
    Change,
    Deployment,
    clone,
    factory_config,
    network_problem,
    pending_changes,
)
from simulator.kinds.ftd.facts import Stage
from simulator.kinds.ftd.packages import PackageInfo
from simulator.kinds.ftd.versions import Version, update_type

STATES = ["off", "booting", "online", "readiness_check", "upgrading", "upgrade_failed",
          "rolling_back", "reverting", "rebooting", "unusable"]
# States in which the device's management services (SSH, HTTPS) answer.
SERVICES_UP = frozenset({"online", "readiness_check", "upgrading", "upgrade_failed", "rolling_back", "reverting"})
# States in which a reboot or power loss leaves the software half-installed.
INSTALLING = frozenset({"upgrading", "upgrade_failed", "rolling_back", "reverting"})

_TRANSITIONS = [
    {"trigger": "ev_boot", "source": "*", "dest": "booting"},
    {"trigger": "ev_ready", "source": ["booting", "readiness_check", "upgrading", "upgrade_failed"], "dest": "online"},
    {"trigger": "ev_check", "source": "online", "dest": "readiness_check"},
    {"trigger": "ev_install", "source": ["online", "readiness_check", "upgrade_failed", "upgrading"], "dest": "upgrading"},
    {"trigger": "ev_fail", "source": "upgrading", "dest": "upgrade_failed"},
    {"trigger": "ev_rollback", "source": ["upgrading", "upgrade_failed", "readiness_check"], "dest": "rolling_back"},
    {"trigger": "ev_revert", "source": "online", "dest": "reverting"},
    {"trigger": "ev_reboot", "source": sorted(SERVICES_UP), "dest": "rebooting"},
    {"trigger": "ev_off", "source": "*", "dest": "off"},
    {"trigger": "ev_unusable", "source": "*", "dest": "unusable"},
]

MACHINE = Machine(model=None, states=STATES, transitions=_TRANSITIONS, initial=None,
                  auto_transitions=False, after_state_change="_state_changed")


@dataclass
class Job:
    """An upgrade, rollback or revert as the device reports it."""

    operation: str               # upgrade | revert
    package: str
    base_version: str
    target_version: str
    update_type: str             # major | maintenance | patch | hotfix
    auto_cancel: bool
    started: float
    state: str = "IN_PROGRESS"   # IN_PROGRESS | FAILED | COMPLETED | CANCELLED
    phase: str = "readiness"     # readiness | install | rollback | reboot | post | done
    stage: int = 0
    percent: int = 0
    message: str = ""
    script: str = ""
    failed_script: str | None = None
    detail: str | None = None
    finished: float | None = None
    log: list[list[Any]] = field(default_factory=list)  # [sim_time, percent, text]

    @property
    def is_patch(self) -> bool:
        return self.update_type in ("patch", "hotfix")

    @property
    def can_cancel(self) -> bool:
        return (self.operation == "upgrade" and not self.is_patch
                and (self.state == "FAILED" and self.phase == "install"
                     or self.state == "IN_PROGRESS" and self.phase in ("readiness", "install")))

    @property
    def can_retry(self) -> bool:
        return self.operation == "upgrade" and not self.is_patch and self.state == "FAILED" and self.phase == "install"


@dataclass
class Readiness:
    package: str
    state: str          # IN_PROGRESS | SUCCESS | FAILED
    started: float
    duration: float = 0.0
    finished: float | None = None
    messages: list[str] = field(default_factory=list)


@dataclass
class RevertSnapshot:
    version: str
    config: dict[str, Any]
    taken: float
    size_kb: int


class FtdDevice(DeviceBase):
    kind = "ftd"

    def __init__(self, ctx: DeviceContext, name: str, model: str, version: str, *,
                 hostname: str | None = None, serial: str | None = None, uuid: str | None = None,
                 fxos_version: str | None = None, username: str = "admin", password: str = "Admin123",
                 disk_used_mb: int | None = None) -> None:
        data = ftd_facts.ftd()
        if model not in data.models:
            raise ValueError(f"unknown FTD model {model!r}; expected one of {', '.join(data.models)}")
        self.ctx = ctx
        self.name = name
        self.model = model
        self.version = str(Version.parse(version))
        self.serial = serial or _serial_for(ctx)
        self.uuid = uuid or str(uuidlib.UUID(int=ctx.rng.getrandbits(128), version=1))
        self.fxos_version = fxos_version          # chassis FXOS, for logical devices
        self.username, self.password = username, password
        info = data.models[model]
        self.disk_total_mb = info.disk_mb
        self.disk_used_mb = disk_used_mb if disk_used_mb is not None else (info.disk_used_mb or data.base_disk_used_mb)
        self.config: dict[str, Any] = factory_config(hostname or "firepower")   # running
        self.candidate: dict[str, Any] = clone(self.config)                      # being edited
        self.deployments: list[Deployment] = []
        self.snort_restart_due = False      # the first deploy after an upgrade restarts Snort
        self.package: PackageInfo | None = None
        self.package_id: str | None = None          # the API's id for the uploaded package
        self.package_uploaded: float | None = None
        self.readiness: Readiness | None = None
        self.job: Job | None = None
        self.revert: RevertSnapshot | None = None
        self.hotfixes: list[str] = []
        self.history: list[dict[str, Any]] = []
        self.booted_at = ctx.clock.now()
        self.boot_phase: str | None = None   # while booting: "os", then "apps" (web server starting)
        self.clock_offset = 0.0              # seconds the device's clock is off (NTP lost)
        self._timer: Timer | None = None
        self._deploy_timer: Timer | None = None
        self._broken = False      # a reboot or power loss hit a software install
        self.ha: Any = None       # the HaPair this unit belongs to (devices/ha.py), if any
        MACHINE.add_model(self, initial="online")

    # -- identity ---------------------------------------------------------
    @property
    def info(self) -> ftd_facts.FtdModel:
        return ftd_facts.ftd().models[self.model]

    @property
    def hostname(self) -> str:
        return self.config["hostname"]

    @property
    def ver(self) -> Version:
        return Version.parse(self.version)

    @property
    def train(self) -> ftd_facts.Train:
        """The release train's facts (companion FXOS, ASA train, rule/VDB versions)."""
        data = ftd_facts.ftd()
        return data.trains.get(data.train_of(self.ver.numbers)) or next(iter(data.trains.values()))

    @property
    def asa_version(self) -> str:
        """The Lina (ASA) version a release carries, e.g. 7.4.1-172 -> 9.20(1)172."""
        return f"{self.train.asa}({self.ver.maintenance}){self.ver.build}"

    @property
    def ssp_version(self) -> str:
        """The platform (FXOS) build bundled with the release, e.g. 2.14(1.172)."""
        return f"{self.train.fxos}({self.ver.maintenance}.{self.ver.build})"

    @property
    def apps_up(self) -> bool:
        """The applications run and pass traffic (not booting, not in maintenance
        mode for an install, not finishing post-upgrade tasks)."""
        job = self.job
        in_post = job is not None and job.phase == "post" and job.state in ("IN_PROGRESS", "CANCELLED")
        return self.state in ("online", "readiness_check") and not in_post

    @property
    def services_up(self) -> bool:
        return self.state in SERVICES_UP

    @property
    def disk_free_mb(self) -> int:
        used = self.disk_used_mb + (self.package.size_mb if self.package else 0)
        used += self.revert.size_kb // 1024 if self.revert else 0
        return max(0, self.disk_total_mb - used)

    def _say(self, group: str, key: str, **values: Any) -> str:
        return ftd_facts.ftd().texts[group][key].format(**values)

    def _seconds(self, base: float) -> float:
        return base * self.info.speed

    def _require_usable(self) -> None:
        if self.state == "unusable":
            raise Refused("unusable", self._say("refuse", "unusable"))
        if self.state not in SERVICES_UP:
            raise Refused("not_online", self._say("refuse", "not_online", state=self.state))

    # -- configuration ----------------------------------------------------
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
        if self.state != "online" or (self.job and self.job.state == "IN_PROGRESS"):
            raise Refused("busy", self._say("refuse", "deploy_busy"))
        if any(d.state in ("QUEUED", "DEPLOYING") for d in self.deployments):
            raise Refused("deploy_running", self._say("refuse", "deploy_running"))
        deployment = Deployment(self.new_id(), self.ctx.clock.now(), changes=[c.name for c in self.pending()])
        self.deployments.append(deployment)
        del self.deployments[:-ftd_facts.ftd().deployments_kept]
        self._emit("deploy", state="QUEUED", id=deployment.id, changes=deployment.changes)
        self._deploy_timer = self.ctx.clock.call_later(1, self._deploy_step, deployment)
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

    # -- packages ---------------------------------------------------------
    def require_package_slot(self) -> None:
        """Refuse (before a transfer) when a package cannot be taken or removed now."""
        self._require_usable()
        if self.state != "online" or (self.job and self.job.state == "IN_PROGRESS"):
            raise Refused("busy", self._say("refuse", "busy"))

    def accept_package(self, package: PackageInfo) -> str | None:
        """A package file arrived; it replaces the previous one (whose name is
        returned so the surface can remove the file)."""
        self.require_package_slot()
        old = self.package.filename if self.package and self.package.filename != package.filename else None
        self.package = package
        self.package_id, self.package_uploaded = self.new_id(), self.ctx.clock.now()
        self.readiness = None
        self._emit("package", action="uploaded", filename=package.filename, version=package.version,
                   replaced=old)
        return old

    def delete_package(self) -> str | None:
        self.require_package_slot()
        old = self.package.filename if self.package else None
        self.package = self.package_id = None
        self.readiness = None
        if old:
            self._emit("package", action="deleted", filename=old)
        return old

    # -- readiness --------------------------------------------------------
    def readiness_problems(self, package: PackageInfo) -> list[str]:
        """The readiness check's findings for `package` on this device (empty: ready)."""
        data = ftd_facts.ftd()
        say = lambda key, **v: self._say("readiness", key, package=package.filename, **v)  # noqa: E731
        if package.problem:
            return [say(package.problem)]
        target = Version.parse(package.version or "")
        current = self.ver
        problems = []
        model = self.info
        if package.platform != model.platform or (
                model.last_train and _train_key(target) > _train_key(Version.parse(model.last_train + ".0"))):
            problems.append(say("model", model=model.description))
        kind = update_type(current, target)
        if package.kind == "hotfix":
            if target.release != current.release:
                problems.append(say("path", current=current.numbers, target=target.numbers))
        elif package.kind == "patch" or kind == "patch":
            if kind != "patch" or target <= current:
                problems.append(say("path", current=current.numbers, target=target.numbers))
        elif target.release == current.release:
            problems.append(say("same", target=target.numbers))
        elif target.release in [Version.parse(v) for v in data.blocked_targets]:
            problems.append(say("blocked", target=target.numbers))
        elif (target < current or data.train_of(target.numbers)
              not in data.upgrade_paths.get(data.train_of(current.numbers), [])):
            problems.append(say("path", current=current.numbers, target=target.numbers))
        if model.logical_device and self.fxos_version:
            needed = data.trains.get(data.train_of(target.numbers))
            if needed and _fxos_key(self.fxos_version) < _fxos_key(needed.fxos):
                problems.append(say("fxos", needed=needed.fxos, running=self.fxos_version))
        needed_mb = int(package.size_mb * data.disk_needed_factor)
        if self.disk_free_mb < needed_mb:
            problems.append(say("disk", needed_mb=needed_mb, free_mb=self.disk_free_mb))
        return problems

    def run_readiness_check(self) -> Readiness:
        self._require_usable()
        if self.package is None:
            raise Refused("no_package", self._say("refuse", "no_package"))
        if self.state != "online":
            raise Refused("busy", self._say("refuse", "busy"))
        seconds = self._seconds(ftd_facts.ftd().timings["readiness_check"])
        self.readiness = Readiness(self.package.filename, "IN_PROGRESS", self.ctx.clock.now(), seconds)
        self.ev_check()
        self._emit("readiness", state="IN_PROGRESS", package=self.package.filename)
        self._after(seconds, self._readiness_done)
        return self.readiness

    def _evaluate_readiness(self) -> list[str]:
        assert self.package is not None
        fault = self.ctx.faults.take(self.name, "readiness")
        if fault and fault.action == "fail":
            self._emit("fault", point="readiness", action="fail", id=fault.id)
            return [fault.message or "Readiness check script failed."]
        return self.readiness_problems(self.package)

    def _readiness_done(self) -> None:
        assert self.readiness is not None
        problems = self._evaluate_readiness()
        self.readiness.state = "FAILED" if problems else "SUCCESS"
        self.readiness.messages = problems
        self.readiness.finished = self.ctx.clock.now()
        self.ev_ready()
        self._emit("readiness", state=self.readiness.state, messages=problems)

    # -- upgrade ----------------------------------------------------------
    def start_upgrade(self, auto_cancel: bool = True) -> Job:
        """Begin the upgrade with the uploaded package: readiness check (unless
        one passed for this package), install stages, reboot, post-upgrade tasks."""
        self._require_usable()
        if self.package is None:
            raise Refused("no_package", self._say("refuse", "no_package"))
        if self.state != "online":
            raise Refused("busy", self._say("refuse", "busy"))
        if self.pending():
            raise Refused("pending_changes", self._say("refuse", "pending_changes"))
        if self.ha is not None:
            self.ha.check_upgrade(self)
        target = self.package.version or self.version
        kind = self.package.kind if self.package.kind in ("patch", "hotfix") else update_type(
            self.ver, Version.parse(target)) if self.package.version else "major"
        now = self.ctx.clock.now()
        self.job = Job("upgrade", self.package.filename, self.version, target, kind, auto_cancel, now)
        self._log(self._say("job", "started"))
        self._emit("upgrade.started", package=self.package.filename, target=target, update_type=kind,
                   auto_cancel=auto_cancel)
        if self.readiness and self.readiness.state == "SUCCESS" and self.readiness.package == self.package.filename:
            self._begin_install()
        else:
            seconds = self._seconds(ftd_facts.ftd().timings["readiness_check"])
            self.readiness = Readiness(self.package.filename, "IN_PROGRESS", now, seconds)
            self.ev_check()
            self._log(self._say("job", "readiness"))
            self._after(seconds, self._job_readiness_done)
        return self.job

    def _job_readiness_done(self) -> None:
        job, ready = self.job, self.readiness
        assert job is not None and ready is not None
        problems = self._evaluate_readiness()
        ready.state, ready.messages, ready.finished = ("FAILED" if problems else "SUCCESS"), problems, self.ctx.clock.now()
        self._emit("readiness", state=ready.state, messages=problems)
        if problems:
            self.ev_ready()
            self._finish_job("FAILED", self._say("job", "readiness_failed"), detail="; ".join(problems))
        else:
            self._begin_install()

    def _stages(self) -> list[Stage]:
        data = ftd_facts.ftd()
        job = self.job
        assert job is not None
        if job.phase == "rollback":
            return data.rollback_stages
        if job.operation == "revert":
            return data.revert_stages
        return data.upgrade_stages[job.update_type]

    def _begin_install(self) -> None:
        assert self.job is not None
        self.job.phase = "install"
        self.ev_install()
        self._run_stage()

    def _run_stage(self) -> None:
        job = self.job
        assert job is not None
        stage = self._stages()[job.stage]
        job.script, job.message = stage.script, stage.message
        self._log(f"Running script {stage.script}...")
        self._emit("upgrade.stage", stage=stage.name, script=stage.script, percent=job.percent)
        point = "rollback" if job.phase == "rollback" else (
            "revert" if job.operation == "revert" else f"upgrade.stage:{stage.name}")
        seconds = self._seconds(stage.seconds)
        fault = self.ctx.faults.take(self.name, point, percent=job.percent)
        if fault:
            self._emit("fault", point=point, action=fault.action, id=fault.id)
            if fault.action == "fail" and job.phase == "install" and job.operation == "upgrade":
                self._stage_failed(stage, fault.message or self._say("job", "stage_failed", script=stage.script))
                return
            if fault.action == "hang":
                self._cancel_timer()
                return
            if fault.action == "power_loss":
                self.power_off(cause="power_loss")
                return
            if fault.action == "slow":
                seconds *= fault.factor
        self._after(seconds, self._stage_done)

    def _stage_done(self) -> None:
        job = self.job
        assert job is not None
        stages = self._stages()
        job.percent = stages[job.stage].percent if job.phase != "rollback" else job.percent
        job.stage += 1
        self._emit("upgrade.progress", percent=job.percent, phase=job.phase)
        if job.stage < len(stages):
            self._run_stage()
            return
        if job.phase == "rollback":
            self._reboot_into(job.base_version, after=self._rollback_booted)
        elif job.operation == "revert":
            self._reboot_into(job.target_version, after=self._revert_booted)
        else:
            self._log("System will now reboot.")
            # A hotfix is listed as installed but leaves the software version alone.
            version = job.base_version if job.update_type == "hotfix" else job.target_version
            self._reboot_into(version, after=self._upgrade_booted)

    def _stage_failed(self, stage: Stage, detail: str) -> None:
        job = self.job
        assert job is not None
        self._cancel_timer()
        job.failed_script, job.detail = stage.script, detail
        self._log(f"Fatal error: Error running script {stage.script}. {detail}")
        self._emit("upgrade.failed", script=stage.script, detail=detail)
        if stage.name in ftd_facts.ftd().early_stages:
            # Nothing was changed yet: the job ends and the device runs on.
            job.phase = "done"
            self.ev_ready()
            self._finish_job("FAILED", self._say("job", "failed", detail=detail), detail=detail)
        elif job.is_patch:
            job.state, job.message = "FAILED", self._say("job", "patch_maintenance")
            self.ev_fail()
            self._log(job.message)
        elif job.auto_cancel:
            job.state = "FAILED"
            self._log(self._say("job", "rolling_back"))
            self._start_rollback()
        else:
            job.state, job.message = "FAILED", self._say("job", "maintenance")
            self.ev_fail()
            self._log(job.message)

    def cancel_upgrade(self) -> Job:
        job = self.job
        if self.state == "unusable":
            raise Refused("unusable", self._say("refuse", "unusable"))
        active = job is not None and job.operation == "upgrade" and (
            job.state == "IN_PROGRESS" and self.state in ("readiness_check", "upgrading")
            or self.state == "upgrade_failed")
        if not active:
            raise Refused("no_job", self._say("refuse", "no_job"))
        assert job is not None
        if job.is_patch:
            raise Refused("patch", self._say("refuse", "patch_cancel"))
        self._cancel_timer()
        self._log(self._say("job", "cancelling"))
        self._emit("upgrade.cancel")
        if job.phase == "readiness":
            self.ev_ready()
            self._finish_job("CANCELLED", self._say("job", "cancelled", version=job.base_version))
        else:
            job.state = "CANCELLED"
            self._start_rollback()
        return job

    def _start_rollback(self) -> None:
        job = self.job
        assert job is not None
        job.phase, job.stage = "rollback", 0
        self.ev_rollback()
        self._run_stage()

    def retry_upgrade(self) -> Job:
        job = self.job
        if self.state == "unusable":
            raise Refused("unusable", self._say("refuse", "unusable"))
        if job is None or job.operation != "upgrade" or job.state != "FAILED" or self.state != "upgrade_failed":
            raise Refused("no_failed_job", self._say("refuse", "no_failed_job"))
        if job.is_patch:
            raise Refused("patch", self._say("refuse", "patch_retry"))
        stage = self._stages()[job.stage]
        job.state, job.failed_script, job.detail = "IN_PROGRESS", None, None
        self._log(self._say("job", "retrying", stage=stage.script))
        self._emit("upgrade.retry", stage=stage.name)
        self.ev_install()
        self._run_stage()
        return job

    def _reboot_into(self, version: str, after) -> None:
        assert self.job is not None
        self.job.phase = "reboot"
        self.job.message = self._say("job", "rebooting")
        self._reboot(version=version, then=after)

    def _upgrade_booted(self) -> None:
        job = self.job
        assert job is not None
        if job.update_type == "hotfix":
            self.hotfixes.append(job.package)
        elif job.update_type in ("major", "maintenance"):
            size = ftd_facts.ftd().revert_snapshot_mb * 1024
            self.revert = RevertSnapshot(job.base_version, clone(self.config), self.ctx.clock.now(), size)
        # The installed package is consumed by the upgrade.
        self.package = self.package_id = self.readiness = None
        self.snort_restart_due = True
        job.phase, job.message = "post", "Running post-upgrade tasks"
        self._emit("upgrade.post_tasks")
        self._after(self._seconds(ftd_facts.ftd().timings["post_upgrade_tasks"]), self._post_tasks_done)

    def _post_tasks_done(self) -> None:
        assert self.job is not None
        self.job.percent = 100
        self._finish_job("COMPLETED", self._say("job", "completed"))

    def _rollback_booted(self) -> None:
        job = self.job
        assert job is not None
        state = job.state if job.state == "CANCELLED" else "FAILED"
        message = self._say("job", "cancelled", version=job.base_version)
        self._finish_job(state, message, detail=job.detail)

    # -- revert -----------------------------------------------------------
    def start_revert(self) -> Job:
        self._require_usable()
        if self.revert is None:
            raise Refused("no_revert", self._say("refuse", "no_revert"))
        if self.state != "online":
            raise Refused("busy", self._say("refuse", "busy"))
        now = self.ctx.clock.now()
        self.job = Job("revert", "", self.version, self.revert.version,
                       update_type(Version.parse(self.revert.version), self.ver), False, now, phase="install")
        self._log(self._say("job", "reverting", version=self.revert.version))
        self._emit("revert.started", target=self.revert.version)
        self.ev_revert()
        self._run_stage()
        return self.job

    def _revert_booted(self) -> None:
        assert self.job is not None and self.revert is not None
        # Post-upgrade configuration changes are not retained.
        self.config = clone(self.revert.config)
        self.candidate = clone(self.config)
        self.revert = None
        self.hotfixes = []
        self._finish_job("COMPLETED", self._say("job", "reverted", version=self.version))

    def cleanup_revert(self) -> None:
        self._require_usable()
        if self.revert is None:
            raise Refused("no_revert", self._say("refuse", "no_revert"))
        self.revert = None
        self._emit("revert.cleanup")

    # -- job bookkeeping ----------------------------------------------------
    def _log(self, text: str) -> None:
        job = self.job
        assert job is not None
        job.log.append([round(self.ctx.clock.now(), 3), job.percent, text])
        self._emit("upgrade.log", percent=job.percent, text=text)

    def _finish_job(self, state: str, message: str, detail: str | None = None) -> None:
        job = self.job
        assert job is not None
        job.state, job.message, job.phase = state, message, "done"
        job.detail = detail if detail is not None else job.detail
        job.finished = self.ctx.clock.now()
        self._log(message)
        record = {"operation": job.operation, "package": job.package, "from": job.base_version,
                  "to": job.target_version, "type": job.update_type, "result": state,
                  "started": job.started, "finished": job.finished}
        self.history.append(record)
        self._emit("upgrade.finished", **record)

    def remaining_seconds(self) -> int:
        """Simulated seconds until the job's reboot (0 when not installing)."""
        job = self.job
        if job is None or job.state != "IN_PROGRESS" or job.phase not in ("readiness", "install", "rollback"):
            return 0
        rest = sum(s.seconds for s in self._stages()[job.stage:])
        if job.phase == "readiness":
            rest += ftd_facts.ftd().timings["readiness_check"]
        return int(self._seconds(rest))

    # -- reboot and power -------------------------------------------------
    def _abort_check(self) -> None:
        """A reboot or power loss interrupts a readiness check (and the upgrade it began)."""
        if self.state != "readiness_check":
            return
        self._cancel_timer()
        if self.readiness and self.readiness.state == "IN_PROGRESS":
            self.readiness.state, self.readiness.finished = "FAILED", self.ctx.clock.now()
            self.readiness.messages = [self._say("job", "interrupted")]
        if self.job and self.job.state == "IN_PROGRESS" and self.job.phase == "readiness":
            self._finish_job("FAILED", self._say("job", "interrupted"))

    def reboot(self) -> None:
        """An operator reboot (CLI `reboot`). Mid-install it breaks the device."""
        self._require_usable()
        self._abort_check()
        if self.state in INSTALLING:
            self._broken = True
            self._stop_deploy()
            self._emit("reboot", cause="operator", during=self.state)
            self._cancel_timer()
            self.ev_reboot()
            self._after(self._seconds(ftd_facts.ftd().timings["shutdown"]), self._boot)
            return
        self._reboot(version=self.version, then=None)

    def _reboot(self, version: str, then) -> None:
        self._stop_deploy()
        fault = self.ctx.faults.take(self.name, "reboot")
        self._emit("reboot", cause="upgrade" if then else "operator")
        self.ev_reboot()
        self.version = version
        if fault and fault.action in ("power_loss", "fail"):
            self._emit("fault", point="reboot", action=fault.action, id=fault.id)
            self._broken = True
        if fault and fault.action == "hang":
            self._emit("fault", point="reboot", action="hang", id=fault.id)
            self._cancel_timer()
            return
        self._after(self._seconds(ftd_facts.ftd().timings["shutdown"]), self._boot, then)

    def _boot(self, then=None) -> None:
        """Boot in two phases: the OS (CLI comes up at its end), then the
        applications (the web server answers 503 until they are up)."""
        self.ev_boot()
        self.boot_phase = "os"
        timings = ftd_facts.ftd().timings
        factor = 1.0
        fault = self.ctx.faults.take(self.name, "boot")
        if fault:
            self._emit("fault", point="boot", action=fault.action, id=fault.id)
            if fault.action == "hang":
                return
            if fault.action == "fail":
                self._broken = True
            if fault.action == "slow":
                factor = fault.factor
        self._after(self._seconds(timings["boot"]) * factor, self._apps_starting,
                    self._seconds(timings["app_init"]) * factor, then)

    def _apps_starting(self, seconds: float, then=None) -> None:
        if self._broken:
            self._booted(then)
            return
        self.boot_phase = "apps"
        self._emit("boot", phase="apps")
        self._after(seconds, self._booted, then)

    def _booted(self, then=None) -> None:
        self._timer = None
        self.boot_phase = None
        if self._broken:
            if self.job and self.job.state == "IN_PROGRESS":
                self._finish_job("FAILED", self._say("job", "power_loss"))
            self.ev_unusable()
            return
        self.booted_at = self.ctx.clock.now()
        self.ev_ready()
        if then is not None:
            then()

    def power_off(self, cause: str = "operator") -> None:
        if self.state == "off":
            return
        if self.state in INSTALLING or self.state in ("rebooting", "booting") and self.job and self.job.phase == "reboot":
            self._broken = True
        self._abort_check()
        self._cancel_timer()
        self._stop_deploy()
        self.boot_phase = None
        self._emit("power", action="off", cause=cause)
        self.ev_off()

    def power_on(self) -> None:
        if self.state != "off":
            return
        self._emit("power", action="on")
        self._boot()

    def require_host_up(self) -> None:
        host = self.host
        if host is not None and host.state != "online":
            raise Refused("chassis_down", self._say("refuse", "chassis_down", name=self.name, chassis=host.name,
                                                    state=host.state))

    def reimage(self, version: str | None = None) -> None:
        """Reinstall from scratch (the only way out of `unusable`): factory
        configuration, no package, no revert snapshot."""
        target = str(Version.parse(version)) if version else self.version
        data = ftd_facts.ftd()
        if data.train_of(Version.parse(target).numbers) not in data.trains:
            raise ValueError(self._say("refuse", "unknown_release", version=target))
        self._cancel_timer()
        self._broken = False
        self.version = target
        self.config = factory_config("firepower")
        self.candidate = clone(self.config)
        self.deployments = []
        self.package = self.package_id = self.readiness = self.job = self.revert = None
        self.hotfixes = []
        self._emit("reimage", version=target)
        self._boot()

    def summary(self) -> dict[str, Any]:
        job = self.job
        return {"package": self.package.filename if self.package else None,
                "job": None if job is None else {"operation": job.operation, "state": job.state, "phase": job.phase,
                                                 "percent": job.percent, "target": job.target_version,
                                                 "message": job.message}}

    # -- persistence --------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name, "model": self.model, "version": self.version, "serial": self.serial,
            "uuid": self.uuid, "state": self.state, "config": self.config, "broken": self._broken,
            "package": self.package.to_dict() if self.package else None,
            "readiness": asdict(self.readiness) if self.readiness else None,
            "job": asdict(self.job) if self.job else None,
            "revert": asdict(self.revert) if self.revert else None,
            "hotfixes": self.hotfixes, "history": self.history, "disk_used_mb": self.disk_used_mb,
            "candidate": self.candidate, "deployments": [asdict(d) for d in self.deployments],
            "package_id": self.package_id, "package_uploaded": self.package_uploaded,
            "snort_restart_due": self.snort_restart_due, "clock_offset": self.clock_offset,
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back a snapshot and carry on with whatever was in flight."""
        self.version, self.serial, self.uuid = data["version"], data["serial"], data["uuid"]
        self.config, self._broken = data["config"], data["broken"]
        self.disk_used_mb = data["disk_used_mb"]
        self.package = PackageInfo.from_dict(data["package"]) if data["package"] else None
        self.readiness = Readiness(**data["readiness"]) if data["readiness"] else None
        self.job = Job(**data["job"]) if data["job"] else None
        self.revert = RevertSnapshot(**data["revert"]) if data["revert"] else None
        self.hotfixes, self.history = data["hotfixes"], data["history"]
        self.config.setdefault("networks", {})
        self.candidate = data.get("candidate") or clone(self.config)
        self.deployments = [Deployment(**d) for d in data.get("deployments", [])]
        self._stop_deploy()     # the lab stopped under it: like a power loss
        self.package_id = data.get("package_id") or (self.new_id() if self.package else None)
        self.package_uploaded = data.get("package_uploaded")
        self.snort_restart_due = data.get("snort_restart_due", False)
        self.clock_offset = data.get("clock_offset", 0.0)
        self._resume(data["state"])

    def _resume(self, state: str) -> None:
        job = self.job
        MACHINE.set_state(state, model=self)
        if state in ("upgrading", "rolling_back", "reverting") and job and job.state in ("IN_PROGRESS", "CANCELLED"):
            self._run_stage()
        elif state == "readiness_check":
            MACHINE.set_state("online", model=self)
            if job and job.phase == "readiness":
                self.job = None
                self.start_upgrade(job.auto_cancel)
            elif self.package:
                self.run_readiness_check()
        elif state in ("booting", "rebooting"):
            then = None
            if job and job.phase == "reboot":
                then = {"upgrade": self._upgrade_booted, "revert": self._revert_booted}[job.operation]
                then = self._rollback_booted if job.state in ("CANCELLED", "FAILED") else then
            self._after(0, self._boot, then)
        elif state == "online" and job and job.phase == "post":
            self._after(self._seconds(ftd_facts.ftd().timings["post_upgrade_tasks"]), self._post_tasks_done)


def _train_key(version: Version) -> tuple[int, int]:
    return (version.major, version.minor)


def _fxos_key(text: str) -> tuple[int, ...]:
    """Order FXOS versions: `2.14`, `2.14.1`, `2.14(1.131)`."""
    return tuple(int(p) for p in text.replace("(", ".").replace(")", "").split(".") if p.isdigit())


def _serial_for(ctx: DeviceContext) -> str:
    return "JAD" + "".join(ctx.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))

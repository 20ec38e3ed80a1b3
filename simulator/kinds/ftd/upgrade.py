"""An FTD's upgrade work: the one upgrade package, readiness checks, and the
upgrade, cancel, retry and revert jobs with their install stages. Where the
device is in that work is its machine's state (machine.py); this holds what
each step does and records (the job, the readiness result, the log).

`Upgrades` is a part of FtdDevice (model.py), kept apart because it is the
FDM guide's upgrade chapter on its own."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from simulator.kinds.base import DeviceBase, Refused
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.config import clone
from simulator.kinds.ftd.facts import Stage
from simulator.kinds.ftd.packages import PackageInfo
from simulator.kinds.ftd.versions import Version, update_type
from simulator.machines import Trigger


@dataclass
class Job:
    """An upgrade or revert as the device reports it (its status, not where it is: that is the machine's)."""

    operation: str               # upgrade | revert
    package: str
    base_version: str
    target_version: str
    update_type: str             # major | maintenance | patch | hotfix
    auto_cancel: bool
    started: float
    forced: bool = False         # installing although this package failed its readiness check
    state: str = "IN_PROGRESS"   # IN_PROGRESS | FAILED | COMPLETED | CANCELLED
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


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


# Where a job is, by the machine's state (`FtdDevice.job_phase`).
PHASES = {"upgrade_readiness": "readiness", "upgrade_install": "install", "upgrade_failed": "failed",
          "upgrade_rollback": "rollback", "upgrade_post": "post", "revert_install": "install"}


class Upgrades(DeviceBase):
    """Packages, readiness checks and upgrade jobs (a part of FtdDevice)."""

    config: dict[str, Any]
    candidate: dict[str, Any]
    fxos_version: str | None
    disk_used_mb: int
    disk_total_mb: int
    snort_restart_due: bool
    package: PackageInfo | None
    package_id: str | None
    package_uploaded: float | None
    readiness: Readiness | None
    job: Job | None
    revert: RevertSnapshot | None
    hotfixes: list[str]
    history: list[dict[str, Any]]

    check_readiness: Trigger
    readiness_done: Trigger
    begin_upgrade: Trigger
    stage_failed: Trigger
    installed: Trigger
    post_done: Trigger
    cancel: Trigger
    retry: Trigger
    begin_revert: Trigger

    if TYPE_CHECKING:      # FtdDevice's
        @property
        def ver(self) -> Version: ...
        @property
        def info(self) -> ftd_facts.FtdModel: ...

        def _say(self, group: str, key: str, **values: Any) -> str: ...
        def _seconds(self, base: float) -> float: ...
        def pending(self) -> list[Any]: ...
        def _require(self, trigger: str) -> None: ...
        def _require_usable(self) -> None: ...
        def _stop_deploy(self) -> None: ...

    # -- packages ---------------------------------------------------------
    def require_package_slot(self) -> None:
        """Refuse (before a transfer) when a package cannot be taken or removed now."""
        self._require_usable()
        if self.state != "online":
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

    @property
    def disk_free_mb(self) -> int:
        used = self.disk_used_mb + (self.package.size_mb if self.package else 0)
        used += self.revert.size_kb // 1024 if self.revert else 0
        return max(0, self.disk_total_mb - used)

    # -- guards (machine.py) ------------------------------------------------
    def has_package(self) -> bool:
        return self.package is not None

    def no_pending_changes(self) -> bool:
        return not self.pending()

    def ha_allows_upgrade(self) -> bool:
        return self.ha is None or self.ha.upgrade_refusal(self) is None

    def readiness_passed(self) -> bool:
        return self._readiness_state() == "SUCCESS"

    def readiness_failed(self) -> bool:
        """The last readiness check of the uploaded package failed (seed 000: the next
        install attempt tells so and offers to force the installation)."""
        return self._readiness_state() == "FAILED"

    def _readiness_state(self) -> str | None:
        ready, package = self.readiness, self.package
        return ready.state if ready is not None and package is not None and ready.package == package.filename \
            else None

    def ready_to_install(self) -> bool:
        """The install may begin without a readiness check: one passed, or the operator forced it."""
        return self.readiness_passed() or (self.job is not None and self.job.forced)

    def nothing_changed(self) -> bool:
        """The failed script ran before the device entered maintenance mode."""
        return self._stages()[self._job.stage].name in ftd_facts.ftd().early_stages

    def auto_cancel(self) -> bool:
        return self._job.auto_cancel

    def is_patch(self) -> bool:
        return self.job is not None and self.job.is_patch

    def rolled_back(self) -> bool:
        return self._job.state in ("FAILED", "CANCELLED")

    def has_revert(self) -> bool:
        return self.revert is not None

    @property
    def _job(self) -> Job:
        assert self.job is not None
        return self.job

    # -- readiness --------------------------------------------------------
    def readiness_problems(self, package: PackageInfo) -> list[str]:
        """The readiness check's findings for `package` on this device (empty: ready)."""
        if package.problem:
            return [self._say("readiness", package.problem, package=package.filename, model=self.info.description)]
        target = Version.parse(package.version or "")
        checks = (self._model_problem, self._path_problem, self._fxos_problem, self._disk_problem)
        return [problem for check in checks if (problem := check(package, target)) is not None]

    def _model_problem(self, package: PackageInfo, target: Version) -> str | None:
        model = self.info
        too_new = model.last_train and _train_key(target) > _train_key(Version.parse(model.last_train + ".0"))
        if package.platform == model.platform and not too_new:
            return None
        return self._say("readiness", "model", package=package.filename, model=model.description)

    def _path_problem(self, package: PackageInfo, target: Version) -> str | None:
        data, current = ftd_facts.ftd(), self.ver
        kind = update_type(current, target)
        if package.kind == "hotfix":
            key = None if target.release == current.release else "path"
        elif package.kind == "patch" or kind == "patch":
            key = None if kind == "patch" and target > current else "path"
        elif target.release == current.release:
            key = "same"
        elif target.release in [Version.parse(v) for v in data.blocked_targets]:
            key = "blocked"
        elif target < current or data.train_of(target.numbers) not in data.upgrade_paths.get(
                data.train_of(current.numbers), []):
            key = "path"
        else:
            key = None
        return None if key is None else self._say("readiness", key, package=package.filename,
                                                  current=current.numbers, target=target.numbers)

    def _fxos_problem(self, package: PackageInfo, target: Version) -> str | None:
        data = ftd_facts.ftd()
        needed = data.trains.get(data.train_of(target.numbers))
        if not (self.info.logical_device and self.fxos_version and needed):
            return None
        if _fxos_key(self.fxos_version) >= _fxos_key(needed.fxos):
            return None
        return self._say("readiness", "fxos", package=package.filename, needed=needed.fxos,
                         running=self.fxos_version)

    def _disk_problem(self, package: PackageInfo, target: Version) -> str | None:
        needed_mb = int(package.size_mb * ftd_facts.ftd().disk_needed_factor)
        if self.disk_free_mb >= needed_mb:
            return None
        return self._say("readiness", "disk", package=package.filename, needed_mb=needed_mb,
                         free_mb=self.disk_free_mb)

    def run_readiness_check(self) -> Readiness:
        self._require_usable()
        self._require("check_readiness")
        self.check_readiness()
        assert self.readiness is not None
        return self.readiness

    def _start_readiness(self) -> None:
        """Entering a readiness state: the check runs for its time, then `checked`."""
        assert self.package is not None
        seconds = self._seconds(ftd_facts.ftd().timings["readiness_check"])
        self.readiness = Readiness(self.package.filename, "IN_PROGRESS", self.ctx.clock.now(), seconds)
        self._emit("readiness", state="IN_PROGRESS", package=self.package.filename)
        self._after(seconds, self._readiness_done)

    def _readiness_done(self) -> None:
        ready = self.readiness
        assert ready is not None and self.package is not None
        fault = self.ctx.take_fault(self.name, "readiness")
        if fault and fault.action == "fail":
            problems = [fault.message or "Readiness check script failed."]
        else:
            problems = self.readiness_problems(self.package)
        ready.state, ready.messages, ready.finished = ("FAILED" if problems else "SUCCESS"), problems, \
            self.ctx.clock.now()
        self._emit("readiness", state=ready.state, messages=problems)
        self.readiness_done()

    def _readiness_failed(self) -> None:
        assert self.readiness is not None
        self._finish_job("FAILED", self._say("job", "readiness_failed"), detail="; ".join(self.readiness.messages))

    def _abort_check(self) -> None:
        """A reboot or power loss interrupts a readiness check (and the upgrade it began)."""
        if self.state not in ("readiness", "upgrade_readiness"):
            return
        self._cancel_timer()
        if self.readiness and self.readiness.state == "IN_PROGRESS":
            self.readiness.state, self.readiness.finished = "FAILED", self.ctx.clock.now()
            self.readiness.messages = [self._say("job", "interrupted")]
        if self.job and self.job.finished is None and self.state == "upgrade_readiness":
            self._finish_job("FAILED", self._say("job", "interrupted"))

    # -- upgrade ----------------------------------------------------------
    def start_upgrade(self, auto_cancel: bool = True, force: bool = False) -> Job:
        """Begin the upgrade with the uploaded package: readiness check (unless
        one passed for this package), install stages, reboot, post-upgrade tasks.
        After a failed readiness check it is refused with the failure unless
        forced; a forced install skips the check (seed 000, readiness checks). The
        active unit of a pair with a standby is refused with the advice to upgrade
        the standby first, unless forced (seed 000, HA upgrade)."""
        self._require_usable()
        self._require("begin_upgrade")
        package, ready = self.package, self.readiness
        assert package is not None
        forced = self.readiness_failed()
        if forced and not force:
            assert ready is not None
            raise Refused("readiness_failed", self._say("refuse", "readiness_failed", package=package.filename,
                                                        detail="; ".join(ready.messages)))
        warning = self.ha.upgrade_warning(self) if self.ha is not None else None
        if warning and not force:
            raise Refused("ha_active", warning)
        target = package.version or self.version
        kind = package.kind if package.kind in ("patch", "hotfix") else update_type(
            self.ver, Version.parse(target)) if package.version else "major"
        self.job = Job("upgrade", package.filename, self.version, target, kind, auto_cancel, self.ctx.clock.now(),
                       forced=forced)
        self._log(self._say("job", "started"))
        self._emit("upgrade.started", package=package.filename, target=target, update_type=kind,
                   auto_cancel=auto_cancel, forced=forced)
        if forced:
            self._log(self._say("job", "forced"))
        elif not self.readiness_passed():
            self._log(self._say("job", "readiness"))
        self.begin_upgrade()
        return self.job

    def _stages(self) -> list[Stage]:
        data = ftd_facts.ftd()
        if self.state == "upgrade_rollback":
            return data.rollback_stages
        if self._job.operation == "revert":
            return data.revert_stages
        return data.upgrade_stages[self._job.update_type]

    def _run_stage(self) -> None:
        """Entering an install state (or a retry): run the job's current stage."""
        job = self._job
        stage = self._stages()[job.stage]
        job.script, job.message = stage.script, stage.message
        self._log(f"Running script {stage.script}...")
        self._emit("upgrade.stage", stage=stage.name, script=stage.script, percent=job.percent)
        rollback, installing = self.state == "upgrade_rollback", self.state == "upgrade_install"
        point = "rollback" if rollback else "revert" if job.operation == "revert" else f"upgrade.stage:{stage.name}"
        seconds = self._seconds(stage.seconds)
        if installing and job.forced and job.stage == 0 and (problems := self._install_checks()):
            self._stage_failed(stage, problems[0])
            return
        fault = self.ctx.take_fault(self.name, point, percent=job.percent)
        if fault:
            if fault.action == "fail" and installing:
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

    def _install_checks(self) -> list[str]:
        """A forced install skipped the readiness gate, not the checks of its own first
        scripts: a package this device cannot take still fails there, before anything changed."""
        return self.readiness_problems(self.package) if self.package is not None else []

    def _stage_done(self) -> None:
        job = self._job
        stages = self._stages()
        rollback = self.state == "upgrade_rollback"
        job.percent = job.percent if rollback else stages[job.stage].percent
        job.stage += 1
        self._emit("upgrade.progress", percent=job.percent, phase=self.job_phase)
        if job.stage < len(stages):
            self._run_stage()
            return
        if rollback:
            version = job.base_version
        elif job.operation == "revert":
            version = job.target_version
        else:
            self._log("System will now reboot.")
            # A hotfix is listed as installed but leaves the software version alone.
            version = job.base_version if job.update_type == "hotfix" else job.target_version
        job.message = self._say("job", "rebooting")
        self._stop_deploy()
        self._emit("reboot", cause="upgrade")
        self.installed()
        self.version = version

    def _stage_failed(self, stage: Stage, detail: str) -> None:
        job = self._job
        self._cancel_timer()
        job.failed_script, job.detail, job.state = stage.script, detail, "FAILED"
        self._log(f"Fatal error: Error running script {stage.script}. {detail}")
        self._emit("upgrade.failed", script=stage.script, detail=detail)
        self.stage_failed()

    def _failed_early(self) -> None:
        """Nothing was changed yet: the job ends and the device runs on."""
        detail = self._job.detail
        self._finish_job("FAILED", self._say("job", "failed", detail=detail), detail=detail)

    def _maintenance(self) -> None:
        job = self._job
        job.message = self._say("job", "patch_maintenance" if job.is_patch else "maintenance")
        self._log(job.message)

    def _auto_rollback(self) -> None:
        self._log(self._say("job", "rolling_back"))

    def _rewind(self) -> None:
        """A rollback runs its own stages from the first."""
        self._job.stage = 0

    def cancel_upgrade(self) -> Job:
        if self.state == "unusable":
            raise Refused("unusable", self._say("refuse", "unusable"))
        self._require("cancel")
        job = self._job
        self._cancel_timer()
        self._log(self._say("job", "cancelling"))
        self._emit("upgrade.cancel")
        readiness = self.state == "upgrade_readiness"
        if not readiness:
            job.state = "CANCELLED"
        self.cancel()
        if readiness:
            self._finish_job("CANCELLED", self._say("job", "cancelled", version=job.base_version))
        return job

    def retry_upgrade(self) -> Job:
        if self.state == "unusable":
            raise Refused("unusable", self._say("refuse", "unusable"))
        self._require("retry")
        job = self._job
        stage = self._stages()[job.stage]
        job.state, job.failed_script, job.detail = "IN_PROGRESS", None, None
        self._log(self._say("job", "retrying", stage=stage.script))
        self._emit("upgrade.retry", stage=stage.name)
        self.retry()
        return job

    def _upgrade_booted(self) -> None:
        job = self._job
        if job.update_type == "hotfix":
            self.hotfixes.append(job.package)
        elif job.update_type in ("major", "maintenance"):
            size = ftd_facts.ftd().revert_snapshot_mb * 1024
            self.revert = RevertSnapshot(job.base_version, clone(self.config), self.ctx.clock.now(), size)
        # The installed package is consumed by the upgrade (and its file removed, seed 001).
        consumed = self.package.filename if self.package is not None else None
        self.package = self.package_id = self.readiness = None
        if consumed:
            self._emit("package", action="consumed", filename=consumed)
        self.snort_restart_due = True
        job.message = "Running post-upgrade tasks"
        self._emit("upgrade.post_tasks")

    def _start_post(self) -> None:
        self._after(self._seconds(ftd_facts.ftd().timings["post_upgrade_tasks"]), self._post_tasks_done)

    def _post_tasks_done(self) -> None:
        self._job.percent = 100
        self._finish_job("COMPLETED", self._say("job", "completed"))
        self.post_done()

    def _rollback_booted(self) -> None:
        job = self._job
        state = job.state if job.state == "CANCELLED" else "FAILED"
        self._finish_job(state, self._say("job", "cancelled", version=job.base_version), detail=job.detail)

    # -- revert -----------------------------------------------------------
    def start_revert(self) -> Job:
        self._require_usable()
        self._require("begin_revert")
        assert self.revert is not None
        self.job = Job("revert", "", self.version, self.revert.version,
                       update_type(Version.parse(self.revert.version), self.ver), False, self.ctx.clock.now())
        self._log(self._say("job", "reverting", version=self.revert.version))
        self._emit("revert.started", target=self.revert.version)
        self.begin_revert()
        return self.job

    def _revert_booted(self) -> None:
        assert self.revert is not None
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
    @property
    def job_phase(self) -> str:
        """Where the job is: readiness, install, failed, rollback, reboot, post; done once it ended."""
        if self.job is None or self.job.finished is not None:
            return "done"
        return PHASES.get(self.state, "reboot")

    def _log(self, text: str) -> None:
        job = self._job
        job.log.append([round(self.ctx.clock.now(), 3), job.percent, text])
        self._emit("upgrade.log", percent=job.percent, text=text)

    def _finish_job(self, state: str, message: str, detail: str | None = None) -> None:
        job = self._job
        job.state, job.message = state, message
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
        if job is None or job.state != "IN_PROGRESS" or self.job_phase not in ("readiness", "install", "rollback"):
            return 0
        rest = sum(s.seconds for s in self._stages()[job.stage:])
        if self.job_phase == "readiness":
            rest += ftd_facts.ftd().timings["readiness_check"]
        return int(self._seconds(rest))



def _train_key(version: Version) -> tuple[int, int]:
    return (version.major, version.minor)


def _fxos_key(text: str) -> tuple[int, ...]:
    """Order FXOS versions: `2.14`, `2.14.1`, `2.14(1.131)`."""
    return tuple(int(p) for p in text.replace("(", ".").replace(")", "").split(".") if p.isdigit())

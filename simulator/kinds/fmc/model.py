"""A simulated Secure Firewall Management Center: its identity and release,
its domains, the lab's FTDs it manages (those whose manager names it), and
the tasks its REST API reports (`job/taskstatuses`). No I/O."""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from simulator.kinds.base import DeviceBase, DeviceContext, Refused, SwitchedPower
from simulator.kinds.fmc import health
from simulator.kinds.fmc.copy_order import CopyOrder
from simulator.kinds.fmc.deploy import Configuration, Deployer
from simulator.kinds.fmc.facts import Release, fmc, text
from simulator.kinds.fmc.machine import TABLE
from simulator.kinds.fmc.packages import PLATFORM as FMC_PLATFORM
from simulator.kinds.fmc.packages import by_name as fmc_by_name
from simulator.kinds.fmc.packages import is_fmc_package
from simulator.kinds.fmc.upgrades import (
    JobRun,
    Request,
    UpgradePackage,
    UpgradeRun,
    check_targets,
    package_by_name,
    released_before,
    upgrade_groups,
)
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.packages import PackageInfo
from simulator.kinds.ftd.versions import Version
from simulator.machines import Trigger

MACHINE = TABLE.machine()
DOMAIN_NAMESPACE = uuidlib.UUID("e276abec-e0f2-11e3-8169-6d9ed49b625f")
TASKS_KEPT = 10000              # finished tasks an FMC remembers (oldest dropped first)


@dataclass
class Task:
    """One `TaskStatus`: PENDING, then RUNNING, then COMPLETED or FAILED."""

    id: str
    task_type: str
    name: str
    status: str = "PENDING"
    message: str = ""
    sub_tasks: list[dict[str, Any]] = field(default_factory=list)
    created: float = 0.0
    domain: str | None = None   # the domain whose request made it; None: a platform request, seen in every domain

    @property
    def done(self) -> bool:
        return self.status in ("COMPLETED", "FAILED")


@dataclass
class Backup:
    """A device backup stored on the FMC (`backup/files`)."""

    id: str
    name: str
    device_id: str
    device_name: str
    created: float


@dataclass
class ApiOptions:
    """A profile's switches for the REST API's brakes and token clock."""

    token_clock: str = "wall"        # "wall" or "lab": what a token's 30 minutes count in
    rate_limit: bool = True          # 120 requests a minute per client address
    connection_limit: bool = True    # 10 simultaneous connections per client address


class FmcDevice(SwitchedPower, DeviceBase):
    kind = "fmc"
    power_up: Trigger
    booted: Trigger
    cut_power: Trigger
    begin_upgrade: Trigger
    installed: Trigger

    def __init__(self, ctx: DeviceContext, name: str, model: str, version: str, *, hostname: str | None,
                 username: str, password: str, devices: Mapping[str, DeviceBase],
                 subdomains: list[str] | None = None, api: ApiOptions | None = None,
                 domain_devices: Mapping[str, list[str]] | None = None,
                 device_internet: bool = False) -> None:
        if model not in fmc().models:
            raise ValueError(f"unknown FMC model {model!r}; expected one of {', '.join(fmc().models)}")
        self.ctx, self.name, self.model = ctx, name, model
        self.version = str(Version.parse(version))
        self.hostname = hostname or name
        self.username, self.password = username, password
        self.serial = "9A" + f"{ctx.rng.getrandbits(40):010X}"
        self.uuid = str(uuidlib.UUID(int=ctx.rng.getrandbits(128), version=4))
        self.devices = devices          # the lab's devices (live): the managed ones are found in it
        self.domains = [("Global", fmc().api.global_domain)] + [
            (f"Global/{sub}", str(uuidlib.uuid5(DOMAIN_NAMESPACE, f"{name}/{sub}"))) for sub in subdomains or []]
        self.api = api or ApiOptions()
        by_name = {name: uuid for name, uuid in self.domains}
        # a device's domain when not Global (the profile's, or the one it was registered in)
        self.device_domain: dict[str, str] = {
            device: by_name[f"Global/{sub}"] for sub, devices in (domain_devices or {}).items() for device in devices}
        self.tasks: dict[str, Task] = {}
        self._task_seq = 0
        self.packages: dict[str, UpgradePackage] = {}     # by id
        self.backups: dict[str, Backup] = {}              # by id
        self.readiness: dict[str, Any] | None = None      # its own: {package, state, messages}
        self.upgrade_target: str | None = None            # the package its own upgrade installs
        self.runs: set[UpgradeRun] = set()
        self.deployer = Deployer(self)                    # its objects and deployments
        self.device_internet = device_internet            # its devices may download from the internet
        self.transfer: Callable[[CopyOrder, Callable[[PackageInfo | None, str | None], None]], None] | None = None
        self.clock_offset, self._timer = 0.0, None
        MACHINE.add_model(self, initial="online")

    # -- identity -----------------------------------------------------------
    @property
    def ver(self) -> Version:
        return Version.parse(self.version)

    @property
    def version_text(self) -> str:
        """serverversion's `serverVersion`: "7.6.0 (build 113)" (clients parse the part before the space)."""
        return f"{self.ver.numbers} (build {self.ver.build})"

    @property
    def release(self) -> Release:
        """The content versions of the nearest release the facts know at or below this one."""
        releases = fmc().releases
        known = sorted((Version.parse(v), v) for v in releases)
        below = [v for parsed, v in known if parsed.release <= self.ver.release] or [known[0][1]]
        return releases[below[-1]]

    @property
    def services_up(self) -> bool:
        return self.state == "online"

    # -- power ----------------------------------------------------------------
    def _power_lost(self) -> None:
        # Its running tasks stop and are failed (seed 001, Running Tasks).
        self._fail_running("The task was stopped by a restart of the management center.")

    def _start_boot(self) -> None:
        self._after(fmc().timings["boot"], self.booted)

    # -- device backups ----------------------------------------------------------------------
    def backup(self, targets: list[str]) -> Task:
        """`backup/operational/devicebackup`: devices, or HA containers (both units), as a task."""
        units: list[Any] = []
        for target in targets:
            pair = next((p for p in self.pairs() if self.pair_id(p) == target), None)
            units += list(pair.units.values()) if pair is not None else [self.device(target)]
        if not units:
            raise Refused("no_targets", text("no_targets"))
        task = self.new_task("DEVICE_BACKUP", f"Backup {', '.join(u.name for u in units)}")
        task.sub_tasks = [{"target": {"id": u.uuid, "name": u.name, "type": "Device"}, "status": "RUNNING",
                           "message": ""} for u in units]

        def finish() -> str:
            for unit, sub in zip(units, task.sub_tasks):
                if not unit.services_up:
                    sub["status"] = "FAILED"
                    raise Refused("backup_failed", text("backup_failed", device=unit.name, state=unit.state))
                stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(self.ctx.clock.now()))
                backup = Backup(self.new_id(), f"{unit.name}_DeviceBackup_{stamp}.tar", unit.uuid, unit.name,
                                self.ctx.clock.now())
                self.backups[backup.id] = backup
                sub["status"], sub["message"] = "COMPLETED", backup.name
            return text("backup_done", count=len(units))

        self.run_task(task, fmc().timings["device_backup"], finish)
        return task

    def delete_backup(self, backup_id: str) -> Backup:
        found = self.backups.pop(backup_id, None)
        if found is None:
            raise Refused("not_found", text("not_found", id=backup_id))
        return found

    # -- its own upgrade (seed 001: readiness mandatory, tasks stopped, API away) ----------
    def own_problems(self, package: UpgradePackage) -> list[str]:
        info, current, target = package.info, self.ver, package.target
        if info.problem:
            return [text("fmc_package_problem", package=package.name, problem=info.problem)]
        if target.release == current.release and target <= current:
            return [text("fmc_same", target=target.numbers)]
        train = lambda v: f"{v.major}.{v.minor}"  # noqa: E731
        allowed = fmc().upgrade_paths.get(train(current), [])
        if target < current or (target.release != current.release and train(target) not in allowed):
            return [text("fmc_path", current=current.numbers, target=target.numbers)]
        later = released_before(package, current, self.name)
        return [later] if later else []

    def check_own_readiness(self, package_id: str) -> Task:
        """The FMC's readiness check for one of its packages, as a task; its result gates its upgrade."""
        package = self.package(package_id)
        if package.info.platform != FMC_PLATFORM:
            raise Refused("not_applicable", text("not_applicable", package=package.name, device=self.name,
                                                 model=self.model))
        self.readiness = {"package": package.name, "state": "IN_PROGRESS", "messages": []}
        task = self.new_task("FMC_READINESS_CHECK", f"Readiness check {package.name}")

        def finish() -> str:
            faulted = health.fault_alert(self, count=True)
            problems = self.own_problems(package) + ([faulted] if faulted else [])
            assert self.readiness is not None
            self.readiness.update(state="FAILED" if problems else "SUCCESS", messages=problems)
            if problems:
                raise Refused("not_ready", "; ".join(problems))
            return text("fmc_ready", package=package.name)

        self.run_task(task, fmc().timings["fmc_readiness"], finish)
        return task

    def upgrade_self(self, filename: str) -> None:
        """Install one of its packages: only after its readiness check passed."""
        package = next((p for p in self.packages.values() if p.name == filename), None)
        if package is None:
            raise Refused("not_found", text("not_found", id=filename))
        if self.state != "online":
            raise Refused("busy", text("fmc_busy", state=self.state))
        ready = self.readiness
        if ready is None or ready["package"] != filename or ready["state"] != "SUCCESS":
            raise Refused("not_ready", text("fmc_not_ready", package=filename))
        self.upgrade_target = filename
        self.begin_upgrade()

    def _start_install(self) -> None:
        """Tasks running when the upgrade starts are stopped and become failed (seed 001)."""
        self._fail_running(text("fmc_upgrade_stopped"))
        self._emit("upgrade.started", package=self.upgrade_target)
        self._after(fmc().timings["self_upgrade"], self._install_done)

    def _install_done(self) -> None:
        self._timer = None
        package = next((p for p in self.packages.values() if p.name == self.upgrade_target), None)
        if package is not None:
            self.version = str(package.target)
            del self.packages[package.id]            # the upgrade consumes its package (seed 001)
            if package.info.kind != "hotfix":
                self.backups.clear()                 # an upgrade deletes the backups stored on it (seed 001)
        self._emit("upgrade.finished", version=self.version)
        self.upgrade_target, self.readiness = None, None
        self.installed()

    def _fail_running(self, message: str) -> None:
        for task in self.tasks.values():
            if not task.done:
                task.message = message
                self.set_task(task, "FAILED")
        self.runs.clear()

    # -- managed devices ---------------------------------------------------------
    def manages(self, device: DeviceBase) -> bool:
        manager = getattr(device, "manager", None)
        return manager is not None and manager.registered and manager.identifier == self.uuid

    def managed(self) -> list[Any]:
        """The registered devices, in profile order."""
        return [d for d in self.devices.values() if self.manages(d)]

    @property
    def global_domain(self) -> str:
        return self.domains[0][1]

    def domain_of(self, device: Any) -> str:
        return self.device_domain.get(device.name, self.global_domain)

    def in_domain(self, domain: str) -> list[Any]:
        """The managed devices a domain sees: all of them in Global, its own in a sub-domain."""
        return [d for d in self.managed() if self.sees(domain, self.domain_of(d))]

    def sees(self, domain: str, owner: str) -> bool:
        """Whether a request in `domain` sees what belongs to `owner`: Global sees every domain's."""
        return domain in (self.global_domain, owner)

    @property
    def max_devices(self) -> int:
        return fmc().models[self.model].max_devices

    def register_declared(self) -> None:
        """Devices the profile says this FMC manages are registered to it from the start."""
        for device in self.devices.values():
            manager = getattr(device, "manager", None)
            if manager is not None and manager.host in (self.name, self.hostname) and not manager.registered:
                device.register_with(self.uuid, self.version_text)  # type: ignore[attr-defined]

    def register(self, name: str, host: str, reg_key: str, nat_id: str | None, domain: str | None = None) -> Task:
        """`POST devicerecords`: a Registration task that completes the `configure manager add`
        of the lab device at `host` (its name or hostname) whose key (and NAT ID) match; the
        device goes into the domain of the request. Refused at once past the model's limit."""
        if any(d.name == name for d in self.managed()):
            raise Refused("duplicate", text("already_managed", name=name))
        if len(self.managed()) >= self.max_devices:
            raise Refused("device_limit", text("device_limit", limit=self.max_devices, model=self.model))
        task = self.new_task("DEVICE_REGISTRATION", f"Registration {name}", domain)

        def finish() -> str:
            fault = self.ctx.take_fault(self.name, "registration")
            if fault is not None:
                raise Refused("register_failed", text("register_fault", name=name,
                                                      detail=fault.message or text("register_lost")))
            for device in self.devices.values():
                manager = getattr(device, "manager", None)
                if (manager is not None and not manager.registered and manager.host in (self.name, self.hostname)
                        and host in (device.name, getattr(device, "hostname", None))
                        and manager.reg_key == reg_key and (nat_id or None) == manager.nat_id
                        and device.services_up):
                    if len(self.managed()) >= self.max_devices:
                        raise Refused("device_limit", text("device_limit", limit=self.max_devices,
                                                           model=self.model))
                    device.register_with(self.uuid, self.version_text)  # type: ignore[attr-defined]
                    if domain is not None and domain != self.global_domain:
                        self.device_domain[device.name] = domain
                    else:
                        self.device_domain.pop(device.name, None)
                    return text("registered", name=name)
            raise Refused("register_failed", text("register_failed", name=name, host=host))

        self.run_task(task, fmc().timings["registration"], finish)
        return task

    def unregister(self, device: Any) -> None:
        """`DELETE devicerecords/{id}`: the device keeps its manager setting, unregistered."""
        device.unregister()

    def device(self, object_id: str) -> Any:
        found = next((d for d in self.managed() if d.uuid == object_id), None)
        if found is None:
            raise Refused("not_found", text("not_found", id=object_id))
        return found

    def pairs(self) -> list[Any]:
        """The HA pairs of managed devices that are still pairs."""
        seen: dict[str, Any] = {}
        for device in self.managed():
            pair = device.ha
            if pair is not None and not pair.broken and all(self.manages(u) for u in pair.units.values()):
                seen.setdefault(pair.name, pair)
        return list(seen.values())

    def pair_id(self, pair: Any) -> str:
        return str(uuidlib.uuid5(DOMAIN_NAMESPACE, f"{self.name}/ha/{pair.name}"))

    def pair(self, object_id: str) -> Any:
        found = next((p for p in self.pairs() if self.pair_id(p) == object_id), None)
        if found is None:
            raise Refused("not_found", text("not_found", id=object_id))
        return found

    def ha_action(self, pair: Any, action: str) -> Task:
        """FTD HA `SWITCH` (the standby becomes active) or `HABREAK`, as a task."""
        if action == "SWITCH":
            pair.switch()
        elif action == "HABREAK":
            pair.break_pair()
        else:
            raise Refused("bad_action", text("ha_action", action=action))
        task = self.new_task("DEVICE_HA_" + action, f"{action} {pair.name}")
        self.run_task(task, fmc().timings["ha_action"], lambda: f"{action} of {pair.name} completed.")
        return task

    # -- upgrades -----------------------------------------------------------------------
    def add_package(self, info: PackageInfo) -> UpgradePackage:
        """A package reached the FMC (uploaded, or downloaded); one of the same name is replaced
        (an internal server pointer of that name stays with it)."""
        url = None
        for old in [p for p in self.packages.values() if p.name == info.filename]:
            url = old.url
            del self.packages[old.id]
        package = UpgradePackage(self.new_id(), info, self.ctx.clock.now(), url=url)
        self.packages[package.id] = package
        self._emit("package", action="added", filename=info.filename, version=info.version)
        return package

    def add_pointer(self, url: str) -> UpgradePackage:
        """"Specify Remote Location": a threat defense package on an internal HTTP(S) server,
        which devices fetch themselves (seed 001 Table 6); the FMC holds only the URL."""
        parts = urlsplit(url)
        filename = parts.path.rsplit("/", 1)[-1]
        if parts.scheme not in ("http", "https") or not parts.hostname or not filename:
            raise Refused("bad_url", text("pointer_scheme", url=url))
        if is_fmc_package(filename):
            raise Refused("bad_url", text("pointer_not_device", package=filename))
        try:
            info = package_by_name(filename)
        except ValueError as exc:
            raise Refused("bad_url", str(exc)) from None
        found = next((p for p in self.packages.values() if p.name == filename), None)
        if found is None:
            found = UpgradePackage(self.new_id(), info, self.ctx.clock.now(), on_fmc=False)
            self.packages[found.id] = found
        found.url = url
        self._emit("package", action="pointer", filename=filename, url=url)
        return found

    def add_downloaded(self, entries: list[str]) -> None:
        """A profile's `upgrade_packages`: file names (on the FMC already) or internal server URLs."""
        for entry in entries:
            if "://" in entry:
                self.add_pointer(entry)
            else:
                self.add_package(fmc_by_name(entry) if is_fmc_package(entry) else package_by_name(entry))

    def package(self, package_id: str) -> UpgradePackage:
        found = self.packages.get(package_id)
        if found is None:
            raise Refused("not_found", text("not_found", id=package_id))
        return found

    def delete_package(self, package_id: str) -> None:
        """Removes it from the FMC only (not from devices it was copied to; seed 001 Table 5)."""
        package = self.package(package_id)
        del self.packages[package_id]
        self._emit("package", action="deleted", filename=package.name)

    def applicable(self, package: UpgradePackage) -> list[Any]:
        """Managed devices of the package's platform that run an older version (the FMC itself for its own)."""
        if package.info.platform == FMC_PLATFORM:
            return [self] if package.target > self.ver else []
        models = ftd_facts.ftd().models
        return [d for d in self.managed()
                if models[d.model].platform == package.info.platform and d.ver < package.target]

    def upgrade(self, package_id: str, targets: list[str], *, push_only: bool = False,
                readiness_only: bool = False, auto_cancel: bool = True) -> Task:
        """`POST updates/upgrades`: a task that copies, checks or upgrades the targets."""
        package = self.package(package_id)
        if self.uuid in targets:
            if not readiness_only or push_only:
                raise Refused("fmc_rest_upgrade", text("fmc_rest_upgrade"))
            return self.check_own_readiness(package_id)
        groups = upgrade_groups(self, [self.device(t) for t in targets])
        check_targets(self, package, groups, push_only=push_only)
        kind = "UPGRADE_PACKAGE_PUSH" if push_only else "DEVICE_READINESS_CHECK" if readiness_only else "DEVICE_UPGRADE"
        task = self.new_task(kind, f"{kind} {package.name}")
        run = UpgradeRun(self, task, Request(package, push_only, readiness_only, auto_cancel), groups)
        self.runs.add(run)
        run.start()
        return task

    def job_action(self, operation: str, targets: list[str]) -> Task:
        """Cancel or retry a failed upgrade, or revert one (`cancel_upgrade`, `retry_upgrade`,
        `start_revert` on each target); a device's refusal refuses the request."""
        units = [self.device(t) for t in targets]
        if not units:
            raise Refused("no_targets", text("no_targets"))
        for unit in units:
            getattr(unit, operation)()
        kind = {"cancel_upgrade": "CANCEL_UPGRADE", "retry_upgrade": "RETRY_UPGRADE",
                "start_revert": "REVERT_UPGRADE"}[operation]
        task = self.new_task(kind, f"{kind} {', '.join(u.name for u in units)}")
        JobRun(self, task, units, operation).start()
        return task

    # -- tasks ------------------------------------------------------------------------
    def new_task(self, task_type: str, name: str, domain: str | None = None) -> Task:
        self._task_seq += 1
        task = Task(str(fmc().api.task_id_base + self._task_seq), task_type, name, created=self.ctx.clock.now(),
                    domain=domain)
        self.tasks[task.id] = task
        while len(self.tasks) > TASKS_KEPT:
            del self.tasks[next(iter(self.tasks))]
        self._emit("task", id=task.id, type=task_type, status=task.status)
        return task

    def run_task(self, task: Task, seconds: float, finish: Callable[[], str]) -> None:
        """PENDING → RUNNING after a moment, then COMPLETED with `finish()`'s
        message after `seconds` (FAILED with the refusal's, if it refuses)."""
        def running() -> None:
            self.set_task(task, "RUNNING")
            self.ctx.clock.call_later(seconds, complete)

        def complete() -> None:
            if task.done:
                return
            try:
                task.message = finish()
                self.set_task(task, "COMPLETED")
            except Refused as refused:
                task.message = refused.message
                self.set_task(task, "FAILED")

        self.ctx.clock.call_later(fmc().timings["task_start"], running)

    def task(self, task_id: str, domain: str | None = None) -> Task:
        """A task by id, as a request in `domain` sees it (a sub-domain does not see another's)."""
        found = self.tasks.get(task_id)
        if found is None or (domain is not None and found.domain is not None and not self.sees(domain, found.domain)):
            raise Refused("not_found", text("not_found", id=task_id))
        return found

    def set_task(self, task: Task, status: str) -> None:
        if not task.done:
            task.status = status
            self._emit("task", id=task.id, type=task.task_type, status=status)

    # -- persistence ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"version": self.version, "state": self.state, "readiness": self.readiness,
                "upgrade_target": self.upgrade_target, "serial": self.serial, "uuid": self.uuid,
                "backups": [asdict(b) for b in self.backups.values()],
                "packages": [{"id": p.id, "info": p.info.to_dict(), "added": p.added, "url": p.url,
                              "on_fmc": p.on_fmc} for p in self.packages.values()],
                "task_seq": self._task_seq, "tasks": [asdict(t) for t in self.tasks.values()],
                "config": self.deployer.config.snapshot(), "device_domain": self.device_domain}

    def restore(self, data: dict[str, Any]) -> None:
        self.version, self.serial, self.uuid = data["version"], data["serial"], data["uuid"]
        self._task_seq = data["task_seq"]
        self.packages = {p["id"]: UpgradePackage(p["id"], PackageInfo.from_dict(p["info"]), p["added"],
                                                 p.get("url"), p.get("on_fmc", True))
                         for p in data.get("packages", [])}
        # A task the lab stopped under does not resume: it failed, as after a reboot (seed 001).
        self.tasks = {t["id"]: Task(**t) for t in data["tasks"]}
        for task in self.tasks.values():
            if not task.done:
                task.status, task.message = "FAILED", "The task was stopped by a restart of the management center."
        self.readiness, self.upgrade_target = data.get("readiness"), data.get("upgrade_target")
        self.backups = {b["id"]: Backup(**b) for b in data.get("backups", [])}
        self.device_domain = data.get("device_domain", self.device_domain)
        if "config" in data:
            self.deployer.config = Configuration.restore(data["config"])
        MACHINE.set_state(data["state"], model=self)
        if self.state == "booting":
            self._start_boot()
        elif self.state == "upgrading":
            self._after(fmc().timings["self_upgrade"], self._install_done)


MACHINE.bind(FmcDevice)

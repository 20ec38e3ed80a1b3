"""The simulated Firepower Threat Defense device: identity, software version,
power, reboots and boots, on the lifecycle of machine.py; its upgrade work
(upgrade.py) and configuration (config.py) are parts of the same device.
Pure model: no I/O; every duration goes through the clock, every change is a
journal event, faults come from the lab's fault plan.

One machine serves every FTD in the lab (`add_model`, triggers bound on the class)."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import asdict
from typing import Any

from simulator.clock import Timer
from simulator.kinds.base import DeviceContext, Refused
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.config import Configuration, Deployment, clone, factory_config
from simulator.kinds.ftd.machine import (
    APPS_UP,
    GUARDS,
    INSTALLING,
    NOT_NOW,
    SERVICES_UP,
    TABLE,
    UPGRADING,
)
from simulator.kinds.ftd.manager import Manager
from simulator.kinds.ftd.packages import PackageInfo
from simulator.kinds.ftd.upgrade import Job, Readiness, RevertSnapshot, Upgrades
from simulator.kinds.ftd.versions import Version
from simulator.machines import Trigger

MACHINE = TABLE.machine()


class FtdDevice(Configuration, Upgrades):
    kind = "ftd"

    power_up: Trigger
    cut_power: Trigger
    reinstall: Trigger
    restart: Trigger
    shutdown_done: Trigger
    os_up: Trigger
    apps_started: Trigger
    may_cancel: Trigger
    may_retry: Trigger

    def __init__(self, ctx: DeviceContext, name: str, model: str, version: str, *,
                 hostname: str | None = None, serial: str | None = None, uuid: str | None = None,
                 fxos_version: str | None = None, username: str = "admin", password: str = "Admin123",
                 disk_used_mb: int | None = None, manager: Manager | None = None) -> None:
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
        self.config = factory_config(hostname or "firepower")
        self.candidate = clone(self.config)
        self.deployments: list[Deployment] = []
        self.snort_restart_due = False
        self.package: PackageInfo | None = None
        self.package_id: str | None = None          # the API's id for the uploaded package
        self.package_uploaded: float | None = None
        self.readiness: Readiness | None = None
        self.job: Job | None = None
        self.revert: RevertSnapshot | None = None
        self.hotfixes: list[str] = []
        self.history: list[dict[str, Any]] = []
        self.manager = manager      # a Management Center: FDM is off while there is one
        self.booted_at = ctx.clock.now()
        self.clock_offset = 0.0              # seconds the device's clock is off (NTP lost)
        self._timer: Timer | None = None
        self._broken = False      # a reboot or power loss hit a software install
        self._boot_factor = 1.0   # a `slow` boot fault stretches the OS and the applications alike
        MACHINE.add_model(self, initial="online")

    # -- identity ---------------------------------------------------------
    @property
    def info(self) -> ftd_facts.FtdModel:
        return ftd_facts.ftd().models[self.model]

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

    # -- what the machine's state means -------------------------------------
    @property
    def apps_up(self) -> bool:
        """The applications run and pass traffic (not booting, not in maintenance
        mode for an install, not finishing post-upgrade tasks)."""
        return self.state in APPS_UP

    @property
    def services_up(self) -> bool:
        """SSH and the CLI answer (the web server may still answer 503: `web_starting`)."""
        return self.state in SERVICES_UP

    @property
    def installing(self) -> bool:
        """A reboot or power loss now leaves the software half-installed."""
        return self.state in INSTALLING

    @property
    def upgrading(self) -> bool:
        """Its software is changing: installing, rebooting into it, or finishing its post-upgrade tasks."""
        return self.state in UPGRADING

    @property
    def boot_phase(self) -> str | None:
        """While booting (a plain boot or an upgrade's): `os`, then `apps`."""
        phase = self.state.rsplit("_", 1)[-1]
        return phase if phase in ("os", "apps") else None

    @property
    def web_starting(self) -> bool:
        """The web server is up but answers 503: shutting down, applications
        starting after the OS, post-upgrade tasks."""
        return self.state.rsplit("_", 1)[-1] in ("shutdown", "apps", "post")

    def _say(self, group: str, key: str, **values: Any) -> str:
        return ftd_facts.ftd().texts[group][key].format(**values)

    def _seconds(self, base: float) -> float:
        return base * self.info.speed

    def _require_usable(self) -> None:
        if self.state == "unusable":
            raise Refused("unusable", self._say("refuse", "unusable"))
        if not self.services_up:
            raise Refused("not_online", self._say("refuse", "not_online", state=self.state))

    def _require(self, trigger: str) -> None:
        """Refuse, in the device's words, unless the machine takes `trigger` now."""
        if getattr(self, f"may_{trigger}")():
            return
        guard = MACHINE.blocking_guard(self, trigger)
        if guard == "ha_allows_upgrade":
            raise self.ha.upgrade_refusal(self)
        key = GUARDS.get(f"{trigger}:{guard}") or GUARDS.get(guard or "") or NOT_NOW.get(trigger, "busy")
        raise Refused(key, self._say("refuse", key))

    # -- reboot, boot and power -------------------------------------------------
    def reboot(self) -> None:
        """An operator reboot (CLI `reboot`). Mid-install it breaks the device."""
        self._require_usable()
        self._abort_check()
        self._cancel_timer()
        self._stop_deploy()
        self._emit("reboot", cause="operator", **({"during": self.state} if self.installing else {}))
        self.restart()

    def _break_install(self) -> None:
        self._broken = True

    def _start_shutdown(self) -> None:
        """Entering a shutdown: the OS goes down (a `reboot` fault may hang or break it)."""
        fault = self.ctx.take_fault(self.name, "reboot")
        if fault and fault.action in ("power_loss", "fail"):
            self._broken = True
        if fault and fault.action == "hang":
            self._cancel_timer()
            return
        self._after(self._seconds(ftd_facts.ftd().timings["shutdown"]), self.shutdown_done)

    def _start_os(self) -> None:
        """Entering a boot: the OS comes up (the CLI answers at its end); a `boot`
        fault may hang it, break it or slow it down."""
        self._boot_factor = 1.0
        fault = self.ctx.take_fault(self.name, "boot")
        if fault:
            if fault.action == "hang":
                self._cancel_timer()
                return
            if fault.action == "fail":
                self._broken = True
            if fault.action == "slow":
                self._boot_factor = fault.factor
        self._after(self._seconds(ftd_facts.ftd().timings["boot"]) * self._boot_factor, self._os_booted)

    def _os_booted(self) -> None:
        self._timer = None
        self.os_up()

    def _start_apps(self) -> None:
        """The OS is up; the applications start (the web server answers 503 meanwhile)."""
        self._emit("boot", phase="apps")
        self._after(self._seconds(ftd_facts.ftd().timings["app_init"]) * self._boot_factor, self._apps_booted)

    def _apps_booted(self) -> None:
        self._timer = None
        self.booted_at = self.ctx.clock.now()
        self.apps_started()

    def broken(self) -> bool:
        """Guard: a reboot or power loss hit a software install."""
        return self._broken

    def _unusable(self) -> None:
        if self.job and self.job.finished is None:
            self._finish_job("FAILED", self._say("job", "power_loss"))

    def power_off(self, cause: str = "operator") -> None:
        if self.state == "off":
            return
        if self.installing:
            self._broken = True
        self._abort_check()
        self._cancel_timer()
        self._stop_deploy()
        self._emit("power", action="off", cause=cause)
        self.cut_power()

    def power_on(self) -> None:
        if self.state != "off":
            return
        self._emit("power", action="on")
        self.power_up()

    def require_host_up(self) -> None:
        host = self.host
        if host is not None and host.state != "online":
            raise Refused("chassis_down", self._say("refuse", "chassis_down", name=self.name, chassis=host.name,
                                                    state=host.state))

    # -- management ---------------------------------------------------------
    def add_manager(self, manager: Manager) -> None:
        """`configure manager add`: FDM goes off; the FMC completes the registration."""
        if self.manager is not None:
            raise Refused("manager_exists", ftd_facts.ftd().texts["refuse"]["manager_exists"])
        self.manager = manager
        self._emit("manager", host=manager.host, registered=manager.registered)

    def delete_manager(self) -> None:
        """`configure manager delete`: back to no manager (FDM on again)."""
        if self.manager is None:
            raise Refused("no_manager", ftd_facts.ftd().texts["refuse"]["no_manager"])
        self.manager = None
        self._emit("manager", host=None, registered=False)

    def unregister(self) -> None:
        """The management center deleted the device; its manager setting stays (registration pending)."""
        assert self.manager is not None
        self.manager.registered, self.manager.identifier, self.manager.version = False, None, None
        self._emit("manager", host=self.manager.host, registered=False)

    def register_with(self, identifier: str, version: str) -> None:
        """The management center completed this device's registration."""
        assert self.manager is not None
        self.manager.registered, self.manager.identifier, self.manager.version = True, identifier, version
        self._emit("manager", host=self.manager.host, registered=True)

    def reimage(self, version: str | None = None) -> None:
        """Reinstall from scratch (the only way out of `unusable`): factory
        configuration, no package, no revert snapshot."""
        target = str(Version.parse(version)) if version else self.version
        data = ftd_facts.ftd()
        if data.train_of(Version.parse(target).numbers) not in data.trains:
            raise ValueError(self._say("refuse", "unknown_release", version=target))
        self._cancel_timer()
        self._stop_deploy()
        self._broken = False
        self.version = target
        self.config = factory_config("firepower")
        self.candidate = clone(self.config)
        self.deployments = []
        self.package = self.package_id = self.readiness = self.job = self.revert = None
        self.hotfixes = []
        self._emit("reimage", version=target)
        self.reinstall()

    def summary(self) -> dict[str, Any]:
        job = self.job
        return {"package": self.package.filename if self.package else None,
                "job": None if job is None else {"operation": job.operation, "state": job.state,
                                                 "phase": self.job_phase, "percent": job.percent,
                                                 "target": job.target_version, "message": job.message}}

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
            "manager": self.manager.to_dict() if self.manager else None, "booted_at": self.booted_at,
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back a snapshot and carry on with whatever was in flight."""
        self.version, self.serial, self.uuid = data["version"], data["serial"], data["uuid"]
        self.config, self._broken = data["config"], data["broken"]
        self.disk_used_mb = data["disk_used_mb"]
        self.package = PackageInfo.from_dict(data["package"]) if data["package"] else None
        self.readiness = Readiness(**data["readiness"]) if data["readiness"] else None
        self.job = Job.from_dict(data["job"]) if data["job"] else None
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
        self.manager = Manager.from_dict(data.get("manager"))
        self.booted_at = data.get("booted_at", self.booted_at)
        # Back where it stopped; what that state waits for (a stage, a boot, a check) starts again.
        MACHINE.set_state(data["state"], model=self)
        for callback in MACHINE.get_state(self.state).on_enter[1:]:    # [0] tells the state (it is not new)
            getattr(self, str(callback))()


MACHINE.bind(FtdDevice)


def _serial_for(ctx: DeviceContext) -> str:
    return "JAD" + "".join(ctx.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))

"""The simulated FXOS chassis (Firepower 4100/9300): identity, platform bundle
version, the components `show firmware monitor` reports (FPRM, Fabric
Interconnect A, one server per security module), its security modules and
the FTD logical devices (app instances) they host, its boots and the
platform bundle install, on the lifecycle of machine.py. Downloads and
bundles are its image store (downloads.py).

Pure model: no I/O. Every duration goes through the clock, every change is a
journal event. One machine serves every chassis of the lab (`add_model`,
triggers bound on the class)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, cast

from simulator.clock import Timer
from simulator.kinds.base import DeviceContext, Refused
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.versions import Version
from simulator.kinds.fxos.bundles import BundleInfo, FxosVersion, normalize
from simulator.kinds.fxos.downloads import ImageStore
from simulator.kinds.fxos.facts import ChassisModel, Phase, fxos_data, say
from simulator.kinds.fxos.machine import TABLE, boot_start, install_phase
from simulator.kinds.fxos.records import AppInstance, Component, DownloadTask, Install, Module, Verification
from simulator.machines import Trigger

MACHINE = TABLE.machine()


def ftd_train(version: str) -> str:
    """`7.4.1-172` -> `7.4` (`6.2.3` is its own row), as the FTD's facts key trains."""
    return ftd_facts.ftd().train_of(Version.parse(version).numbers)


def app_version(version: str) -> str:
    """FTD `7.4.1-172` as FXOS shows an application version: `7.4.1.172`."""
    v = Version.parse(version)
    return f"{v.numbers}.{v.build}"


def _firmware_in(version: str) -> bool:
    """Bundles of 2.14.1 and later carry firmware (seed table 4)."""
    return FxosVersion.parse(version)[:3] >= FxosVersion.parse(fxos_data().firmware_from)[:3]


class FxosChassis(ImageStore):
    kind = "fxos"

    power_up: Trigger
    cut_power: Trigger
    restart: Trigger
    shutdown_done: Trigger
    os_up: Trigger
    dme_up: Trigger
    auto_install: Trigger
    upgraded: Trigger
    stage_failed: Trigger
    cancel: Trigger
    may_restart: Trigger
    may_auto_install: Trigger
    may_cancel: Trigger

    def __init__(self, ctx: DeviceContext, name: str, model: str, version: str, *,
                 hostname: str | None = None, serial: str | None = None, uuid: str | None = None,
                 username: str = "admin", password: str = "Admin123",
                 modules: dict[int, list[tuple[str, FtdDevice]]] | None = None) -> None:
        data = fxos_data()
        if model not in data.models:
            raise ValueError(f"unknown FXOS chassis model {model!r}; expected one of {', '.join(data.models)}")
        self.ctx = ctx
        self.name = name
        self.model = model
        self.version = normalize(version)              # running platform bundle
        self.startup_version = self.version            # the bundle the next boot runs
        self.hostname = hostname or name
        self.serial = serial or "JMX" + "".join(ctx.rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")
                                                 for _ in range(8))
        self.uuid = uuid or str(uuidlib.UUID(int=ctx.rng.getrandbits(128), version=1))
        self.username, self.password = username, password
        self.firmware_version = data.firmware_version if _firmware_in(self.version) else data.old_firmware_version
        self.modules = self._modules(modules or {})
        self.components = [Component("fprm", self.version), Component("fabric", self.version)]
        self.components += [Component("server", self.version, slot=slot) for slot in self.modules]
        self.packages: dict[str, BundleInfo] = {}
        self.downloads: dict[str, DownloadTask] = {}
        self.install: Install | None = None
        self.history: list[dict[str, Any]] = []
        self.logins = 0                      # SSH and console logins, for the banner
        self.last_login: str | None = None
        self.booted_at = ctx.clock.now()
        self.clock_offset = 0.0              # seconds the chassis clock is off (NTP lost)
        self.transfer: Callable[[DownloadTask, str | None], None] | None = None
        self._timer: Timer | None = None
        self._download_timers: dict[str, Timer] = {}
        self._module_timers: dict[int, Timer] = {}
        for slot, app in self.apps():
            app.device.fxos_version = self.version
            app.device.host, app.device.host_slot = self, slot
        MACHINE.add_model(self, initial="online")

    def _modules(self, hosted: dict[int, list[tuple[str, FtdDevice]]]) -> dict[int, Module]:
        """The security modules of every slot, with the FTDs they host (identifier, device)."""
        for extra in set(hosted) - set(range(1, self.info.slots + 1)):
            raise ValueError(f"{self.model} has {self.info.slots} security module slot(s); no slot {extra}")
        return {slot: Module(slot, apps=[AppInstance(slot, ident, dev) for ident, dev in hosted.get(slot, [])])
                for slot in range(1, self.info.slots + 1)}

    # -- identity ---------------------------------------------------------------------
    @property
    def info(self) -> ChassisModel:
        return fxos_data().models[self.model]

    @property
    def family(self) -> str:
        return "fp9k" if self.info.slots > 1 else "fp4k"

    @property
    def prompt_name(self) -> str:
        """The CLI names the chassis by its fabric interconnect: `FP9300-A`."""
        return f"{self.hostname}-A"

    def apps(self) -> list[tuple[int, AppInstance]]:
        return [(slot, app) for slot, module in self.modules.items() for app in module.apps]

    def hosted_devices(self) -> list[FtdDevice]:
        return [app.device for _slot, app in self.apps()]

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def _role(self, role: str | None) -> list[Component]:
        return [c for c in self.components if c.role == role]

    def _seconds(self, key: str) -> float:
        return fxos_data().timings[key] * self.info.speed

    def record_login(self, where: str) -> tuple[str, int]:
        """Count a login (SSH or console, `where`: when and from where); returns
        the previous login's (this one's, the first time) and the count."""
        previous, self.last_login = self.last_login or where, where
        self.logins += 1
        return previous, self.logins

    # -- guards of the machine ---------------------------------------------------------------
    def cli_answers(self) -> bool:
        return self.services_up

    def carries_firmware(self) -> bool:
        return self.install is not None and self.install.firmware

    # -- operational states ------------------------------------------------------------------
    def app_oper_state(self, app: AppInstance) -> str:
        """`show app-instance` Oper State, following the FTD's own state."""
        ftd = app.device
        if ftd.boot_phase is not None:
            return "Started" if ftd.boot_phase == "apps" else "Starting"
        if ftd.state == "unusable":
            return "Start Failed"
        if ftd.services_up:
            return "Online"
        return "Offline"

    def slot_oper_state(self, slot: int) -> str:
        return self.modules[slot].state

    # -- boots (machine.py: shutdown, os, dme) --------------------------------------------------
    def reboot(self) -> None:
        """An operator reboot (local-mgmt `reboot`, or `scope chassis 1` `reboot`)."""
        if not self.may_restart():
            raise Refused("not_ready", say("not_ready"))
        self.restart()

    def _enter_shutdown(self) -> None:
        """Sessions end and services stop, then the system restarts (unless a `reboot` fault hangs it)."""
        self._cancel_timer()
        self._fail_downloads()
        install = self.install if self.installing else None
        if install is not None:
            install.reboots += 1
            self._log(say("log_rebooting"))
        self._emit("reboot", cause="upgrade" if install is not None else "operator")
        self._modules_down("chassis_reboot")
        fault = self.ctx.take_fault(self.name, "reboot")
        if fault is not None and fault.action == "hang":
            return
        self._after(self._seconds("shutdown"), self.shutdown_done)

    def _load_fxos(self) -> None:
        """ROMMON loads the FXOS the FPRM holds (the new one once an install upgraded it)."""
        fprm = self._role("fprm")[0]
        if fprm.status == "Ready" and FxosVersion.parse(fprm.package_vers) > FxosVersion.parse(self.version):
            self.version = fprm.package_vers
        if not self.installing:
            self.startup_version = self.version

    def _enter_os(self) -> None:
        """The kickstart and the system image boot; nothing answers yet."""
        factor = 1.0
        fault = self.ctx.take_fault(self.name, "boot")
        if fault is not None:
            if fault.action == "hang":
                self._cancel_timer()
                return
            if fault.action == "slow":
                factor = fault.factor
        self._after(self._seconds("os") * factor, self.os_up)

    def _enter_dme(self) -> None:
        self._after(self._seconds("dme"), self.dme_up)

    def _booted(self) -> None:
        """The management engine answers: the boot is over."""
        self.booted_at = self.ctx.clock.now()
        self._emit("boot", phase="services")

    def power_off(self, cause: str = "operator") -> None:
        if self.state == "off":
            return
        self._fail_downloads()
        if self.installing:
            self._break_install("power loss" if cause == "power_loss" else cause)
        self._cancel_timer()
        self._emit("power", action="off", cause=cause)
        self.cut_power()
        self._modules_down("chassis_power")

    def power_on(self) -> None:
        if self.state != "off":
            return
        self._emit("power", action="on")
        self.power_up()

    # -- security modules -----------------------------------------------------------------------
    def _set_module(self, slot: int, state: str) -> None:
        module = self.modules[slot]
        if module.state != state:
            module.state = state
            self._emit("fxos.slot", slot=slot, oper_state=state)

    def _boot_modules(self) -> None:
        """Security modules boot, then their applications (the FTDs) start."""
        for module in self.modules.values():
            if module.state == "Online" or module.slot in self._module_timers:
                continue
            self._set_module(module.slot, "Starting")
            self._module_timers[module.slot] = self.ctx.clock.call_later(
                self._seconds("module_boot"), self._module_up, module.slot)

    def _module_up(self, slot: int) -> None:
        self._module_timers.pop(slot, None)
        if not self.services_up:
            return
        self._set_module(slot, "Online")
        for app in self.modules[slot].apps:
            app.device.fxos_version = self.version
            app.device.power_on()

    def _modules_down(self, cause: str) -> None:
        for timer in self._module_timers.values():
            timer.cancel()
        self._module_timers.clear()
        for module in self.modules.values():
            self._set_module(module.slot, "Offline")
        for device in self.hosted_devices():
            device.power_off(cause=cause)

    # -- the platform bundle install (machine.py: upgrade) ----------------------------------------
    def verify_platform(self, target: str) -> Verification:
        """What `install platform platform-vers` verifies. Raises Refused for
        what stops the command before verification; returns the findings."""
        self._require_ready()
        try:
            target = normalize(target)
        except ValueError:
            raise Refused("not_found", say("not_found", target=target)) from None
        if self.install is not None and not self.may_auto_install():
            raise Refused("busy", say("busy", target=self.install.target))
        bundle = self.bundle_for(target)
        # "FXOS upgrades to Version 2.14.1+ that include firmware upgrades" (seed ch. 4): a bundle
        # carries firmware from 2.14.1 on; it upgrades it when the chassis runs another.
        firmware = _firmware_in(target) and self.firmware_version != fxos_data().firmware_version
        check = Verification(target, self.version, bundle, firmware)
        if all(c.package_vers == target and c.status == "Ready" for c in self.components):
            raise Refused("same", say("same", target=target))
        if FxosVersion.parse(target) < FxosVersion.parse(self.version):
            raise Refused("downgrade", say("downgrade", current=self.version, target=target))
        if bundle is None:
            raise Refused("not_found", say("not_found", target=target))
        if bundle.problem:
            check.errors.append(say("unsigned", filename=bundle.filename))
        elif self.family not in bundle.platforms:
            check.errors.append(say("platform", filename=bundle.filename, model=self.info.description))
        supported = fxos_data().supported_trains(target)
        for slot, app in self.apps():
            if ftd_train(app.device.version) not in supported:
                check.incompatible.append({"app": app.app, "identifier": app.identifier, "slot": str(slot),
                                           "version": app_version(app.device.version),
                                           "supported": ", ".join(supported) or "none"})
        self._emit("fxos.verify", target=target, ok=check.ok, errors=check.errors,
                   incompatible=[a["identifier"] for a in check.incompatible])
        return check

    def start_platform_install(self, target: str) -> Install:
        """Begin the install (after both confirmations of `install platform`)."""
        check = self.verify_platform(target)
        if not check.ok:
            reason = check.errors[0] if check.errors else say("apps_incompatible", target=check.target)
            raise Refused("incompatible" if check.incompatible else "invalid", reason)
        self.install = Install(check.target, self.version, check.firmware, self.ctx.clock.now())
        self.startup_version = check.target
        self._log(say("log_started", target=check.target))
        self._emit("fxos.install", state="IN_PROGRESS", target=check.target, base=self.version,
                   firmware=check.firmware)
        self.auto_install()
        return self.install

    def cancel_install(self) -> Install:
        """PATCH sys/firmware/cancel-platform-fw: possible until the chassis reboots."""
        install = self.install
        if install is None or not self.installing:
            raise Refused("no_install", say("cancel_none"))
        if not self.may_cancel():
            raise Refused("too_late", say("cancel_late", target=install.target))
        self.cancel()
        return install

    @property
    def install_phase(self) -> str | None:
        """The phase (facts.yaml install_phases:) of the install, None when none runs."""
        return install_phase(self.state)

    def _phase(self) -> Phase:
        return fxos_data().install_phases[self.install_phase or ""]

    def _run_phase(self) -> None:
        """A phase that upgrades components: they show Upgrading for the phase's
        time, or as the `upgrade.stage:<phase>` fault has it."""
        phase = self._phase()
        upgrading = self._role(phase.upgrades)
        seconds = self._seconds(phase.timing or "")
        fault = self.ctx.take_fault(self.name, f"upgrade.stage:{self.install_phase}")
        if fault is not None:
            if fault.action == "fail":
                self._stage_failed(upgrading, fault.message or say("stage_failed", names=self._names(upgrading)))
                return
            if fault.action == "power_loss":
                self.power_off(cause="power_loss")
                return
            seconds *= fault.factor if fault.action == "slow" else 1
        self._set(upgrading, "Upgrading")
        if phase.upgrades == "server":
            for module in self.modules.values():
                self._set_module(module.slot, "Upgrading")
        self._log(say("log_upgrading", names=self._names(upgrading)))
        if fault is not None and fault.action == "hang":
            self._cancel_timer()
            return
        self._after(seconds, self.upgraded)

    def _phase_done(self) -> None:
        install = self.install
        assert install is not None
        phase = self._phase()
        upgraded = self._role(phase.upgrades)
        # 2.14.1+: the security modules stay Upgrading through the firmware and its reboot
        held = phase.upgrades == "server" and install.firmware
        self._set(upgraded, "Upgrading" if held else "Ready", install.target)
        self._log(say("log_upgraded", names=self._names(upgraded), target=install.target))
        if phase.upgrades == "server":
            for module in self.modules.values():
                self._set_module(module.slot, "Offline")
        if phase.firmware:
            self.firmware_version = fxos_data().firmware_version

    def _installed(self) -> None:
        install = self.install
        assert install is not None
        self._set([c for c in self.components if c.status != "Ready"], "Ready", install.target)
        self._log(say("log_installed", target=install.target))
        for device in self.hosted_devices():
            device.fxos_version = self.version
        self._end_install("COMPLETED")

    def _stage_failed(self, upgrading: list[Component], detail: str) -> None:
        """The phase's components fail, and those it held Upgrading (the servers through the firmware)."""
        self._set([c for c in self.components if c in upgrading or c.status == "Upgrading"], "Failed")
        self._log(say("log_failed", detail=detail))
        self._end_install("FAILED", detail)
        self.stage_failed()

    def _break_install(self, why: str = "operator") -> None:
        """A reboot or power loss ends the install: what was upgrading failed."""
        self._set([c for c in self.components if c.status == "Upgrading"], "Failed")
        self._end_install("FAILED", say("interrupted", why=why))

    def _cancelled(self) -> None:
        install = self.install
        assert install is not None
        self._cancel_timer()
        self._set(self._role("fprm"), "Ready", install.base)
        self._log(say("log_cancelled"))
        self._end_install("CANCELLED")

    def _end_install(self, result: str, detail: str = "") -> None:
        install = self.install
        assert install is not None
        install.state, install.detail, install.finished = result, detail, self.ctx.clock.now()
        if result != "COMPLETED":
            self.startup_version = self.version
        self.history.append({"from": install.base, "to": install.target, "result": result,
                             "started": install.started, "finished": install.finished, "detail": detail})
        self._emit("fxos.install", state=result, target=install.target, **({"detail": detail} if detail else {}))

    def _log(self, text: str) -> None:
        assert self.install is not None
        self.install.log.append([round(self.ctx.clock.now(), 3), text])
        self._emit("fxos.install.log", text=text)

    def _set(self, components: list[Component], status: str, version: str | None = None) -> None:
        if not components:
            return
        for comp in components:
            comp.status = status
            if version is not None:
                comp.package_vers = version
        self._emit("fxos.components", names=[c.name for c in components], status=status, version=version)

    @staticmethod
    def _names(components: list[Component]) -> str:
        return ", ".join(c.name for c in components) or say("the_firmware")

    # -- persistence ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name, "model": self.model, "version": self.version, "startup_version": self.startup_version,
            "serial": self.serial, "uuid": self.uuid, "state": self.state, "firmware_version": self.firmware_version,
            "components": [asdict(c) for c in self.components],
            "modules": {str(s): m.state for s, m in self.modules.items()},
            "packages": {k: p.to_dict() for k, p in self.packages.items()},
            "downloads": {k: asdict(t) for k, t in self.downloads.items()},
            "install": asdict(self.install) if self.install else None, "history": self.history,
            "logins": self.logins, "last_login": self.last_login,
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back a snapshot and carry on with whatever was in flight: a boot
        starts over from its shutdown, any other state is entered again. On a live
        chassis (put back to a snapshot) the timers of what it was doing go first."""
        self._cancel_timer()
        for timer in [*self._module_timers.values(), *self._download_timers.values()]:
            timer.cancel()
        self._module_timers.clear()
        self._download_timers.clear()
        self.version, self.startup_version = data["version"], data["startup_version"]
        self.serial, self.uuid, self.firmware_version = data["serial"], data["uuid"], data["firmware_version"]
        self.components = [Component(**c) for c in data["components"]]
        self.restore_downloads(data)
        self.install = Install(**data["install"]) if data["install"] else None
        self.history = data["history"]
        self.logins, self.last_login = data.get("logins", 0), data.get("last_login")
        for slot, state in data.get("modules", {}).items():
            if int(slot) in self.modules:
                self.modules[int(slot)].state = state
        for device in self.hosted_devices():
            device.fxos_version = self.version
        state, shutdown = data["state"], boot_start(data["state"])
        if shutdown is not None:
            MACHINE.set_state(shutdown, model=self)
            self.shutdown_done()
            return
        MACHINE.set_state(state, model=self)
        for callback in MACHINE.get_state(state).on_enter:
            getattr(self, cast(str, callback))()


MACHINE.bind(FxosChassis)

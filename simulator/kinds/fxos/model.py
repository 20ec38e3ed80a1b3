"""The simulated FXOS chassis (Firepower 4100/9300): identity, platform bundle
version, the components `show firmware monitor` reports (FPRM, Fabric
Interconnect A, one server per security module), its security modules and
the FTD logical devices (app instances) they host, downloaded bundles and
download tasks, and the platform bundle install with its reboots.

Pure model: no I/O. Every duration goes through the clock, every change is a
journal event. A download's bytes are moved by a surface-side helper
(simulator/fxos_transfer.py) that reports to the model; the model stretches
the transfer over simulated time from the bundle's declared size.

One `transitions` machine serves every chassis of the lab (`add_model`)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict
from transitions import Machine

from simulator.clock import Timer
from simulator.facts import read_yaml
from simulator.kinds.base import DeviceBase, DeviceContext, Refused
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.versions import Version
from simulator.kinds.fxos.bundles import BundleInfo, FxosVersion, normalize

STATES = ["off", "shutting_down", "booting", "starting", "online", "upgrading"]
# The FXOS CLI answers (SSH listens) in these states; "starting" is the window
# after a boot when the CLI is up but its data management engine (DME) is not.
SERVICES_UP = frozenset({"online", "upgrading", "starting"})
# Chassis Manager and the REST API serve in these; they answer 503 in "starting".
WEB_UP = frozenset({"online", "upgrading"})

_TRANSITIONS = [
    {"trigger": "ev_shutdown", "source": ["online", "upgrading", "starting"], "dest": "shutting_down"},
    {"trigger": "ev_boot", "source": "*", "dest": "booting"},
    {"trigger": "ev_start", "source": "booting", "dest": "starting"},
    {"trigger": "ev_up", "source": ["starting", "upgrading"], "dest": "online"},
    {"trigger": "ev_upgrade", "source": ["online", "starting"], "dest": "upgrading"},
    {"trigger": "ev_off", "source": "*", "dest": "off"},
]

MACHINE = Machine(model=None, states=STATES, transitions=_TRANSITIONS, initial=None,
                  auto_transitions=False, after_state_change="_state_changed")

FPRM = "FPRM"
FABRIC = "Fabric Interconnect A"
PROTOCOLS = ("scp", "sftp", "ftp", "tftp", "http", "https", "local")


# -- vendor facts ------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChassisModel(_Strict):
    description: str
    pid: str
    module_pid: str
    slots: int
    ftd_model: str | None
    speed: float


class DownloadError(_Strict):
    code: str
    text: str


class FxosData(_Strict):
    models: dict[str, ChassisModel]
    runs_ftd: dict[str, list[str]]
    firmware_from: str
    firmware_version: str
    bundle_size_kb: int
    image_store_kb: int
    download_rate_kbps: int
    download_tick: float
    unreachable_after: float
    timings: dict[str, float]
    texts: dict[str, str]
    download_errors: dict[str, DownloadError]

    def supported_trains(self, fxos: str) -> list[str]:
        """FTD trains an FXOS version runs (its own train's row, else the nearest older one)."""
        v = FxosVersion.parse(fxos)
        rows = sorted(((FxosVersion.parse(k), k) for k in self.runs_ftd), reverse=True)
        for row, key in rows:
            if (row.major, row.minor) <= (v.major, v.minor):
                return self.runs_ftd[key]
        return []


@cache
def fxos_data() -> FxosData:
    return FxosData.model_validate(read_yaml("kinds/fxos/facts.yaml"))


def ftd_train(version: str) -> str:
    """`7.4.1-172` -> `7.4` (`6.2.3` is its own row), as data/ftd.yaml keys trains."""
    return ftd_facts.ftd().train_of(Version.parse(version).numbers)


def app_version(version: str) -> str:
    """FTD `7.4.1-172` as FXOS shows an application version: `7.4.1.172`."""
    v = Version.parse(version)
    return f"{v.numbers}.{v.build}"


# -- model objects -----------------------------------------------------------------
@dataclass
class Component:
    """One line group of `show firmware monitor`."""

    name: str            # FPRM | Fabric Interconnect A | Server <slot>
    package_vers: str
    status: str = "Ready"   # Ready | Upgrading | Failed


@dataclass
class AppInstance:
    slot: int
    identifier: str
    device: FtdDevice
    app: str = "ftd"
    admin_state: str = "Enabled"


@dataclass
class Module:
    """A security module (4100: the one security engine in slot 1)."""

    slot: int
    state: str = "Online"          # Online | Offline | Upgrading | Starting
    apps: list[AppInstance] = field(default_factory=list)


@dataclass
class DownloadTask:
    filename: str
    protocol: str            # scp | sftp | ftp | tftp | http | https | local
    server: str
    port: int
    userid: str
    path: str                # remote path of the file
    url: str                 # as given, without a password
    started: float
    state: str = "Downloading"   # Downloading | Downloaded | Failed
    size_kb: int = 0             # downloaded so far
    total_kb: int = 0
    finished: float | None = None
    error_code: str = ""
    error_text: str = ""
    tries: int = 1
    corrupt: bool = False        # a `package.transfer` corrupt fault: the helper cuts the file

    @property
    def fsm_status(self) -> str:
        return {"Downloading": "Download Local", "Downloaded": "Nop", "Failed": "Download Fail"}[self.state]

    @property
    def percent(self) -> int:
        if self.state == "Downloaded":
            return 100
        return int(100 * self.size_kb / self.total_kb) if self.total_kb else 0


@dataclass
class Install:
    """A platform bundle install (auto-install) as the chassis reports it."""

    target: str
    base: str
    firmware: bool
    started: float
    phase: str = "fprm"          # fprm | reboot | fabric | servers | firmware | firmware-reboot | done
    state: str = "IN_PROGRESS"   # IN_PROGRESS | COMPLETED | FAILED | CANCELLED
    reboots: int = 0
    finished: float | None = None
    detail: str = ""
    log: list[list[Any]] = field(default_factory=list)     # [sim_time, text]


@dataclass
class Verification:
    """What `install platform` verifies before its questions."""

    target: str
    current: str
    bundle: BundleInfo | None
    firmware: bool
    errors: list[str] = field(default_factory=list)              # refusals (one line each)
    incompatible: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.incompatible


def parse_url(url: str) -> dict[str, Any]:
    """`scp://user@host:port/path/file`, `tftp://host:port/path/file`, a plain
    path: protocol, server, port, userid, password (if in the URL), path, filename.
    ValueError when it is not a URL the chassis takes."""
    text = url.strip()
    if "://" not in text:
        if not text.startswith("/"):
            raise ValueError(url)
        path = text
        return {"protocol": "local", "server": "", "port": 0, "userid": "", "password": None,
                "path": path, "filename": path.rsplit("/", 1)[-1]}
    parts = urlsplit(text)
    protocol = parts.scheme.lower()
    if protocol == "file":
        protocol, host = "local", ""
    else:
        host = parts.hostname or ""
    if protocol not in PROTOCOLS or (protocol != "local" and not host):
        raise ValueError(url)
    path = unquote(parts.path or "")
    # UCS-style scp://user@host:/abs/path (kick's form): the "port" is empty
    if protocol in ("scp", "sftp") and parts.netloc.endswith(":") and path.startswith("/"):
        port = 0
    else:
        try:
            port = parts.port or 0
        except ValueError:
            raise ValueError(url) from None
    filename = path.rsplit("/", 1)[-1]
    if not filename:
        raise ValueError(url)
    return {"protocol": protocol, "server": host, "port": port, "userid": unquote(parts.username or ""),
            "password": unquote(parts.password) if parts.password else None, "path": path,
            "filename": filename}


class FxosChassis(DeviceBase):
    kind = "fxos"

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
        self.firmware_version = data.firmware_version if self._firmware_in(self.version) else "1.0.12"
        self.modules: dict[int, Module] = {}
        for slot in range(1, self.info.slots + 1):
            hosted = (modules or {}).get(slot, [])
            self.modules[slot] = Module(slot, apps=[AppInstance(slot, ident, dev) for ident, dev in hosted])
        for extra in set(modules or {}) - set(self.modules):
            raise ValueError(f"{model} has {self.info.slots} security module slot(s); no slot {extra}")
        self.components: list[Component] = [Component(FPRM, self.version), Component(FABRIC, self.version)]
        self.components += [Component(f"Server {slot}", self.version) for slot in self.modules]
        self.packages: dict[str, BundleInfo] = {}          # downloaded platform bundles
        self.downloads: dict[str, DownloadTask] = {}
        self.install: Install | None = None
        self.history: list[dict[str, Any]] = []
        self.booted_at = ctx.clock.now()
        self.clock_offset = 0.0              # seconds the chassis clock is off (NTP lost)
        # Set by the surface-side transfer helper: called with (task, password) to move the bytes.
        self.transfer: Callable[[DownloadTask, str | None], None] | None = None
        self._timer: Timer | None = None
        self._download_timers: dict[str, Timer] = {}
        self._module_timers: dict[int, Timer] = {}
        for slot, app in self.apps():
            app.device.fxos_version = self.version
            app.device.host, app.device.host_slot = self, slot
        MACHINE.add_model(self, initial="online")

    # -- identity -------------------------------------------------------------------
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

    @property
    def services_up(self) -> bool:
        return self.state in SERVICES_UP

    @property
    def web_up(self) -> bool:
        return self.state in WEB_UP

    @property
    def ready(self) -> bool:
        """The data management engine answers (configuration and shows work)."""
        return self.state in WEB_UP

    def apps(self) -> list[tuple[int, AppInstance]]:
        return [(slot, app) for slot, module in self.modules.items() for app in module.apps]

    def hosted_devices(self) -> list[FtdDevice]:
        return [app.device for _slot, app in self.apps()]

    def say(self, key: str, **values: Any) -> str:
        return fxos_data().texts[key].format(**values)

    def _seconds(self, key: str) -> float:
        return fxos_data().timings[key] * self.info.speed

    def _require_ready(self) -> None:
        if not self.ready:
            raise Refused("not_ready", self.say("not_ready"))

    @staticmethod
    def _firmware_in(version: str) -> bool:
        return FxosVersion.parse(version).key()[:3] >= FxosVersion.parse(fxos_data().firmware_from).key()[:3]

    # -- operational states ------------------------------------------------------------
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

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    # -- downloads ---------------------------------------------------------------------
    def image_store_used_kb(self) -> int:
        used = fxos_data().bundle_size_kb     # the running bundle
        used += sum(p.size_kb for p in self.packages.values())
        used += sum(t.total_kb for t in self.downloads.values() if t.state == "Downloading")
        return used

    def image_store_free_kb(self) -> int:
        return max(0, fxos_data().image_store_kb - self.image_store_used_kb())

    def start_download(self, url: str, password: str | None = None) -> DownloadTask:
        """`download image URL` / POST sys/firmware/dnld: a task that moves the
        file (through the attached transfer helper) and then counts it in."""
        self._require_ready()
        try:
            where = parse_url(url)
        except ValueError:
            raise Refused("bad_url", self.say("bad_url", url=url)) from None
        filename = where["filename"]
        if filename in self.packages or filename == FxosVersion.parse(self.version).filename:
            raise Refused("exists", self.say("download_exists", filename=filename))
        old = self.downloads.get(filename)
        if old is not None and old.state == "Downloading":
            raise Refused("running", self.say("download_running", filename=filename))
        shown = url.replace(f":{where['password']}@", "@") if where["password"] else url
        task = DownloadTask(filename, where["protocol"], where["server"], where["port"], where["userid"],
                            where["path"], shown, self.ctx.clock.now(),
                            tries=(old.tries + 1) if old is not None else 1)
        self.downloads[filename] = task
        self._emit("fxos.download", state="Downloading", filename=filename, protocol=task.protocol,
                   server=task.server)
        fault = self.ctx.faults.take(self.name, "package.transfer")
        if fault is not None:
            self._emit("fault", point="package.transfer", action=fault.action, id=fault.id)
            if fault.action == "disk_full":
                self._fail_later(task, "disk_full", needed_kb=fxos_data().bundle_size_kb,
                                 free_kb=0)
                return task
            if fault.action == "fail":
                self._fail_later(task, "transfer", detail=fault.message or "Transfer failed")
                return task
            task.corrupt = fault.action == "corrupt"
        if self.transfer is None:
            self._fail_later(task, "transfer", detail="no file transfer service is attached to this chassis")
            return task
        self.transfer(task, password if password is not None else where["password"])
        return task

    def _fail_later(self, task: DownloadTask, cause: str, **values: Any) -> None:
        self._download_timers[task.filename] = self.ctx.clock.call_later(
            1, self.download_failed, task.filename, cause, values)

    def download_failed(self, filename: str, cause: str, values: dict[str, Any] | None = None) -> None:
        """The transfer failed (reported by the helper, or decided here)."""
        task = self.downloads.get(filename)
        if task is None or task.state != "Downloading":
            return
        self._stop_download_timer(filename)
        error = fxos_data().download_errors[cause]
        fields = {"server": task.server, "path": task.path, "filename": filename, "detail": "",
                  "needed_kb": task.total_kb, "free_kb": self.image_store_free_kb(), **(values or {})}
        task.state, task.finished = "Failed", self.ctx.clock.now()
        task.error_code, task.error_text = error.code, error.text.format(**fields)
        self._emit("fxos.download", state="Failed", filename=filename, code=task.error_code, error=task.error_text)

    def download_received(self, filename: str, info: BundleInfo) -> bool:
        """The helper wrote the file and inspected it. False: it must be removed
        (the task failed or is gone); True: the chassis keeps it and the task
        runs on in simulated time for the bundle's declared size."""
        task = self.downloads.get(filename)
        if task is None or task.state != "Downloading":
            return False
        if not info.intact or info.version is None:
            self.download_failed(filename, "invalid")
            return False
        task.total_kb = info.size_kb
        if fxos_data().image_store_kb < self.image_store_used_kb():
            task.total_kb = 0
            self.download_failed(filename, "disk_full", {"needed_kb": info.size_kb,
                                                         "free_kb": self.image_store_free_kb()})
            return False
        self._download_timers[filename] = self.ctx.clock.call_later(
            fxos_data().download_tick, self._download_tick, filename, info)
        return True

    def _download_tick(self, filename: str, info: BundleInfo) -> None:
        task = self.downloads[filename]
        data = fxos_data()
        task.size_kb = min(task.total_kb, task.size_kb + int(data.download_rate_kbps * data.download_tick))
        if task.size_kb < task.total_kb:
            self._download_timers[filename] = self.ctx.clock.call_later(data.download_tick, self._download_tick,
                                                                        filename, info)
            return
        self._download_timers.pop(filename, None)
        task.state, task.finished = "Downloaded", self.ctx.clock.now()
        self.packages[filename] = info
        self._emit("fxos.download", state="Downloaded", filename=filename, version=info.version)

    def _stop_download_timer(self, filename: str) -> None:
        timer = self._download_timers.pop(filename, None)
        if timer is not None:
            timer.cancel()

    def delete_download_task(self, filename: str) -> None:
        self._require_ready()
        task = self.downloads.get(filename)
        if task is None:
            raise Refused("not_found", self.say("mo_missing"))
        if task.state == "Downloading":
            self.download_failed(filename, "transfer", {"detail": "Download cancelled by the user"})
        del self.downloads[filename]
        self._emit("fxos.download", state="Deleted", filename=filename)

    def delete_package(self, filename: str) -> None:
        self._require_ready()
        info = self.packages.get(filename)
        if info is None:
            raise Refused("not_found", self.say("mo_missing"))
        if self.install and self.install.state == "IN_PROGRESS" and info.version == self.install.target:
            raise Refused("in_use", self.say("package_in_use", filename=filename))
        del self.packages[filename]
        self.downloads.pop(filename, None)
        self._emit("fxos.package", action="deleted", filename=filename)

    # -- platform install ------------------------------------------------------------------
    def bundle_for(self, version: str) -> BundleInfo | None:
        return next((p for p in self.packages.values() if p.version == version), None)

    def verify_platform(self, target: str) -> Verification:
        """What `install platform platform-vers` verifies. Raises Refused for
        what stops the command before verification; returns the findings."""
        self._require_ready()
        try:
            target = normalize(target)
        except ValueError:
            raise Refused("not_found", self.say("not_found", target=target)) from None
        if self.install is not None and self.install.state == "IN_PROGRESS":
            raise Refused("busy", self.say("busy", target=self.install.target))
        bundle = self.bundle_for(target)
        check = Verification(target, self.version, bundle, self._firmware_in(target))
        if all(c.package_vers == target and c.status == "Ready" for c in self.components):
            raise Refused("same", self.say("same", target=target))
        if FxosVersion.parse(target) < FxosVersion.parse(self.version):
            raise Refused("downgrade", self.say("downgrade", current=self.version, target=target))
        if bundle is None:
            raise Refused("not_found", self.say("not_found", target=target))
        if bundle.problem:
            check.errors.append(self.say("unsigned", filename=bundle.filename))
        elif self.family not in bundle.platforms:
            check.errors.append(self.say("platform", filename=bundle.filename, model=self.info.description))
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
        """Begin the install (after both confirmations): FPRM first, reboot, then
        the fabric interconnect and the security modules (2.14.1+: firmware and
        a second reboot), then the applications start again."""
        check = self.verify_platform(target)
        if not check.ok:
            reason = check.errors[0] if check.errors else self.say("apps_incompatible", target=check.target)
            raise Refused("incompatible" if check.incompatible else "invalid", reason)
        target = check.target
        self.install = Install(target, self.version, check.firmware, self.ctx.clock.now())
        self.startup_version = target
        self._log(f"Auto-install of platform version {target} started")
        self._emit("fxos.install", state="IN_PROGRESS", target=target, base=self.version, firmware=check.firmware)
        self.ev_upgrade()
        self._run_phase("fprm")
        return self.install

    def _log(self, text: str) -> None:
        assert self.install is not None
        self.install.log.append([round(self.ctx.clock.now(), 3), text])
        self._emit("fxos.install.log", text=text)

    def _set(self, names: list[str], status: str, version: str | None = None) -> None:
        for comp in self.components:
            if comp.name in names:
                comp.status = status
                if version is not None:
                    comp.package_vers = version
        self._emit("fxos.components", names=names, status=status, version=version)

    def _servers(self) -> list[str]:
        return [c.name for c in self.components if c.name.startswith("Server")]

    _PHASES = {"fprm": ([FPRM], "fprm_upgrade"), "fabric": ([FABRIC], "fabric_upgrade"),
               "servers": (None, "server_upgrade"), "firmware": ([], "firmware_upgrade")}

    def _run_phase(self, phase: str) -> None:
        install = self.install
        assert install is not None
        install.phase = phase
        names, timing = self._PHASES[phase]
        names = self._servers() if names is None else names
        seconds = self._seconds(timing)
        fault = self.ctx.faults.take(self.name, f"upgrade.stage:{phase}")
        if fault is not None:
            self._emit("fault", point=f"upgrade.stage:{phase}", action=fault.action, id=fault.id)
            if fault.action == "fail":
                self._set(names, "Failed")
                self._fail(fault.message or f"Upgrade of {', '.join(names) or 'the firmware'} failed")
                return
            if fault.action == "power_loss":
                self.power_off(cause="power_loss")
                return
            if fault.action == "slow":
                seconds *= fault.factor
        if names:
            self._set(names, "Upgrading")
        if phase == "servers":
            for module in self.modules.values():
                self._set_module(module.slot, "Upgrading")
        self._log(f"Upgrading {', '.join(names) or 'the firmware'}")
        if fault is not None and fault.action == "hang":
            self._cancel_timer()
            return
        self._after(seconds, self._phase_done, phase)

    def _phase_done(self, phase: str) -> None:
        install = self.install
        assert install is not None
        self._timer = None
        names = self._PHASES[phase][0]
        names = self._servers() if names is None else names
        if names:
            # 2.14.1+: the security modules stay Upgrading through the firmware and its reboot
            held = phase == "servers" and install.firmware
            self._set(names, "Upgrading" if held else "Ready", install.target)
        self._log(f"Upgraded {', '.join(names) or 'the firmware'} to {install.target}")
        if phase == "fprm":
            install.phase = "reboot"
            self._reboot("upgrade", then=self._after_upgrade_boot)
        elif phase == "fabric":
            self._run_phase("servers")
        elif phase == "servers":
            for module in self.modules.values():
                self._set_module(module.slot, "Offline")
            if install.firmware:
                self._run_phase("firmware")
            else:
                self._finish()
        elif phase == "firmware":
            self.firmware_version = fxos_data().firmware_version
            install.phase = "firmware-reboot"
            self._reboot("firmware", then=self._finish)

    def _after_upgrade_boot(self) -> None:
        self.ev_upgrade()
        self._run_phase("fabric")

    def _finish(self) -> None:
        install = self.install
        assert install is not None
        if any(c.status != "Ready" for c in self.components):
            self._set([c.name for c in self.components if c.status != "Ready"], "Ready", install.target)
        install.state, install.phase, install.finished = "COMPLETED", "done", self.ctx.clock.now()
        self._log(f"Platform bundle {install.target} installed")
        for device in self.hosted_devices():
            device.fxos_version = self.version
        self._record()
        self._emit("fxos.install", state="COMPLETED", target=install.target)
        self.ev_up()
        self._boot_modules()

    def _fail(self, detail: str) -> None:
        install = self.install
        assert install is not None
        self._cancel_timer()
        install.state, install.detail, install.finished = "FAILED", detail, self.ctx.clock.now()
        install.phase = "done"
        self.startup_version = self.version
        self._log(f"Auto-install failed: {detail}")
        self._record()
        self._emit("fxos.install", state="FAILED", target=install.target, detail=detail)
        if self.state == "upgrading":
            self.ev_up()
        if any(m.state != "Online" for m in self.modules.values()) and self.state == "online":
            self._boot_modules()

    def _record(self) -> None:
        install = self.install
        assert install is not None
        self.history.append({"from": install.base, "to": install.target, "result": install.state,
                             "started": install.started, "finished": install.finished, "detail": install.detail})

    def cancel_install(self) -> Install:
        """PATCH sys/firmware/cancel-platform-fw: possible until the chassis reboots."""
        install = self.install
        if install is None or install.state != "IN_PROGRESS":
            raise Refused("no_install", self.say("cancel_none"))
        if install.phase != "fprm":
            raise Refused("too_late", self.say("cancel_late", target=install.target))
        self._cancel_timer()
        self._set([FPRM], "Ready", install.base)
        install.state, install.phase, install.finished = "CANCELLED", "done", self.ctx.clock.now()
        self.startup_version = self.version
        self._log("Auto-install cancelled")
        self._record()
        self._emit("fxos.install", state="CANCELLED", target=install.target)
        self.ev_up()
        return install

    # -- reboot and power --------------------------------------------------------------------
    def _interrupt(self, why: str, install_too: bool = True) -> None:
        """A reboot or power loss ends running downloads and (unless the reboot
        is the install's own) any component upgrade."""
        for filename, task in list(self.downloads.items()):
            if task.state == "Downloading":
                self.download_failed(filename, "interrupted")
        install = self.install
        if install_too and install is not None and install.state == "IN_PROGRESS":
            upgrading = [c.name for c in self.components if c.status == "Upgrading"]
            if upgrading:
                self._set(upgrading, "Failed")
            install.state, install.finished = "FAILED", self.ctx.clock.now()
            install.detail, install.phase = f"The upgrade was interrupted ({why})", "done"
            self.startup_version = self.version
            self._record()
            self._emit("fxos.install", state="FAILED", target=install.target, detail=install.detail)

    def _modules_down(self, cause: str) -> None:
        for slot, timer in list(self._module_timers.items()):
            timer.cancel()
        self._module_timers.clear()
        for module in self.modules.values():
            self._set_module(module.slot, "Offline")
        for device in self.hosted_devices():
            device.power_off(cause=cause)

    def reboot(self, reason: str = "operator") -> None:
        """An operator reboot (local-mgmt `reboot`, or `scope chassis 1` `reboot`)."""
        if self.state not in SERVICES_UP:
            raise Refused("not_ready", self.say("not_ready"))
        self._reboot(reason, then=None)

    def _reboot(self, reason: str, then: Callable[[], None] | None) -> None:
        self._interrupt(reason, install_too=then is None)
        self._cancel_timer()
        if self.install is not None and self.install.state == "IN_PROGRESS":
            self.install.reboots += 1
            self._log("The system is rebooting")
        self._emit("reboot", cause=reason)
        self.ev_shutdown()
        self._modules_down("chassis_reboot")
        fault = self.ctx.faults.take(self.name, "reboot")
        if fault is not None and fault.action == "hang":
            self._emit("fault", point="reboot", action="hang", id=fault.id)
            return
        self._after(self._seconds("shutdown"), self._boot, then)

    def _boot(self, then: Callable[[], None] | None = None) -> None:
        self.ev_boot()
        fprm = self.component(FPRM)
        if fprm.status == "Ready" and FxosVersion.parse(fprm.package_vers) > FxosVersion.parse(self.version):
            self.version = fprm.package_vers          # the supervisor boots the new FXOS
        if not (self.install and self.install.state == "IN_PROGRESS"):
            self.startup_version = self.version
        factor = 1.0
        fault = self.ctx.faults.take(self.name, "boot")
        if fault is not None:
            self._emit("fault", point="boot", action=fault.action, id=fault.id)
            if fault.action == "hang":
                return
            if fault.action == "slow":
                factor = fault.factor
        self._after(self._seconds("boot") * factor, self._services_starting, then)

    def _services_starting(self, then: Callable[[], None] | None) -> None:
        self.ev_start()
        self._after(self._seconds("services"), self._services_up, then)

    def _services_up(self, then: Callable[[], None] | None) -> None:
        self._timer = None
        self.booted_at = self.ctx.clock.now()
        self._emit("boot", phase="services")
        if then is not None and self.install is not None and self.install.state == "IN_PROGRESS":
            then()
            return
        self.ev_up()
        self._boot_modules()

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
        if self.state not in SERVICES_UP:
            return
        self._set_module(slot, "Online")
        for app in self.modules[slot].apps:
            app.device.fxos_version = self.version
            app.device.power_on()

    def power_off(self, cause: str = "operator") -> None:
        if self.state == "off":
            return
        self._interrupt("power loss" if cause == "power_loss" else cause)
        self._cancel_timer()
        self._emit("power", action="off", cause=cause)
        self.ev_off()
        self._modules_down("chassis_power")

    def power_on(self) -> None:
        if self.state != "off":
            return
        self._emit("power", action="on")
        self._boot()

    # -- persistence ------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name, "model": self.model, "version": self.version, "startup_version": self.startup_version,
            "serial": self.serial, "uuid": self.uuid, "state": self.state, "firmware_version": self.firmware_version,
            "components": [asdict(c) for c in self.components],
            "modules": {str(s): m.state for s, m in self.modules.items()},
            "packages": {k: p.to_dict() for k, p in self.packages.items()},
            "downloads": {k: asdict(t) for k, t in self.downloads.items()},
            "install": asdict(self.install) if self.install else None, "history": self.history,
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back a snapshot and carry on with whatever was in flight."""
        self.version, self.startup_version = data["version"], data["startup_version"]
        self.serial, self.uuid, self.firmware_version = data["serial"], data["uuid"], data["firmware_version"]
        self.components = [Component(**c) for c in data["components"]]
        self.packages = {k: BundleInfo.from_dict(p) for k, p in data["packages"].items()}
        self.downloads = {k: DownloadTask(**t) for k, t in data["downloads"].items()}
        self.install = Install(**data["install"]) if data["install"] else None
        self.history = data["history"]
        for slot, state in data.get("modules", {}).items():
            if int(slot) in self.modules:
                self.modules[int(slot)].state = state
        for device in self.hosted_devices():
            device.fxos_version = self.version
        state = data["state"]
        MACHINE.set_state(state, model=self)
        # A download in flight when the lab stopped did not finish.
        for filename, task in self.downloads.items():
            if task.state == "Downloading":
                task.state, task.finished = "Failed", self.ctx.clock.now()
                err = fxos_data().download_errors["interrupted"]
                task.error_code, task.error_text = err.code, err.text.format(filename=filename)
        install = self.install
        in_flight = install is not None and install.state == "IN_PROGRESS"
        if state in ("shutting_down", "booting", "starting"):
            then = None
            if in_flight:
                assert install is not None
                then = self._finish if install.phase == "firmware-reboot" else self._after_upgrade_boot
            self._after(0, self._boot, then)
        elif state == "upgrading" and in_flight:
            assert install is not None
            phase = install.phase if install.phase in self._PHASES else "fabric"
            self._run_phase(phase)
        elif state == "online":
            self._boot_modules()

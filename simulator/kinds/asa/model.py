"""The simulated Cisco ASA: identity, software version, disk0: (a real folder
of the lab's state directory), running and startup configuration, and reloads
that boot whatever the `boot system` lines of the startup configuration name.

Pure model: no I/O besides its own disk0: folder (listing, removing, writing
the image the unit was built with); transfers into disk0: are the surfaces'
business, the model only registers the file. Every duration goes through the
clock, every change is a journal event, faults come from the lab's plan
(`reboot`, `boot`, `package.transfer`, `power`).

Boot rule (decided here, see docs/fidelity/asa-cli.md): at boot the unit tries
the `boot system` images of its startup configuration in order and runs the
first that is bootable (file present and not empty, an ASA image name of a
family this model runs, a release the hardware supports). When none of them
is, or there is no `boot system` line, it boots the first bootable image found
in disk0: (oldest first), as a real ASA does; with no bootable image at all it
stops in ROMMON (`rommon` state: no SSH, no traffic) until it is reimaged.

One `transitions` machine serves every ASA in the lab (`add_model`)."""

from __future__ import annotations

import copy
import json
import os
from collections import deque
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from transitions import Machine

from simulator.clock import Timer
from simulator.facts import read_yaml
from simulator.kinds.asa.versions import (
    AsaVersion,
    ImageName,
    Step,
    image_name,
    upgrade_step,
)
from simulator.kinds.base import DeviceBase, DeviceContext, Refused

STATES = ["off", "booting", "online", "reloading", "rommon"]

_TRANSITIONS = [
    {"trigger": "ev_boot", "source": "*", "dest": "booting"},
    {"trigger": "ev_ready", "source": "booting", "dest": "online"},
    {"trigger": "ev_reload", "source": "online", "dest": "reloading"},
    {"trigger": "ev_rommon", "source": "*", "dest": "rommon"},
    {"trigger": "ev_off", "source": "*", "dest": "off"},
]

MACHINE = Machine(model=None, states=STATES, transitions=_TRANSITIONS, initial=None,
                  auto_transitions=False, after_state_change="_state_changed")

IMAGE_MARKER = b"ASA-SIM-IMAGE"


# -- vendor data ------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AsaModel(_Strict):
    hardware: str
    model_id: str | None
    slot_model: str
    hw_rev: str
    storage: str | None
    bios: str | None
    families: list[str]
    first_train: str
    last_train: str
    disk_mb: int
    monitored_max: int
    serial_prefix: str
    ssp: str | None
    license: str
    failover_interface: str
    interfaces: list[str]
    data_interfaces: dict[str, str]
    boot: float


class AsaData(_Strict):
    models: dict[str, AsaModel]
    trains: dict[int, list[str]]
    compiled: dict[str, str]
    timings: dict[str, float]
    failover: dict[str, Any]
    texts: dict[str, Any]

    def train_index(self, train: str) -> tuple[int, int] | None:
        major = int(train.split(".")[0])
        trains = self.trains.get(major, [])
        return (major, trains.index(train)) if train in trains else None


@cache
def asa_data() -> AsaData:
    return AsaData.model_validate(read_yaml("kinds/asa/facts.yaml"))


def say(*path: str, **values: Any) -> str:
    """A text of asa.yaml `texts` (e.g. say("refuse", "not_active")), formatted."""
    node: Any = asa_data().texts
    for key in path:
        node = node[key]
    return str(node).format(**values)


def zero_downtime(current: str | AsaVersion, target: str | AsaVersion) -> Step:
    """Table 81-1 of seed 002 between two versions."""
    return upgrade_step(AsaVersion.parse(str(current)), AsaVersion.parse(str(target)), asa_data().trains)


def zero_downtime_warning(current: str, target: str) -> str | None:
    """The warning an operator sees for a version change the pair cannot run across."""
    step = zero_downtime(current, target)
    if step.supported:
        return None
    cur, tgt = AsaVersion.parse(current), AsaVersion.parse(target)
    trains = asa_data().trains
    low = min(cur, tgt)
    following = trains.get(low.major, [])
    nxt = following[following.index(low.train) + 1] if low.train in following[:-1] else "?"
    last = trains.get(low.major, ["?"])[-1]
    return say("zero_downtime", step.reason or "unknown_train", current=current, target=target, next=nxt,
               major=low.major, last=last)


def model_runs(model: str, version: str) -> bool:
    """Does this hardware run this release (for profile validation)?"""
    data = asa_data()
    info = data.models.get(model)
    if info is None:
        return False
    first, last = data.train_index(info.first_train), data.train_index(info.last_train)
    here = data.train_index(AsaVersion.parse(version).train)
    return None not in (first, last, here) and first <= here <= last  # type: ignore[operator]


def default_config(hostname: str, image: str | None) -> dict[str, Any]:
    return {"hostname": hostname, "domain": None, "boot_system": [f"disk0:/{image}"] if image else [],
            "prompt": [], "failover": None, "lines": []}


def clone(config: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(config)


def disk_name(path: str) -> str | None:
    """`disk0:/x.bin`, `disk0:x.bin`, `flash:/x.bin` -> `x.bin` (None for other file systems)."""
    for prefix in ("disk0:/", "disk0:", "flash:/", "flash:"):
        if path.lower().startswith(prefix):
            name = path[len(prefix):].lstrip("/")
            return name or None
    return None


# -- the device -------------------------------------------------------------------------------
class AsaDevice(DeviceBase):
    kind = "asa"

    def __init__(self, ctx: DeviceContext, name: str, model: str, version: str, *, disk_dir: Path,
                 hostname: str | None = None, serial: str | None = None, username: str = "admin",
                 password: str = "Admin123", enable_password: str | None = None) -> None:
        data = asa_data()
        if model not in data.models:
            raise ValueError(f"unknown ASA model {model!r}; expected one of {', '.join(data.models)}")
        self.ctx = ctx
        self.name = name
        self.model = model
        self.clock_offset = 0.0
        ver = AsaVersion.parse(version)
        if not self._hardware_runs(ver):
            info = data.models[model]
            raise ValueError(f"{model} runs ASA {info.first_train} to {info.last_train}, not {ver}")
        self.version = str(ver)
        self.serial = serial or _serial_for(ctx, data.models[model].serial_prefix)
        self.username, self.password = username, password
        self.enable_password = enable_password if enable_password is not None else password
        self.disk_dir = Path(disk_dir)
        self.disk_dir.mkdir(parents=True, exist_ok=True)
        for folder in ("log", "crypto_archive", "coredumpinfo"):
            if not (self.disk_dir / folder).exists():
                (self.disk_dir / folder).mkdir()
                self._touch(self.disk_dir / folder)
        self.image = self._ensure_image(ver)                 # the image file the unit runs
        self.running: dict[str, Any] = default_config(hostname or "ciscoasa", self.image)
        self.startup: dict[str, Any] = clone(self.running)
        self.boot_variable: list[str] = list(self.startup["boot_system"])   # as read at the last boot
        self.booted_at = ctx.clock.now()
        self.modified_by: tuple[str, float] = ("enable_15", ctx.clock.now())
        self.syslog: deque[tuple[float, str]] = deque(maxlen=500)
        self.last_login: tuple[float, str] | None = None
        self.logins: list[float] = []
        self.failed_logins = 0
        self.history: list[dict[str, Any]] = []          # reloads: {"from", "to", "image", "at"}
        self.job = None            # no upgrade jobs on an ASA (kept for the lab's generic views)
        self.package = None
        self.ha: Any = None        # the AsaFailoverPair this unit belongs to, if any
        self._timer: Timer | None = None
        MACHINE.add_model(self, initial="online")

    # -- identity ---------------------------------------------------------------------------
    @property
    def info(self) -> AsaModel:
        return asa_data().models[self.model]

    @property
    def ver(self) -> AsaVersion:
        return AsaVersion.parse(self.version)

    @property
    def hostname(self) -> str:
        return self.running["hostname"]

    @property
    def services_up(self) -> bool:
        """SSH answers (the unit runs its software)."""
        return self.state == "online"

    @property
    def apps_up(self) -> bool:
        """The data plane runs (whether it carries traffic depends on failover)."""
        return self.state == "online"

    @property
    def config_modified(self) -> bool:
        return self.running != self.startup

    @property
    def asdm_version(self) -> str:
        v = self.ver
        return f"7.{v.minor}(1)" if v.major == 9 else "6.4(9)"

    def log(self, text: str) -> None:
        """A syslog message (kept in the logging buffer; `show logging`)."""
        self.syslog.append((self.local_time(), text))
        self._emit("syslog", text=text)

    def console(self, text: str) -> None:
        """A message the unit prints on its terminal sessions (replication, warnings)."""
        self._emit("console", text=text)

    def _require_online(self) -> None:
        if self.state != "online":
            raise Refused("not_online", say("refuse", "not_online", state=self.state))

    # -- logins (the banner tells about them) -------------------------------------------------
    def record_login(self, user: str, peer: str, ok: bool) -> tuple[int, int, tuple[float, str] | None]:
        """Count a login; returns (logins over the last day, failed logins since the
        last good one, the previous login) for the banner."""
        now = self.ctx.clock.now()
        if not ok:
            self.failed_logins += 1
            return 0, self.failed_logins, self.last_login
        self.logins = [t for t in self.logins if now - t < 86400] + [now]
        failed, self.failed_logins = self.failed_logins, 0
        previous, self.last_login = self.last_login, (now, peer)
        return len(self.logins), failed, previous

    # -- disk0: -------------------------------------------------------------------------------
    def path_of(self, name: str) -> Path:
        """The real file behind disk0:/<name> (no way out of the folder)."""
        name = name.strip().lstrip("/")
        target = (self.disk_dir / name).resolve()
        if not name or self.disk_dir.resolve() not in (target, *target.parents) or target == self.disk_dir.resolve():
            raise Refused("bad_path", say("refuse", "no_file", name=name))
        return target

    def files(self) -> list[tuple[str, int, float, bool]]:
        """(name, size, mtime, is_dir) of disk0:, oldest first."""
        entries = []
        for child in self.disk_dir.iterdir():
            st = child.stat()
            entries.append((child.name, st.st_size if child.is_file() else 4096, st.st_mtime, child.is_dir()))
        return sorted(entries, key=lambda e: (e[2], e[0]))

    @property
    def disk_total_bytes(self) -> int:
        return self.info.disk_mb * 1024 * 1024

    @property
    def disk_free_bytes(self) -> int:
        used = sum(size for _, size, _, is_dir in self.files() if not is_dir)
        return max(0, self.disk_total_bytes - used)

    def check_space(self, name: str, size: int) -> None:
        if size > self.disk_free_bytes:
            raise Refused("disk_full", say("refuse", "disk_full", name=name))

    def transfer_fault(self, name: str) -> str | None:
        """The `package.transfer` fault for a file arriving now: disk_full and
        fail raise Refused; `corrupt` is returned for the caller to apply."""
        fault = self.ctx.faults.take(self.name, "package.transfer")
        if fault is None:
            return None
        self._emit("fault", point="package.transfer", action=fault.action, id=fault.id)
        if fault.action == "disk_full":
            raise Refused("disk_full", say("refuse", "disk_full", name=name))
        if fault.action == "fail":
            raise Refused("transfer_failed", fault.message or f"%Error writing disk0:/{name} (I/O error)")
        return fault.action

    def _touch(self, path: Path) -> None:
        """Date a file of disk0: with the device's (simulated) clock, as `dir` shows it."""
        t = self.local_time()
        os.utime(path, (t, t))

    def add_file(self, name: str, source: str = "") -> None:
        """A file landed in disk0: (written there by a surface)."""
        path = self.path_of(name)
        if path.exists():
            self._touch(path)
        self._emit("file", action="added", name=name, size=path.stat().st_size if path.exists() else 0,
                   source=source)

    def delete_file(self, name: str) -> None:
        path = self.path_of(name)
        if not path.is_file():
            raise Refused("no_file", say("refuse", "no_file", name=name))
        path.unlink()
        self._emit("file", action="deleted", name=name)

    def image_of(self, name: str) -> ImageName | None:
        """The image a disk0: file is, if this unit can boot it."""
        image = ImageName.parse(name)
        if image is None or image.family not in self.info.families or not self._hardware_runs(image.version):
            return None
        try:
            path = self.path_of(name)
        except Refused:
            return None
        if not path.is_file() or path.stat().st_size == 0:
            return None
        with path.open("rb") as f:
            head = f.read(64)
        if head.startswith(IMAGE_MARKER) and head.split(b"\n")[0] != _marker(image.version):
            return None          # a simulator image of another version: the signature check fails
        return image

    def _hardware_runs(self, version: AsaVersion) -> bool:
        return model_runs(self.model, str(version))

    def _ensure_image(self, version: AsaVersion) -> str:
        """The image file of `version` in disk0:, made if missing (a small real file)."""
        for name, _size, _mtime, is_dir in self.files():
            image = ImageName.parse(name)
            if not is_dir and image and image.version == version and image.family in self.info.families:
                return name
        name = image_name(self.info.families[0], version)
        write_image(self.disk_dir / name, version)
        self._touch(self.disk_dir / name)
        return name

    def boot_choice(self, boot_list: list[str] | None = None) -> tuple[str, bool] | None:
        """The image the unit boots with `boot_list` (default: the startup
        configuration's): (file name, found through a `boot system` line). None: ROMMON."""
        boot_list = self.startup["boot_system"] if boot_list is None else boot_list
        for entry in boot_list:
            name = disk_name(entry)
            if name and self.image_of(name):
                return name, True
        for name, _size, _mtime, is_dir in self.files():
            if not is_dir and self.image_of(name):
                return name, False
        return None

    def next_version(self) -> str | None:
        """The version the unit will run after a reload (None: it would stop in ROMMON)."""
        choice = self.boot_choice()
        if choice is None:
            return None
        image = self.image_of(choice[0])
        return str(image.version) if image else None

    # -- configuration ----------------------------------------------------------------------------
    def _changed(self, key: str, value: Any, user: str = "enable_15") -> None:
        self.modified_by = (user, self.local_time())
        self._emit("config", key=key, value=value)
        if self.ha is not None:
            self.ha.config_changed(self)

    def set_hostname(self, hostname: str) -> None:
        self._require_online()
        self.running["hostname"] = hostname
        self._changed("hostname", hostname)

    def set_domain(self, domain: str | None) -> None:
        self._require_online()
        self.running["domain"] = domain
        self._changed("domain", domain)

    def add_boot_system(self, path: str) -> None:
        self._require_online()
        name = disk_name(path)
        entry = f"disk0:/{name}" if name else path
        if entry not in self.running["boot_system"]:
            self.running["boot_system"].append(entry)
        self._changed("boot_system", list(self.running["boot_system"]))

    def remove_boot_system(self, path: str) -> bool:
        self._require_online()
        name = disk_name(path)
        entry = f"disk0:/{name}" if name else path
        if entry not in self.running["boot_system"]:
            return False
        self.running["boot_system"].remove(entry)
        self._changed("boot_system", list(self.running["boot_system"]))
        return True

    def clear_boot_system(self) -> None:
        self._require_online()
        self.running["boot_system"] = []
        self._changed("boot_system", [])

    def set_prompt(self, parts: list[str]) -> None:
        self._require_online()
        self.running["prompt"] = list(parts)
        self._changed("prompt", list(parts))

    def add_line(self, line: str) -> None:
        """Any other configuration line (kept and shown, without meaning here)."""
        self._require_online()
        if line not in self.running["lines"]:
            self.running["lines"].append(line)
        self._changed("line", line)

    def set_failover_group(self, group: int, *, unit: str | None = None, preempt: int | None | bool = False) -> None:
        """`failover group N` sub-commands: `primary`/`secondary`, `preempt [delay]`, `no preempt`.
        preempt: False leaves it, None removes it, an int (0 = at once) sets it."""
        self._require_online()
        failover = self.running.get("failover")
        if not failover:
            raise Refused("no_failover", say("refuse", "no_failover"))
        if failover.get("mode") != "active-active":
            raise Refused("group_mode", say("refuse", "group_mode"))
        groups = failover.setdefault("groups", {})
        cfg = groups.setdefault(str(group), {"unit": "primary" if group == 1 else "secondary", "preempt": None})
        if unit is not None:
            cfg["unit"] = unit
        if preempt is not False:
            cfg["preempt"] = preempt
        self._changed("failover_group", {str(group): dict(cfg)})

    def write_memory(self, user: str = "enable_15") -> None:
        """Save the running configuration to the startup configuration."""
        self._require_online()
        self.startup = clone(self.running)
        self._emit("config.saved")
        if self.ha is not None:
            self.ha.memory_written(self)

    def write_erase(self) -> None:
        self._require_online()
        self.startup = default_config("ciscoasa", None)
        self._emit("config.erased")

    # -- reload and power -------------------------------------------------------------------------
    def reload(self, cause: str = "operator") -> None:
        """`reload` (or the mate's `failover reload-standby`): a graceful shutdown,
        then a boot from the startup configuration's `boot system` images."""
        self._require_online()
        fault = self.ctx.faults.take(self.name, "reboot")
        self._emit("reload", cause=cause, image=self.image, next=self.next_version())
        self.ev_reload()
        if fault is not None:
            self._emit("fault", point="reboot", action=fault.action, id=fault.id)
            if fault.action == "hang":
                return
            if fault.action in ("power_loss", "fail"):
                self._after(asa_data().timings["shutdown"], self._to_rommon, "boot failure after reload")
                return
        self._after(asa_data().timings["shutdown"], self._boot)

    def _boot(self) -> None:
        self.ev_boot()
        factor = 1.0
        fault = self.ctx.faults.take(self.name, "boot")
        if fault is not None:
            self._emit("fault", point="boot", action=fault.action, id=fault.id)
            if fault.action == "hang":
                return
            if fault.action == "fail":
                self._after(asa_data().timings["rommon"], self._to_rommon, "boot failure")
                return
            if fault.action == "slow":
                factor = fault.factor
        choice = self.boot_choice()
        if choice is None:
            self._after(asa_data().timings["rommon"], self._to_rommon, "no bootable image")
            return
        name, listed = choice
        if not listed:
            self._emit("boot.fallback", image=name, boot_system=list(self.startup["boot_system"]))
        self._after(self.info.boot * factor, self._booted, name)

    def _booted(self, name: str) -> None:
        self._timer = None
        image = self.image_of(name)
        if image is None:                       # the file went away while booting
            self._to_rommon("image vanished")
            return
        previous = self.version
        self.version, self.image = str(image.version), name
        self.running = clone(self.startup)
        self.boot_variable = list(self.startup["boot_system"])
        self.booted_at = self.ctx.clock.now()
        record = {"from": previous, "to": self.version, "image": name, "at": round(self.booted_at, 3)}
        self.history.append(record)
        self._emit("boot", phase="done", version=self.version, image=name, previous=previous)
        self.ev_ready()

    def _to_rommon(self, reason: str) -> None:
        self._timer = None
        self._emit("rommon", reason=reason)
        self.ev_rommon()

    def power_off(self, cause: str = "operator") -> None:
        if self.state == "off":
            return
        self._cancel_timer()
        self._emit("power", action="off", cause=cause)
        self.ev_off()

    def power_on(self) -> None:
        if self.state != "off":
            return
        self._emit("power", action="on")
        self._boot()

    def reimage(self, version: str | None = None) -> None:
        """Install an image from scratch (the way out of ROMMON): factory
        configuration booting that image."""
        target = AsaVersion.parse(version) if version else self.ver
        if not self._hardware_runs(target):
            raise ValueError(f"{self.model} cannot run ASA {target}")
        self._cancel_timer()
        name = self._ensure_image(target)
        failover = self.running.get("failover")
        self.startup = default_config("ciscoasa", name)
        self.startup["failover"] = copy.deepcopy(failover)
        self.running = clone(self.startup)
        self._emit("reimage", version=str(target))
        self._boot()

    # -- persistence --------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "model": self.model, "version": self.version,
                "serial": self.serial, "state": self.state, "image": self.image, "running": self.running,
                "startup": self.startup, "boot_variable": self.boot_variable, "booted_at": self.booted_at,
                "modified_by": list(self.modified_by), "clock_offset": self.clock_offset,
                "syslog": list(self.syslog), "history": self.history,
                "last_login": list(self.last_login) if self.last_login else None, "logins": self.logins}

    def restore(self, data: dict[str, Any]) -> None:
        """Take back a snapshot; a reload or boot in flight starts its boot again."""
        self.version, self.serial, self.image = data["version"], data["serial"], data["image"]
        self.running, self.startup = data["running"], data["startup"]
        self.boot_variable = data.get("boot_variable", list(self.startup["boot_system"]))
        self.booted_at = data.get("booted_at", self.booted_at)
        self.modified_by = tuple(data.get("modified_by", self.modified_by))  # type: ignore[assignment]
        self.clock_offset = data.get("clock_offset", 0.0)
        self.syslog = deque((tuple(e) for e in data.get("syslog", [])), maxlen=500)  # type: ignore[misc]
        self.history = data.get("history", [])
        self.last_login = tuple(data["last_login"]) if data.get("last_login") else None  # type: ignore[assignment]
        self.logins = data.get("logins", [])
        state = data["state"]
        MACHINE.set_state(state if state in ("online", "off", "rommon") else "booting", model=self)
        if state in ("booting", "reloading"):
            self._after(0, self._boot)


def _marker(version: AsaVersion) -> bytes:
    return IMAGE_MARKER + b" " + str(version).encode()


def write_image(path: Path, version: AsaVersion | str, size: int = 4096) -> Path:
    """A small stand-in image file for `version` (what a lab or test copies to disk0:)."""
    version = AsaVersion.parse(str(version))
    header = _marker(version) + b"\n" + json.dumps({"version": str(version)}).encode() + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + b"\0" * max(0, size - len(header)))
    return path


def _serial_for(ctx: DeviceContext, prefix: str) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return prefix + "".join(ctx.rng.choice(alphabet) for _ in range(11 - len(prefix)))

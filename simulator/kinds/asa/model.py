"""The simulated Cisco ASA: identity, software version, the catalogue of its
disk0:, running and startup configuration, and reloads that boot whatever the
`boot system` lines of the startup configuration name.

Pure model: its life is the `DEVICE` table (machine.py), one machine for
every ASA in the lab; it knows disk0: as a catalogue (disk.py) and leaves the
bytes to the kind's worker (worker.py), which reports every file it moves.
Every duration goes through the clock, every change is a journal event,
faults come from the lab's plan (`reboot`, `boot`, `package.transfer`, `power`).

Boot rule (decided here, see docs/fidelity/asa-cli.md): at boot the unit tries
the `boot system` images of its startup configuration in order and runs the
first that is bootable (file present and not empty, an ASA image name of a
family this model runs, a release the hardware supports). When none of them
is, or there is no `boot system` line, it boots the first bootable image found
in disk0: (oldest first), as a real ASA does; with no bootable image at all it
stops in ROMMON (`rommon` state: no SSH, no traffic) until `boot` at the
ROMMON prompt finds one or the lab reimages it."""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

from simulator.clock import Timer
from simulator.kinds.asa.disk import (
    FOLDER_SIZE,
    FOLDERS,
    CopyJob,
    Disk,
    DiskFile,
    disk_name,
    made_image,
    signed_for,
)
from simulator.kinds.asa.facts import AsaModel, asa_data, say
from simulator.kinds.asa.machine import DEVICE
from simulator.kinds.asa.versions import (
    AsaVersion,
    ImageName,
    hardware_range,
    image_name,
    model_runs,
)
from simulator.kinds.base import DeviceBase, DeviceContext, Refused
from simulator.machines import Trigger

MACHINE = DEVICE.machine()
MIB = 1024 * 1024


def default_config(hostname: str, image: str | None) -> dict[str, Any]:
    return {"hostname": hostname, "domain": None, "boot_system": [f"disk0:/{image}"] if image else [],
            "prompt": [], "failover": None, "lines": []}


def clone(config: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(config)


class AsaDevice(DeviceBase):
    kind = "asa"
    import_dir: Path | None = None    # a lab host folder `copy` may read from (the profile's `import_dir`)
    power_up: Trigger
    cut_power: Trigger
    restart: Trigger
    shutdown_done: Trigger
    image_up: Trigger
    no_image: Trigger
    rommon_boot: Trigger
    reinstall: Trigger
    may_power_up: Trigger
    may_cut_power: Trigger
    may_restart: Trigger
    may_rommon_boot: Trigger

    def __init__(self, ctx: DeviceContext, name: str, model: str, version: str, *, hostname: str | None = None,
                 serial: str | None = None, username: str = "admin", password: str = "Admin123",
                 enable_password: str | None = None) -> None:
        data = asa_data()
        if not model_runs(model, version):
            raise ValueError(hardware_range(model, version))
        self.ctx = ctx
        self.name = name
        self.model = model
        self.clock_offset = 0.0
        ver = AsaVersion.parse(version)
        self.version = str(ver)
        self.serial = serial or _serial_for(ctx, data.models[model].serial_prefix)
        self.username, self.password = username, password
        self.enable_password = enable_password if enable_password is not None else password
        self.disk = Disk(self.info.disk_mb * MIB)
        for folder in FOLDERS:
            self.disk.entries[folder] = DiskFile(folder, FOLDER_SIZE, self.local_time(), is_dir=True)
        self.image = self._ensure_image(ver)                 # the image file the unit runs
        self.loading: str | None = None                      # the image ROMMON is loading
        self.running: dict[str, Any] = default_config(hostname or "ciscoasa", self.image)
        self.startup: dict[str, Any] = clone(self.running)
        self.boot_variable: list[str] = list(self.startup["boot_system"])   # as read at the last boot
        self.booted_at = ctx.clock.now()
        self.modified_by: tuple[str, float] = ("enable_15", ctx.clock.now())
        self.syslog: deque[tuple[float, str]] = deque([(self.local_time(), say("syslog", "199002"))], maxlen=500)
        self.last_login: tuple[float, str] | None = None
        self.logins: list[float] = []
        self.failed_logins = 0
        self.history: list[dict[str, Any]] = []          # reloads: {"from", "to", "image", "at"}
        self.ha: Any = None        # the AsaFailoverPair this unit belongs to, if any
        # Set by the kind's worker while the lab runs: moves the bytes of a copy, then reports.
        self.transfer: Callable[[CopyJob], None] | None = None
        self.copies: dict[int, CopyJob] = {}
        self._copy_ids = count(1)
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
        return str(self.running["hostname"])

    @property
    def services_up(self) -> bool:
        """SSH and the CLI answer (the unit runs its software)."""
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
        if not self.services_up:
            raise Refused("not_online", say("refuse", "not_online", state=self.state))

    # -- logins (the banner tells about them) -------------------------------------------------
    def record_login(self, user: str, peer: str, ok: bool) -> tuple[int, int, tuple[float, str] | None]:
        """Count a login; returns (logins over the last day, failed logins since the
        last good one, the previous login) for the banner."""
        now = self.ctx.clock.now()
        if peer != "console":
            self._log_login(user, peer, ok)
        if not ok:
            self.failed_logins += 1
            return 0, self.failed_logins, self.last_login
        self.logins = [t for t in self.logins if now - t < 86400] + [now]
        failed, self.failed_logins = self.failed_logins, 0
        previous, self.last_login = self.last_login, (now, peer)
        return len(self.logins), failed, previous

    def _log_login(self, user: str, peer: str, ok: bool) -> None:
        active = self.ha is None or self.ha.is_active(self)
        address = asa_data().failover.addresses.management[0 if active else 1]
        self.log(say("syslog", "605005" if ok else "605004", peer=peer, address=address, user=user))

    # -- disk0: ---------------------------------------------------------------------------------
    def file_arrived(self, name: str, size: int, header: str | None, md5: str, source: str = "",
                     mtime: float | None = None) -> None:
        """A file landed in disk0: (an SCP upload, a copy, or found there by the worker)."""
        name = self.disk.check_name(name)
        self.disk.entries[name] = DiskFile(name, size, self.local_time() if mtime is None else mtime,
                                           header=header, md5=md5)
        self._emit("file", action="added", name=name, size=size, source=source)

    def file_gone(self, name: str) -> None:
        """A catalogued file the worker did not find in disk0: (removed while the lab was stopped)."""
        if self.disk.entries.pop(name, None) is not None:
            self._emit("file", action="gone", name=name)

    def delete_file(self, name: str) -> None:
        name = self.disk.check_name(name)
        if self.disk.file(name) is None:
            raise Refused("no_file", say("refuse", "no_file", name=name))
        del self.disk.entries[name]
        self._emit("file", action="deleted", name=name)

    def image_of(self, name: str) -> ImageName | None:
        """The image a disk0: file is, if this unit can boot it."""
        image = ImageName.parse(name)
        if image is None or image.family not in self.info.families or not model_runs(self.model, image.version):
            return None
        entry = self.disk.file(name)
        if entry is None or entry.size == 0:
            return None
        if entry.header is not None and entry.header != signed_for(str(image.version)):
            return None          # a stand-in image of another version, or spoiled: the signature check fails
        return image

    def _ensure_image(self, version: AsaVersion, announce: bool = False) -> str:
        """The image file of `version` in disk0:, made if missing (its bytes are the worker's to write)."""
        for entry in self.disk.listing():
            image = ImageName.parse(entry.name)
            if not entry.is_dir and image and image.version == version and image.family in self.info.families:
                return entry.name
        name = image_name(self.info.families[0], version)
        self.disk.entries[name] = made_image(name, str(version), self.local_time())
        if announce:
            self._emit("file", action="added", name=name, size=self.disk.entries[name].size, source="reimage")
        return name

    def boot_choice(self, boot_list: list[str] | None = None) -> tuple[str, bool] | None:
        """The image the unit boots with `boot_list` (default: the startup
        configuration's): (file name, found through a `boot system` line). None: ROMMON."""
        boot_list = self.startup["boot_system"] if boot_list is None else boot_list
        for entry in boot_list:
            name = disk_name(entry)
            if name and self.image_of(name):
                return name, True
        for file in self.disk.listing():
            if not file.is_dir and self.image_of(file.name):
                return file.name, False
        return None

    def next_version(self) -> str | None:
        """The version the unit will run after a reload (None: it would stop in ROMMON)."""
        choice = self.boot_choice()
        image = self.image_of(choice[0]) if choice else None
        return str(image.version) if image else None

    # -- copy into disk0: --------------------------------------------------------------------------
    def start_copy(self, source: str, name: str, shown: str) -> CopyJob:
        """`copy <source> disk0:/<name>`: a job the worker carries out; Refused at once
        for a bad name, a missing disk0: source, or a `package.transfer` fault."""
        self._require_online()
        name = self.disk.check_name(name)
        origin = disk_name(source)
        if origin is not None and self.disk.file(origin) is None:
            raise Refused("no_file", say("copy", "open_failed", url=shown, reason=say("copy", "reasons", "missing")))
        corrupt = False
        fault = self.ctx.take_fault(self.name, "package.transfer")
        if fault is not None:
            if fault.action == "disk_full":
                raise Refused("disk_full", say("refuse", "disk_full", name=name))
            if fault.action == "fail":
                raise Refused("transfer_failed", fault.message or say("refuse", "write_failed", name=name))
            corrupt = fault.action == "corrupt"
        job = CopyJob(next(self._copy_ids), source, name, shown, self.disk.free, corrupt)
        self.copies[job.id] = job
        self._emit("copy", id=job.id, state="running", name=name, source=shown)
        if self.transfer is None:
            self.copy_failed(job.id, "no_service")
        else:
            self.transfer(job)
        return job

    def copy_received(self, job_id: int, size: int, header: str | None, md5: str) -> bool:
        """The worker wrote a copy's bytes: True if the unit keeps the file (else the worker removes it)."""
        job = self.copies.get(job_id)
        if job is None:
            return False
        if size > job.limit:
            self.copy_failed(job_id, "too_big")
            return False
        self.file_arrived(job.name, size, header, md5, source=job.shown)
        job.size = size
        self._end_copy(job, "done")
        return True

    def copy_failed(self, job_id: int, cause: str, values: dict[str, Any] | None = None) -> None:
        """A copy's transfer failed (a simulator.transfer cause): the unit's words for it."""
        job = self.copies.get(job_id)
        if job is None:
            return
        if cause == "too_big":
            job.message = say("refuse", "disk_full", name=job.name)
        else:
            reason = say("copy", "reasons", cause if cause in asa_data().texts["copy"]["reasons"] else "transfer",
                         reason=(values or {}).get("reason", "I/O error"))
            job.message = say("copy", "open_failed", url=job.shown, reason=reason)
        self._end_copy(job, "failed")

    def _end_copy(self, job: CopyJob, state: str) -> None:
        job.state = state
        del self.copies[job.id]
        self._emit("copy", id=job.id, state=state, name=job.name, size=job.size, error=job.message)

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

    # -- reload, boot and power -------------------------------------------------------------------
    def reload(self, cause: str = "operator") -> None:
        """`reload` (or the mate's `failover reload-standby`): a graceful shutdown,
        then a boot from the startup configuration's `boot system` images."""
        if not self.may_restart():
            raise Refused("not_online", say("refuse", "not_online", state=self.state))
        self.console(say("console", "shutdown"))
        self._emit("reboot", cause=cause, image=self.image, next=self.next_version())
        self.restart()
        shutdown = asa_data().timings.shutdown
        fault = self.ctx.take_fault(self.name, "reboot")
        if fault is not None:
            if fault.action == "hang":
                return
            if fault.action in ("power_loss", "fail"):
                self._after(shutdown, self._stop_in_rommon, "boot failure after reload")
                return
        self._after(shutdown, self.shutdown_done)

    def _boot(self) -> None:
        """ROMMON picks the image to load (every way into `booting` ends here)."""
        self.loading = None
        factor = 1.0
        fault = self.ctx.take_fault(self.name, "boot")
        if fault is not None:
            if fault.action == "hang":
                return
            if fault.action == "fail":
                self._after(asa_data().timings.rommon, self._stop_in_rommon, "boot failure")
                return
            if fault.action == "slow":
                factor = fault.factor
        choice = self.boot_choice()
        if choice is None:
            self._after(asa_data().timings.rommon, self._stop_in_rommon, "no bootable image")
            return
        name, listed = choice
        self.loading = name
        if not listed:
            self._emit("boot.fallback", image=name, boot_system=list(self.startup["boot_system"]))
        self._after(self.info.boot * factor, self._loaded)

    def _loaded(self) -> None:
        self._timer = None
        if not self.image_up():
            self._stop_in_rommon("image vanished")

    def image_intact(self) -> bool:
        """Guard of `image_up`: the image being loaded is still there and good."""
        return self.loading is not None and self.image_of(self.loading) is not None

    def _run_image(self) -> None:
        assert self.loading is not None
        image = self.image_of(self.loading)
        assert image is not None
        previous = self.version
        self.version, self.image, self.loading = str(image.version), self.loading, None
        self.running = clone(self.startup)
        self.boot_variable = list(self.startup["boot_system"])
        self.booted_at = self.ctx.clock.now()
        self.history.append({"from": previous, "to": self.version, "image": self.image,
                             "at": round(self.booted_at, 3)})
        self._emit("boot", phase="done", version=self.version, image=self.image, previous=previous)
        self.log(say("syslog", "199002"))

    def _stop_in_rommon(self, reason: str) -> None:
        self._timer = None
        self.loading = None
        self._emit("rommon", reason=reason)
        self.no_image()

    def boot_from_rommon(self) -> None:
        """`boot` at the ROMMON prompt: try the images of disk0: again."""
        if not self.may_rommon_boot():
            raise Refused("not_rommon", say("refuse", "not_online", state=self.state))
        self._emit("rommon.boot")
        self.rommon_boot()

    def power_off(self, cause: str = "operator") -> None:
        if not self.may_cut_power():
            return
        self._cancel_timer()
        self.loading = None
        self._emit("power", action="off", cause=cause)
        self.cut_power()

    def power_on(self) -> None:
        if not self.may_power_up():
            return
        self._emit("power", action="on")
        self.power_up()

    def reimage(self, version: str | None = None) -> None:
        """Install an image from scratch (the way out of ROMMON): factory
        configuration booting that image."""
        target = AsaVersion.parse(version) if version else self.ver
        if not model_runs(self.model, target):
            raise ValueError(hardware_range(self.model, target))
        self._cancel_timer()
        name = self._ensure_image(target, announce=True)
        failover = self.running.get("failover")
        self.startup = default_config("ciscoasa", name)
        self.startup["failover"] = copy.deepcopy(failover)
        self.running = clone(self.startup)
        self._emit("reimage", version=str(target))
        self.reinstall()

    # -- persistence --------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "model": self.model, "version": self.version,
                "serial": self.serial, "state": self.state, "image": self.image, "running": self.running,
                "startup": self.startup, "boot_variable": self.boot_variable, "booted_at": self.booted_at,
                "modified_by": list(self.modified_by), "clock_offset": self.clock_offset,
                "syslog": list(self.syslog), "history": self.history, "disk": self.disk.snapshot(),
                "last_login": list(self.last_login) if self.last_login else None, "logins": self.logins}

    def restore(self, data: dict[str, Any]) -> None:
        """Take back a snapshot; a reload or boot in flight starts its boot again."""
        self.version, self.serial, self.image = data["version"], data["serial"], data["image"]
        self.running, self.startup = data["running"], data["startup"]
        self.boot_variable = data.get("boot_variable", list(self.startup["boot_system"]))
        self.booted_at = data.get("booted_at", self.booted_at)
        user, at = data.get("modified_by", self.modified_by)
        self.modified_by = (user, at)
        self.clock_offset = data.get("clock_offset", 0.0)
        self.syslog = deque(((t, text) for t, text in data.get("syslog", [])), maxlen=500)
        self.history = data.get("history", [])
        self.last_login = (data["last_login"][0], data["last_login"][1]) if data.get("last_login") else None
        self.logins = data.get("logins", [])
        if "disk" in data:
            self.disk.restore(data["disk"])
        state = data["state"]
        MACHINE.set_state(state if state in ("online", "off", "rommon") else "booting", model=self)
        if state in ("booting", "reloading"):
            self._after(0, self._boot)


MACHINE.bind(AsaDevice)


def _serial_for(ctx: DeviceContext, prefix: str) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return prefix + "".join(ctx.rng.choice(alphabet) for _ in range(11 - len(prefix)))

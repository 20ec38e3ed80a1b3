"""A simulated SPS appliance: its firmware slots (one current, one booted
after the next reboot, up to five), the upgrade test (upgrade policy, free
storage, configuration compatibility), reboot and shutdown, and the upgrade a
new firmware's first boot runs, which may fail and revert to the old slot
(seed 004, sps.md 1-2). A slot's image carries both firmwares of a release:
the boot firmware (boots, HA, starts the core) and the core firmware (web UI,
REST, everything else); an upgrade replaces both (sps.md 1). Files changed in
the running firmwares (from the core shell, or seeded by the profile) taint
them and fail the upgrade test. Sealed mode closes remote SSH and the root
password; only the local console lifts it (sps.md 1). No I/O: the surfaces
store uploaded files and hand the model what they read from them."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from simulator.kinds.base import DeviceBase, DeviceContext, Refused, SwitchedPower
from simulator.kinds.sps.facts import SpsVersion, sps, text
from simulator.kinds.sps.machine import TABLE
from simulator.kinds.sps.packages import Firmware
from simulator.machines import Trigger

MACHINE = TABLE.machine()
UPGRADE_POINT = "upgrade.stage:firmware"     # the fault that makes an upgrade fail and revert
LOG_LINES = 500                              # upgrade/boot log lines the console keeps
TAINTED_MAX = 100                            # tainted files remembered per firmware
FIRMWARES = ("boot", "core")


@dataclass
class Slot:
    """A firmware image in a slot."""

    version: str
    upgrade_notes: str = ""
    upgrade_news: str = ""
    size_mb: int = 0


class SpsDevice(SwitchedPower, DeviceBase):
    kind = "sps"
    power_up: Trigger
    booted: Trigger
    boot_new_firmware: Trigger
    upgraded: Trigger
    upgrade_failed: Trigger
    reverted: Trigger
    go_down: Trigger
    restart: Trigger
    halted: Trigger
    cut_power: Trigger
    revert_failed: Trigger
    core_failed: Trigger

    def __init__(self, ctx: DeviceContext, name: str, model: str, version: str, *, hostname: str | None,
                 root_password: str, web_username: str, web_password: str,
                 free_storage_mb: int | None = None, config_issues: list[str] | None = None,
                 session_clock: str = "wall", sealed: bool = False,
                 tainted_files: dict[str, list[str]] | None = None,
                 join_cluster: Callable[[SpsDevice], None] | None = None) -> None:
        if model not in sps().models:
            raise ValueError(f"unknown SPS model {model!r}; expected one of {', '.join(sps().models)}")
        self.ctx, self.name, self.model = ctx, name, model
        self.hostname = hostname or name
        self.username, self.password = "root", root_password        # the console menu's login (SSH)
        self.web_username, self.web_password = web_username, web_password
        self.serial = f"{ctx.rng.getrandbits(32):08X}"
        self.free_storage_mb = free_storage_mb if free_storage_mb is not None else sps().models[model].storage_mb
        self.config_issues = list(config_issues or [])
        self.session_clock = session_clock        # what the REST sessions' 20 idle minutes count in
        self.sealed = sealed                      # sealed mode: no remote SSH, not even in rescue
        self.tainted: dict[str, list[str]] = {f: sorted(set((tainted_files or {}).get(f, [])))[:TAINTED_MAX]
                                              for f in FIRMWARES}       # manually modified files
        self.core_broken = False                  # an upgrade that could not revert: the core never starts
        self.transaction_open = False             # /api/transaction: the configuration is locked
        self.slots: dict[int, Slot] = {1: Slot(str(SpsVersion.parse(version)))}
        self.current, self.after_reboot = 1, 1
        self.previous: int | None = None         # the slot that ran before the last upgrade
        self.halt = False                        # going down to stay off (shutdown), not to reboot
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        self.node_id = self.new_id()              # its key in a central-management cluster
        self.cluster: Any = None                  # the SearchCluster it belongs to, if any
        self.cluster_roles: list[str] = []        # its roles in that cluster (sps.md 4.7)
        self._join_cluster = join_cluster         # how it joins the lab's cluster when it gets a role
        self.search_error: str | None = None      # seed 004's critical index error (a search master's)
        self.clock_offset, self._timer = 0.0, None
        MACHINE.add_model(self, initial="online")

    # -- identity ------------------------------------------------------------------
    @property
    def version(self) -> str:                    # type: ignore[override]
        return self.slots[self.current].version

    @property
    def label(self) -> str:
        return SpsVersion.parse(self.version).label

    @property
    def services_up(self) -> bool:
        """SSH answers: while running, and in rescue unless sealed (sps.md 2.4)."""
        return self.state == "online" or self.state == "rescue" and not self.sealed

    @property
    def ssh_open(self) -> bool:
        """Remote SSH: never in sealed mode (sps.md 1; 2.4 for the rescue state)."""
        return self.services_up and not self.sealed

    @property
    def core_runs(self) -> bool:
        """The core firmware (web UI, REST) runs on a standalone node or an HA master (sps.md 1)."""
        return self.state == "online" and (self.ha is None or self.ha.is_master(self))

    @property
    def web_upgrade_log(self) -> bool:
        """Does the web UI show the upgrade log while this node upgrades? Not when upgrading from
        5.0.x: that feature comes with the first boot of the new release (seed 004's note)."""
        return SpsVersion.parse(self.version).train not in sps().no_web_upgrade_log

    def health(self) -> dict[str, Any]:
        """`/api/health_status`'s body (sps.md 4.7; the figures RECONSTRUCTED)."""
        data = sps().health
        indexer = ({"status": "critical", "message": self.search_error} if self.search_error
                   else {"status": "ok", "message": ""})
        other = self.ha.peer_of(self) if self.ha is not None else None
        ha_other = sorted({*other.tainted["boot"], *other.tainted["core"]}) if other is not None else []
        return {**data, "firmware": {"tainted_files": {**{f: list(self.tainted[f]) for f in FIRMWARES},
                                                       "ha_other": ha_other},
                                     "integrity": {f: "CORRUPTED" if self.tainted[f] else "OK" for f in FIRMWARES}},
                "indexer": indexer, "sessions_total": sum(data["sessions"].values())}

    # -- boot and core firmware, tainted files, sealed mode ------------------------------
    def firmware_of(self, path: str) -> str | None:
        """Which running firmware a file belongs to (facts.yaml `firmware_paths`), if any."""
        for firmware in FIRMWARES:
            for folder in sps().firmware_paths[firmware]:
                if path == folder or path.startswith(folder.rstrip("/") + "/"):
                    return firmware
        return None

    def file_changed(self, path: str) -> None:
        """A file written from the core shell: one of a firmware's own taints it."""
        firmware = self.firmware_of(path)
        if firmware is None or path in self.tainted[firmware]:
            return
        if len(self.tainted[firmware]) < TAINTED_MAX:
            self.tainted[firmware] = sorted([*self.tainted[firmware], path])
        self._emit("firmware.tainted", firmware=firmware, path=path)

    def set_sealed(self, on: bool, *, local: bool) -> None:
        """Enable sealed mode (console menu, web UI) or disable it (the local console only)."""
        if on == self.sealed:
            raise Refused("refused", text("sealed_already" if on else "sealed_not"))
        if not on and not local:
            raise Refused("refused", text("sealed_local_only"))
        self.sealed = on
        self._emit("access", sealed=on, ssh=self.ssh_open)

    def set_root_password(self, password: str) -> None:
        """Console menu: Change root password; refused in sealed mode (sps.md 1)."""
        if self.sealed:
            raise Refused("refused", text("sealed_root_password"))
        if not password:
            raise Refused("invalid", text("empty_password"))
        self.password = password
        self._emit("root_password", changed=True)

    def set_cluster_roles(self, roles: list[str], announce: bool = True) -> None:
        """Its central-management cluster roles (profile, `cluster/promote`, `PUT cluster/nodes/<id>`)."""
        self.cluster_roles = list(roles)
        if roles and self.cluster is None and self._join_cluster is not None:
            self._join_cluster(self)
        if announce:
            self._emit("cluster.roles", roles=self.cluster_roles)

    def set_transaction(self, open_: bool) -> None:
        """Open (locks the configuration), commit or discard a configuration transaction."""
        self.transaction_open = open_
        self._emit("transaction", status="open" if open_ else "closed")

    def set_search_error(self, message: str) -> None:
        self.search_error = message
        self._emit("search.index_error", message=message)

    def reimage(self, version: str | None = None) -> None:
        """Install from scratch (the control API's reimage): one slot with `version` (default:
        the running one), booted; what the old installation had, the index error too, is gone."""
        target = str(SpsVersion.parse(version)) if version else self.version
        self.power_off(cause="reimage")
        self.slots = {1: Slot(target)}
        self.current, self.after_reboot, self.previous, self.search_error = 1, 1, None, None
        self.core_broken = False
        self.tainted = {f: [] for f in FIRMWARES}
        self._emit("reimage", version=target)
        self.power_on()

    def role_changed(self) -> None:
        """The HA pair moved the master role: the web UI follows the core firmware."""
        self._emit("ha.role", master=self.ha is not None and self.ha.is_master(self))

    # -- slots ------------------------------------------------------------------------
    def slot(self, slot_id: int) -> Slot:
        if not 1 <= slot_id <= sps().slots:
            raise Refused("not_found", text("no_slot", slot=slot_id))
        found = self.slots.get(slot_id)
        if found is None:
            raise Refused("not_found", text("empty_slot", slot=slot_id))
        return found

    def free_slot(self) -> int:
        """The slot an upload goes to: the first empty one."""
        self._require_running()
        for slot_id in range(1, sps().slots + 1):
            if slot_id not in self.slots:
                return slot_id
        raise Refused("no_slot", text("no_empty_slot"))

    def add_firmware(self, slot_id: int, firmware: Firmware) -> Slot:
        """An uploaded ISO that SPS could read and whose signature holds takes the slot."""
        if firmware.problem == "corrupt" or firmware.version is None:
            raise Refused("invalid", text("corrupt"))
        if firmware.problem == "signature":
            raise Refused("invalid", text("not_signed"))
        slot = Slot(firmware.version, firmware.upgrade_notes, firmware.upgrade_news, firmware.size_mb)
        self.slots[slot_id] = slot
        self._emit("firmware", action="uploaded", slot=slot_id, version=slot.version)
        return slot

    def delete_slot(self, slot_id: int) -> None:
        self.slot(slot_id)
        if slot_id == self.current:
            raise Refused("refused", text("delete_current"))
        if slot_id == self.after_reboot:
            raise Refused("refused", text("delete_after_reboot"))
        del self.slots[slot_id]
        if self.previous == slot_id:
            self.previous = None
        self._emit("firmware", action="deleted", slot=slot_id)

    def set_after_reboot(self, slot_id: int) -> None:
        """Basic Settings > System > Firmwares > After reboot."""
        self.slot(slot_id)
        self.after_reboot = slot_id
        self._emit("firmware", action="after_reboot", slot=slot_id)

    def empty_slots(self) -> int:
        return sps().slots - len(self.slots)

    # -- the upgrade test ---------------------------------------------------------
    def test_problems(self, slot_id: int) -> list[str]:
        """What the upgrade test finds for a slot's firmware: version policy, free storage,
        configuration compatibility (sps.md 4.4), and a `readiness` fault's message."""
        slot = self.slot(slot_id)
        current, target = SpsVersion.parse(self.version), SpsVersion.parse(slot.version)
        problems = []
        if target == current:
            problems.append(text("same_version", target=target.label))
        elif target < current or target.train not in sps().upgrade_paths.get(current.train, [current.train]):
            problems.append(text("policy", target=target.label, current=current.label))
        if slot.size_mb > self.free_storage_mb:
            problems.append(text("storage", free=self.free_storage_mb, needed=slot.size_mb))
        if target.train != current.train:
            problems += [text("config", target=target.label, issue=issue) for issue in self.config_issues]
        for firmware in FIRMWARES:
            if self.tainted[firmware]:
                problems.append(text("tainted", firmware=firmware, files=", ".join(self.tainted[firmware])))
        fault = self.ctx.take_fault(self.name, "readiness")
        if fault is not None:
            problems.append(fault.message or "Firmware test failed.")
        return problems

    def test_firmware(self, slot_id: int) -> str:
        """The test summary; Refused("test_failed") with the findings when it fails."""
        self._require_running()
        problems = self.test_problems(slot_id)
        self._emit("firmware.test", slot=slot_id, ok=not problems, problems=problems)
        if problems:
            raise Refused("test_failed", "\n".join(problems))
        return text("test_ok")

    def upgrade(self, slot_id: int) -> str:
        """REST `firmware/upgrade`: the test again, the slot after reboot, and a reboot (sps.md 4.4-4.5)."""
        summary = self.test_firmware(slot_id)
        self.set_after_reboot(slot_id)
        self.reboot()
        return summary

    def activate_previous(self) -> int:
        """Console menu: boot the firmware that ran before the last upgrade at the next reboot."""
        if self.previous is None or self.previous not in self.slots:
            raise Refused("no_previous", text("no_previous"))
        self.set_after_reboot(self.previous)
        return self.previous

    # -- power, reboot, shutdown ---------------------------------------------------------
    def _require_running(self) -> None:
        if self.state != "online":
            raise Refused("not_running", text("not_running", state=self.state))

    def reboot(self) -> None:
        self._go_down(halt=False)

    def shutdown(self) -> None:
        self._go_down(halt=True)

    def _go_down(self, halt: bool) -> None:
        if self.state not in ("online", "rescue"):       # the rescue console can reboot too
            raise Refused("not_running", text("not_running", state=self.state))
        self.halt = halt
        self.go_down()

    def _start_shutdown(self) -> None:
        self._emit("going_down", action="shutdown" if self.halt else "reboot")
        self._after(sps().timings["shutdown"], self._down)

    def _down(self) -> None:
        """The end of a shutdown: the box powers down or restarts (the console says which)."""
        self._timer = None
        self._emit("powering_down" if self.halt else "restarting")
        self.halted() if self.halt else self.restart()

    def _start_boot(self) -> None:
        slot = self.slots[self.after_reboot]
        self._log(text("upgrade_log_boot", version=SpsVersion.parse(slot.version).label, slot=self.after_reboot))
        self._after(sps().timings["boot"], self._boot_done)

    def _boot_done(self) -> None:
        self._timer = None
        if self.core_broken:
            self.core_failed()
        elif self.after_reboot != self.current:
            self.boot_new_firmware()
        else:
            self.booted()

    def _start_upgrade(self) -> None:
        old, new = self.slots[self.current], self.slots[self.after_reboot]
        self._log(text("upgrade_log_start", old=old.version, new=new.version))
        self._after(sps().timings["upgrade"], self._upgrade_done)

    def _upgrade_done(self) -> None:
        self._timer = None
        fault = self.ctx.take_fault(self.name, UPGRADE_POINT)
        if fault is not None and fault.action == "fail":
            self._log(text("upgrade_log_failed", new=self.slots[self.after_reboot].version,
                           reason=fault.message or "upgrade script error", old=self.version, slot=self.current))
            self._emit("upgrade.failed", slot=self.after_reboot)
            self.upgrade_failed()
            return
        self.previous, self.current = self.current, self.after_reboot
        self.tainted = {f: [] for f in FIRMWARES}      # the new release's own boot and core firmware
        self._log(text("upgrade_log_done", version=self.label))
        self._emit("upgrade.finished", version=self.version, slot=self.current)
        self.upgraded()

    def _start_revert(self) -> None:
        self.after_reboot = self.current          # the old slot boots again
        fault = self.ctx.take_fault(self.name, "revert")
        seconds = sps().timings["revert"] * (fault.factor if fault and fault.action == "slow" else 1)
        self._after(seconds, self._revert_done, fault is not None and fault.action != "slow")

    def _revert_done(self, fails: bool) -> None:
        self._timer = None
        if fails:
            self.core_broken = True
            self._emit("upgrade.unrecoverable", version=self.version)
            self.revert_failed()
            return
        self._log(text("upgrade_log_reverted", version=self.label))
        self._emit("upgrade.reverted", version=self.version, slot=self.current)
        self.reverted()

    def _start_rescue(self) -> None:
        """The core never comes up: interfaces up, SSH on every one of them unless sealed (sps.md 2.4)."""
        self._log(text("upgrade_log_rescue_sealed" if self.sealed else "upgrade_log_rescue"))

    def _log(self, line: str) -> None:
        self.log.append(line)
        self._emit("console.log", line=line)

    # -- persistence -----------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        return {"current_slot": self.current, "slot_after_reboot": self.after_reboot}

    def snapshot(self) -> dict[str, Any]:
        return {"state": self.state, "serial": self.serial, "current": self.current, "node_id": self.node_id,
                "search_error": self.search_error, "core_broken": self.core_broken,
                "after_reboot": self.after_reboot, "previous": self.previous, "halt": self.halt,
                "cluster_roles": self.cluster_roles, "sealed": self.sealed, "tainted": self.tainted,
                "root_password": self.password,
                "slots": {str(k): asdict(v) for k, v in self.slots.items()}, "log": list(self.log)}

    def restore(self, data: dict[str, Any]) -> None:
        self.serial, self.halt = data["serial"], data["halt"]
        self.node_id, self.search_error = data.get("node_id", self.node_id), data.get("search_error")
        self.core_broken = data.get("core_broken", False)
        self.sealed, self.password = data.get("sealed", self.sealed), data.get("root_password", self.password)
        self.tainted = {f: list(data.get("tainted", {}).get(f, self.tainted[f])) for f in FIRMWARES}
        if data.get("cluster_roles", self.cluster_roles) != self.cluster_roles:
            self.set_cluster_roles(data["cluster_roles"], announce=False)
        self.slots = {int(k): Slot(**v) for k, v in data["slots"].items()}
        self.current, self.after_reboot, self.previous = data["current"], data["after_reboot"], data["previous"]
        self.log.clear()        # a live device put back to a snapshot (simulator/snapshots.py) had a log of its own
        self.log.extend(data["log"])
        MACHINE.set_state(data["state"], model=self)
        resume = {"booting": self._start_boot, "upgrading": self._start_upgrade, "reverting": self._start_revert,
                  "shutting_down": self._start_shutdown}.get(self.state)
        if resume is not None:
            resume()


MACHINE.bind(SpsDevice)

"""A failover (high availability) pair of two units, each a full device model.

The pair watches its units through the journal and keeps, per unit, the
failover state the devices print (Active, Standby Ready, Negotiation, Sync
Config, Bulk Sync, Disabled, Failed ...). Rules from seed 000:
- a joining unit negotiates, takes the active unit's configuration, and
  becomes Standby Ready; a manual switch is stateful (no traffic lost);
- when the active unit goes down, a Standby Ready peer of the same version
  takes over after the hold time (traffic is lost meanwhile); with mixed
  versions, a suspended pair or a cut link there is no failover;
- after a unit's post-upgrade reboot HA is suspended on it until its final
  tasks finish, then resumes by itself (or by hand);
- a cut failover link with both units up makes both active (split brain);
- deploy only from the active unit, not while the peer upgrades; a
  configuration deployed while the peer cannot take it stays on one unit.

No I/O: surfaces read the pair and call its actions."""

from __future__ import annotations

from functools import cache
from typing import Any

from simulator.clock import Timer
from simulator.facts import read_yaml
from simulator.journal import Event
from simulator.kinds.base import Refused
from simulator.kinds.failover import PairBase
from simulator.kinds.ftd.config import clone
from simulator.kinds.ftd.ha_machine import JOINING, TABLE
from simulator.kinds.ftd.model import FtdDevice
from simulator.machines import Trigger

UNIT_MACHINE = TABLE.machine()


@cache
def ha_data() -> dict[str, Any]:
    return dict(read_yaml("kinds/ftd/ha.yaml"))


class HaUnit:
    """One unit's failover state in its pair (ha_machine.py), and since when it is active."""

    negotiate: Trigger
    sync_config: Trigger
    config_sync_failed: Trigger
    bulk_sync: Trigger
    joined: Trigger
    go_active: Trigger
    go_standby: Trigger
    split_brain: Trigger
    lost: Trigger
    failed: Trigger
    disable: Trigger
    break_up: Trigger
    state: str

    def __init__(self, pair: HaPair, device: FtdDevice, state: str = "Not Detected") -> None:
        self.pair, self.device = pair, device
        self.active_since: float | None = None
        self.last_failure: tuple[str, float] | None = None     # (reason, when), for `show failover state`
        UNIT_MACHINE.add_model(self, initial=state)

    def move(self, trigger: str) -> None:
        """Fire `trigger` unless the unit is already where it leads."""
        if self.state != _DEST[trigger]:
            getattr(self, trigger)()

    def _state_changed(self) -> None:
        if self.state != "Active":
            self.active_since = None
        pair = self.pair
        pair.ctx.journal.emit(self.device.name, "ha.unit", pair=pair.name, role=pair.role_of(self.device),
                              state=self.state)


UNIT_MACHINE.bind(HaUnit)
_DEST = {t["trigger"]: t["dest"] for t in TABLE.transitions}


class HaPair(PairBase):
    """Two units, primary and secondary; `active` names the unit holding the active role.
    The pair's own state (forming, healthy, mixed, degraded, suspended, split_brain, down,
    broken) sums up its units' (`_update_pair_state`)."""

    def __init__(self, name: str, primary: FtdDevice, secondary: FtdDevice) -> None:
        self.name = name
        self.units = {"primary": primary, "secondary": secondary}
        self.ctx = primary.ctx
        self.state = "forming"
        self.link_up = True
        self.suspended = False               # by hand (FDM Suspend, `configure high-availability suspend`)
        self.post_upgrade: set[str] = set()  # units whose post-upgrade tasks keep HA suspended
        self.broken = False
        self.active: str | None = None
        self.config_status = "IN_SYNC"
        self.last_failover: float | None = None
        self.failovers = 0
        self._timers: dict[str, Timer] = {}
        running = all(self._ready(u) for u in self.units.values())
        # A configured pair found running: primary active, secondary standby, in sync.
        self.members = {primary.name: HaUnit(self, primary, "Active" if running else "Not Detected"),
                        secondary.name: HaUnit(self, secondary, "Standby Ready" if running else "Not Detected")}
        if running:
            self.active = primary.name
            self.members[primary.name].active_since = self.ctx.clock.now()
        for unit in self.units.values():
            unit.ha = self
        self._unsubscribe = [self.ctx.journal.subscribe(self._on_event, device=u.name) for u in self.units.values()]
        self.reconcile()

    @property
    def unit_state(self) -> dict[str, str]:   # type: ignore[override]
        return {name: member.state for name, member in self.members.items()}

    @property
    def active_since(self) -> dict[str, float | None]:
        return {name: member.active_since for name, member in self.members.items()}

    @property
    def last_failure(self) -> dict[str, tuple[str, float] | None]:
        return {name: member.last_failure for name, member in self.members.items()}

    # -- reading ----------------------------------------------------------------------
    @property
    def mixed_versions(self) -> bool:
        return self.primary.version != self.secondary.version

    def is_active(self, unit: FtdDevice) -> bool:
        return self.unit_state[unit.name] == "Active"

    def carries(self, unit_name: str) -> bool:
        return self.unit_state.get(unit_name) == "Active"

    def traffic_up(self) -> bool:
        """Some unit holds the active role and passes traffic."""
        return any(self.unit_state[u.name] == "Active" and self._ready(u) for u in self.units.values())

    def health(self) -> tuple[str, str | None]:
        """FDM's haHealthStatus, and why it is not HEALTHY."""
        texts = ha_data()["texts"]["reason"]
        if self.state == "split_brain":
            return "CRITICAL", texts["split_brain"]
        if not self.link_up:
            return "UNHEALTHY", texts["link"]
        if self.config_status != "IN_SYNC":
            return "UNHEALTHY", texts["out_of_sync"]
        if self.state in ("healthy", "mixed"):
            return "HEALTHY", None
        if self.state in ("forming", "suspended"):
            return "PROCESSING", None
        peer = next((s for s in self.unit_state.values() if s != "Active"), "unknown")
        return "UNHEALTHY", texts["peer"].format(state=peer)

    # -- model hooks (called by the units) ---------------------------------------------
    def upgrade_refusal(self, unit: FtdDevice) -> Refused | None:
        """Why an upgrade will not start on this pair now (split brain, out of sync), if it will not."""
        if self.broken:
            return None
        status, reason = self.health()
        out_of_sync = (self.config_status != "IN_SYNC" and not self.mixed_versions
                       and all(self._ready(u) for u in self.units.values()))
        if self.state == "split_brain" or not self.link_up or out_of_sync:
            return Refused("ha_unhealthy", self._say("unhealthy", reason=reason or status))
        return None

    def upgrade_warning(self, unit: FtdDevice) -> str | None:
        """Seed 000: "To minimize disruption, always upgrade the standby." Upgrading the active
        unit while its peer stands by would fail the pair over: it is refused with this advice
        unless forced. None when the unit is not the active one of a pair with a standby."""
        if self.broken or not self.is_active(unit):
            return None
        peer = self.peer_of(unit)
        if self.unit_state[peer.name] != "Standby Ready":
            return None
        return self._say("upgrade_active", peer=peer.hostname)

    def check_deploy(self, unit: FtdDevice) -> None:
        if self.broken:
            return
        if not self.is_active(unit):
            raise Refused("ha_standby", self._say("deploy_standby"))
        if self.peer_of(unit).upgrading:      # seed 000 table 6, through the post-upgrade tasks
            raise Refused("app_sync", self._say("app_sync"))

    def config_deployed(self, unit: FtdDevice) -> None:
        """A deployment finished on `unit`: the standby takes it if it can."""
        if self.broken:
            return
        peer = self.peer_of(unit)
        if self.unit_state[peer.name] == "Standby Ready" and self.link_up and not self.mixed_versions:
            self._copy_config(unit, peer)
        else:
            self._set_config_status("OUT_OF_SYNC")

    # -- actions ---------------------------------------------------------------------------
    def switch(self, unit: FtdDevice | None = None) -> None:
        """Make the standby unit active (FDM Switch Mode / FMC Switch Active Peer);
        `unit`: the unit that should become active (default: the standby)."""
        self._require_configured()
        if not self.link_up:
            raise Refused("ha_link", self._say("switch_link"))
        target = unit or next(u for u in self.units.values() if u.name != self.active)
        if self.is_active(target) and self.active == target.name:
            return
        if self.unit_state[target.name] != "Standby Ready" or self.suspended or self.post_upgrade:
            raise Refused("ha_not_ready", self._say("switch_not_ready", peer=self.unit_state[target.name]))
        old = self.members[self.active] if self.active else None
        self._make_active(target, cause="switch")
        if old is not None and old.state == "Active":      # a unit that is down stays down
            old.go_standby()
        self.reconcile()

    def suspend(self) -> None:
        self._require_configured()
        if self.suspended:
            raise Refused("ha_suspended", self._say("already_suspended"))
        self.suspended = True
        self.ctx.journal.emit(None, "ha.suspended", pair=self.name)
        self.reconcile()

    def resume(self) -> None:
        self._require_configured()
        cold = [u for u in self.units.values() if self.unit_state[u.name] == "Cold Standby"]
        if not self.suspended and not self.post_upgrade and not cold:
            raise Refused("ha_not_suspended", self._say("not_suspended"))
        self.suspended = False
        self.post_upgrade.clear()
        for unit in cold:
            self.members[unit.name].negotiate()       # try the configuration sync again
        self.ctx.journal.emit(None, "ha.resumed", pair=self.name)
        self.reconcile()

    def break_pair(self) -> None:
        """Break HA: both units carry on standalone; the active one keeps traffic."""
        self._require_configured()
        self.broken = True
        self._cancel_all()
        self.ctx.journal.emit(None, "ha.broken", pair=self.name, active=self.active)
        for member in self.members.values():
            member.break_up()
        self._update_pair_state()

    # -- the rules ----------------------------------------------------------------------------
    @staticmethod
    def _ready(unit: FtdDevice) -> bool:
        """A unit that runs its applications and takes part in failover."""
        return unit.apps_up

    def _on_event(self, event: Event) -> None:
        if event["kind"] == "upgrade.post_tasks":
            self.post_upgrade.add(event["device"])
        elif event["kind"] == "upgrade.finished" and event["device"] in self.post_upgrade:
            self.post_upgrade.discard(event["device"])
            self.ctx.journal.emit(None, "ha.resumed", pair=self.name, unit=event["device"], cause="post-upgrade")
        if event["kind"] in ("state", "upgrade.post_tasks", "upgrade.finished", "boot"):
            self.reconcile()

    def reconcile(self) -> None:
        """Bring unit states and the pair state in line with the units."""
        if self.broken:
            return
        ready = {u.name: self._ready(u) for u in self.units.values()}
        self._units_down_or_suspended(ready)
        if all(ready.values()) and not self.link_up:
            self._split_brain()
        else:
            self._settle_active(ready)
            for unit in self.units.values():
                if self._may_join(unit, ready[unit.name]):
                    self._join(unit)
        self._update_pair_state()

    def _units_down_or_suspended(self, ready: dict[str, bool]) -> None:
        for unit in self.units.values():
            member = self.members[unit.name]
            if unit.name in self.post_upgrade and unit.state == "upgrade_post":
                self._cancel(unit.name)
                member.move("disable")                  # HA suspended while final tasks run
            elif not ready[unit.name]:
                self._cancel(unit.name)
                member.move("failed" if unit.installing else "lost")
            elif self.suspended and unit.name != self.active:
                self._cancel(unit.name)
                member.move("disable")

    def _split_brain(self) -> None:
        """Each unit sees its peer gone: both go active."""
        for unit in self.units.values():
            self._cancel(unit.name)
            if self.members[unit.name].state != "Active":
                self.members[unit.name].split_brain()
                self.ctx.journal.emit(unit.name, "ha.split_brain", pair=self.name)

    def _settle_active(self, ready: dict[str, bool]) -> None:
        """After a split brain one unit yields; a lost active fails over, one back resumes its role,
        and with no active unit the first one up negotiates for it."""
        if self.state == "split_brain":
            keep = self.active or self.primary.name       # the link is back: one unit yields
            for unit in self.units.values():
                if unit.name != keep and self.members[unit.name].state == "Active":
                    self.members[unit.name].negotiate()
        active = self.unit(self.active) if self.active else None
        if active is not None and not ready[active.name]:
            self._active_lost(active)
        elif active is not None and self.members[active.name].state != "Active":
            self.members[active.name].go_active()          # back, and nobody took over
            self.members[active.name].active_since = self.ctx.clock.now()
        elif active is None:
            first = next((u for u in (self.primary, self.secondary) if ready[u.name]), None)
            if first is not None and first.name not in self._timers:
                self.members[first.name].move("negotiate")
                self._after(first.name, ha_data()["timings"]["negotiation"], self._negotiated, first)

    def _may_join(self, unit: FtdDevice, ready: bool) -> bool:
        return (ready and unit.name != self.active and unit.name not in self.post_upgrade
                and not self.suspended and self.link_up and self.active is not None
                and self.unit_state[unit.name] in ("Not Detected", "Failed", "Disabled", "Negotiation")
                and unit.name not in self._timers)

    def _can_take_over(self, peer: FtdDevice) -> bool:
        """Failover is possible only to a Standby Ready peer of the same version, with a
        working link and HA not suspended (seed 000: disabled with mixed versions)."""
        return (self._ready(peer) and self.unit_state[peer.name] == "Standby Ready" and self.link_up
                and not self.suspended and not self.post_upgrade and not self.mixed_versions)

    def _active_lost(self, active: FtdDevice) -> None:
        peer = self.peer_of(active)
        if self._can_take_over(peer) and "takeover" not in self._timers:
            hold = ha_data()["timings"]["hold_time"]
            self._timers["takeover"] = self.ctx.clock.call_later(hold, self._takeover, peer, active)
        if self.members[active.name].last_failure is None:
            self.members[active.name].last_failure = ("Comm Failure", self.ctx.clock.now())

    def _takeover(self, peer: FtdDevice, old: FtdDevice) -> None:
        self._timers.pop("takeover", None)
        if self._ready(old) or not self._can_take_over(peer):
            self.reconcile()
            return
        self.members[old.name].move("failed" if old.installing else "lost")
        self._make_active(peer, cause=f"the active unit {old.name} is down")
        self.reconcile()

    def _negotiated(self, unit: FtdDevice) -> None:
        self._timers.pop(unit.name, None)
        if self.active is None and self._ready(unit):
            self._make_active(unit, cause="no active peer found")
        self.reconcile()

    def _join(self, unit: FtdDevice) -> None:
        """Negotiation -> Sync Config (takes the active's configuration) -> Bulk Sync -> Standby Ready."""
        timings = ha_data()["timings"]
        member = self.members[unit.name]
        steps = [("negotiate", timings["negotiation"]), ("sync_config", timings["sync_config"]),
                 ("bulk_sync", timings["bulk_sync"]), ("joined", 0)]

        def step(index: int) -> None:
            self._timers.pop(unit.name, None)
            if not self._ready(unit) or self.active is None or self.active == unit.name:
                self.reconcile()
                return
            trigger, seconds = steps[index]
            if trigger == "sync_config":
                fault = self.ctx.take_fault(unit.name, "ha.sync")
                if fault is not None:
                    member.last_failure = ("Config Sync Failure", self.ctx.clock.now())
                    self._set_config_status("OUT_OF_SYNC")
                    member.config_sync_failed()
                    self._update_pair_state()
                    return
                self._copy_config(self.unit(self.active), unit)
            member.move(trigger)
            if trigger == "joined":
                self.reconcile()          # a lost active may now fail over to it
                return
            self._after(unit.name, seconds, step, index + 1)

        step(0)

    def _copy_config(self, source: FtdDevice, target: FtdDevice) -> None:
        target.config, target.candidate = clone(source.config), clone(source.config)
        target.config["hostname"] = target.candidate["hostname"] = target.hostname
        self.ctx.journal.emit(target.name, "ha.config_sync", source=source.name)
        self._set_config_status("IN_SYNC")

    def _make_active(self, unit: FtdDevice, cause: str) -> None:
        previous = self.active
        self.active = unit.name
        self.members[unit.name].go_active()
        self.members[unit.name].active_since = self.ctx.clock.now()
        if previous is not None and previous != unit.name:
            self.failovers += 1
            self.last_failover = self.ctx.clock.now()
            self.ctx.journal.emit(unit.name, "ha.failover", pair=self.name, previous=previous, cause=cause)

    def _set_config_status(self, status: str) -> None:
        if self.config_status != status:
            self.config_status = status
            self.ctx.journal.emit(None, "ha.config", pair=self.name, status=status)

    def _update_pair_state(self) -> None:
        states = list(self.unit_state.values())
        if states.count("Active") == 2:
            target = "split_brain"
        elif self.suspended or self.post_upgrade:
            target = "suspended"
        elif "Active" not in states or not self.traffic_up():
            target = "down" if not any(s in JOINING for s in states) else "forming"
        elif "Standby Ready" in states:
            target = "mixed" if self.mixed_versions else "healthy"
        elif any(s in JOINING for s in states):
            target = "forming"
        else:
            target = "degraded"
        if self.broken:
            target = "broken"
        if self.state != target:
            self.state = target
            self._state_changed()

    # -- helpers ------------------------------------------------------------------------------
    def _require_configured(self) -> None:
        if self.broken:
            raise Refused("ha_broken", self._say("broken"))

    @staticmethod
    def _say(key: str, **values: Any) -> str:
        return ha_data()["texts"]["refuse"][key].format(**values)

    # -- persistence ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "link_up": self.link_up, "suspended": self.suspended,
                "post_upgrade": sorted(self.post_upgrade), "broken": self.broken, "active": self.active,
                "unit_state": self.unit_state, "config_status": self.config_status,
                "last_failover": self.last_failover, "failovers": self.failovers,
                "active_since": self.active_since, "last_failure": self.last_failure}

    def restore(self, data: dict[str, Any]) -> None:
        self._cancel_all()      # a live pair put back to a snapshot drops what it was waiting for
        self.link_up, self.suspended, self.broken = data["link_up"], data["suspended"], data["broken"]
        self.post_upgrade = set(data["post_upgrade"])
        self.active, self.config_status = data["active"], data["config_status"]
        self.last_failover, self.failovers = data["last_failover"], data["failovers"]
        for name, state in data["unit_state"].items():
            # States in the middle of joining restart their join.
            UNIT_MACHINE.set_state("Negotiation" if state in JOINING else state, model=self.members[name])
            member = self.members[name]
            member.active_since = data.get("active_since", {}).get(name, member.active_since)
            failure = data.get("last_failure", {}).get(name)
            member.last_failure = (failure[0], failure[1]) if failure else None
        self._update_pair_state()
        self.reconcile()

"""What an ASA failover pair does on its own (seeds 002 and 003, the ASA
configuration guide), over one `FailoverUnit` per unit and failover group:

- a unit that comes up while its mate is active negotiates, detects the
  active mate, takes its configuration (Sync Config: "Beginning
  configuration replication: Sending to mate."), syncs its file system and
  state (Bulk Sync) and becomes Standby Ready;
- the two units may run different versions when the difference is a
  zero-downtime step: failover keeps working and the active unit warns "Mate
  version X is not identical with ours Y"; otherwise the unit that serves no
  group stays Disabled: no standby, no switchover;
- a unit being reloaded hands its groups to a Standby Ready mate at once; a
  unit that dies is replaced after the unit hold time (traffic is lost
  meanwhile); automatic takeovers only to a mate allowed by
  `failover.auto_failover_mixed` (facts.yaml);
- Active/Active groups with `preempt [delay]` go back to their unit once it is
  Standby Ready again, after the delay;
- the standby of a unit running another version lost its IPsec tunnels:
  %ASA-5-720012 every minute until `write standby` (seed 003);
- a cut failover link with both units up makes both active (split brain)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.journal import Event
from simulator.kinds.asa.facts import asa_data, say
from simulator.kinds.asa.failover_unit import MACHINE as UNIT_MACHINE
from simulator.kinds.asa.failover_unit import FailoverUnit
from simulator.kinds.asa.machine import JOINING, PAIR, state_id
from simulator.kinds.asa.model import AsaDevice, clone
from simulator.kinds.asa.versions import zero_downtime
from simulator.kinds.failover import PairBase
from simulator.machines import Trigger

PAIR_MACHINE = PAIR.machine()
# The join after Negotiation: each trigger, and the state it reaches is held this long (facts.yaml `failover`).
WALK = (("detect_active_mate", "cold_standby"), ("sync_config", "sync_config"),
        ("sync_file_system", "sync_file_system"), ("bulk_sync", "bulk_sync"), ("standby_ready", ""))
SYNC_CONFIG = 1         # the step of WALK that replicates the configuration


def failover_time(key: str) -> float:
    """Seconds of a failover timer or state (facts.yaml `failover`)."""
    return float(getattr(asa_data().failover, key))


class FailoverRules(PairBase):
    """The failover rules of a pair of two ASA units (the pair's commands are in failover.py)."""

    assess: Trigger
    mode: str
    groups: list[int]
    units: dict[str, AsaDevice]
    vpn_tunnels: int
    ipsec_stale: bool
    split: bool
    incompatible: bool
    disabled: set[str]                                 # units on which failover is disabled (versions apart)
    active_of: dict[int, str | None]                   # the unit holding each group (even while it is down)
    last_failover: dict[int, float | None]
    last_failure: dict[str, tuple[str, float] | None]
    takeovers: list[dict[str, Any]]                    # automatic role changes, for audits and tests
    members: dict[int, dict[str, FailoverUnit]]        # group -> unit name -> its failover state
    _busy: bool
    _again: bool

    # -- reading -----------------------------------------------------------------------------------
    def member(self, group: int, unit: AsaDevice) -> FailoverUnit:
        return self.members[group][unit.name]

    @property
    def state_of(self) -> dict[int, dict[str, str]]:
        """Group -> unit name -> the state `show failover` prints."""
        return {g: {name: m.shown for name, m in units.items()} for g, units in self.members.items()}

    @property
    def active_since(self) -> dict[int, dict[str, float | None]]:
        return {g: {name: m.active_since for name, m in units.items()} for g, units in self.members.items()}

    def group_config(self, group: int) -> dict[str, Any]:
        """A failover group's settings, from the configuration of the unit that holds the system space."""
        holder = self._holder(1) or self.primary
        groups = (holder.running.get("failover") or {}).get("groups") or {}
        return groups.get(str(group)) or {"unit": "primary" if group == 1 else "secondary", "preempt": None}

    def preferred(self, group: int) -> AsaDevice:
        """The unit a group is active on by default (`primary`/`secondary` under `failover group N`)."""
        if self.mode == "active-standby":
            return self.primary
        return self.units.get(self.group_config(group).get("unit", "primary"), self.primary)

    def preempt_delay(self, group: int) -> int | None:
        if self.mode == "active-standby":
            return None
        value = self.group_config(group).get("preempt")
        return None if value is None else int(value)

    @property
    def compatible(self) -> bool:
        """The two versions can run side by side (a zero-downtime step)."""
        return zero_downtime(self.primary.version, self.secondary.version).supported

    def may_take(self, taker: AsaDevice, holder: AsaDevice) -> bool:
        """May `taker` become active automatically in place of `holder`?"""
        if taker.version == holder.version:
            return True
        if asa_data().failover.auto_failover_mixed == "never":
            return False
        return zero_downtime(taker.version, holder.version).supported

    def is_active(self, unit: AsaDevice, group: int = 1) -> bool:
        return self.member(group, unit).state == "Active"

    def active_groups(self, unit: AsaDevice) -> list[int]:
        return [g for g in self.groups if self.is_active(unit, g)]

    def group_up(self, group: int) -> bool:
        return any(self.is_active(u, group) and self._ready(u) for u in self.units.values())

    def traffic_up(self) -> bool:
        """Every failover group has an active unit passing its traffic."""
        return all(self.group_up(g) for g in self.groups)

    @staticmethod
    def _ready(unit: AsaDevice) -> bool:
        return unit.state == "online"

    def _standby_ready(self, unit: AsaDevice) -> bool:
        return (self._ready(unit) and self.link_up and unit.name not in self.disabled
                and all(self.member(g, unit).state in ("Standby_Ready", "Active") for g in self.groups))

    def unit_changed(self) -> None:
        """A unit's failover state changed: what the lab's views read follows (the system space is group 1's)."""
        self.unit_state = {name: m.shown for name, m in self.members[1].items()}
        holder = self.active_of[1]
        self.active = holder if holder and self.members[1][holder].state == "Active" else None

    def _hold(self, group: int, name: str | None) -> None:
        self.active_of[group] = name
        self.unit_changed()

    # -- the pair's own state (PAIR's guards) -----------------------------------------------------------
    def both_active(self) -> bool:
        return any(all(m.state == "Active" for m in self.members[g].values()) for g in self.groups)

    def traffic_lost(self) -> bool:
        return not self.traffic_up()

    def versions_apart(self) -> bool:
        return self.incompatible

    def standby_ready(self) -> bool:
        return all(any(m.state == "Standby_Ready" for m in self.members[g].values()) for g in self.groups)

    def mixed_versions(self) -> bool:
        return bool(self.primary.version != self.secondary.version)

    def joining(self) -> bool:
        return any(m.state in JOINING for g in self.groups for m in self.members[g].values())

    # -- reconciling --------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event["kind"] != "state":
            return
        unit = self.unit(event["device"])
        if event["state"] == "reloading":
            self._graceful_handover(unit)
        self.reconcile()

    def _graceful_handover(self, unit: AsaDevice) -> None:
        """A unit being reloaded tells its mate, which takes its groups at once."""
        mate = self.peer_of(unit)
        for g in self.groups:
            if self.active_of[g] != unit.name or not self.is_active(unit, g):
                continue
            if (self.link_up and self._ready(mate) and self.member(g, mate).state == "Standby_Ready"
                    and mate.name not in self.disabled and self.may_take(mate, unit)):
                self._switch(g, mate, cause=f"mate {unit.name} reloading", automatic=True)

    def reconcile(self) -> None:
        """Bring group states and the pair state in line with the units."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        try:
            self._again = True
            rounds = 0
            while self._again and rounds < 10:
                self._again = False
                rounds += 1
                self._reconcile_once()
        finally:
            self._busy = False

    def _reconcile_once(self) -> None:
        units = list(self.units.values())
        ready = {u.name: self._ready(u) for u in units}
        for unit in units:
            if not ready[unit.name]:
                self._gone(unit)
        if all(ready.values()) and not self.link_up:
            self._split_brain()
            self.assess()
            return
        if self.split and self.link_up:
            self._link_back(ready)
        self._check_versions(ready)
        for g in self.groups:
            self._ensure_group(g, ready)
        for unit in units:
            self._maybe_join(unit, ready)
        self.assess()

    def _gone(self, unit: AsaDevice) -> None:
        """A unit that does not run: Not Detected, or Failed when it stopped in ROMMON."""
        self._cancel(unit.name)
        self.disabled.discard(unit.name)
        for g in self.groups:
            member = self.member(g, unit)
            if member.state == "Active":
                cause = "Comm Failure" if unit.state == "off" else "Reload"
                self.last_failure[unit.name] = (cause, self.ctx.clock.now())
            if unit.state == "rommon" and member.may_fail():
                member.fail()
            elif unit.state != "rommon" and member.may_lose():
                member.lose()

    def _split_brain(self) -> None:
        """Each unit sees its mate gone and goes active for every group."""
        if not self.split:
            self.split = True
            self._cancel_all()
            for unit in self.units.values():
                self.ctx.journal.emit(unit.name, "ha.split_brain", pair=self.name)
        for g in self.groups:
            for member in self.members[g].values():
                if member.may_go_active():
                    member.go_active()

    def _link_back(self, ready: dict[str, bool]) -> None:
        """The link is back: for each group the unit that held it keeps it, the other negotiates."""
        self.split = False
        for g in self.groups:
            keep = self.active_of[g] if self.active_of[g] and ready.get(self.active_of[g] or "") \
                else self.preferred(g).name
            self._hold(g, keep)
            for name, member in self.members[g].items():
                if name != keep and member.state == "Active":
                    member.negotiate()

    def _check_versions(self, ready: dict[str, bool]) -> None:
        """Two units up whose versions are no zero-downtime step apart: failover is
        off between them. A unit serving no group is Disabled (it never takes over,
        no switchover to it); no group has a standby."""
        incompatible = all(ready.values()) and self.link_up and not self.compatible
        if incompatible and not self.incompatible:
            self.incompatible = True
            serving = [u for u in self.units.values() if self.active_groups(u)]
            idle = [u for u in self.units.values() if u not in serving] if serving else [self.secondary]
            self.disabled = {u.name for u in idle}
            holder = serving[0] if serving else self.primary
            mate = self.peer_of(holder)
            text = say("console", "mate_incompatible", mate=mate.version, ours=holder.version,
                       disabled=mate.version).rstrip("\n")
            for unit in self.units.values():
                unit.console(text)
            self.ctx.journal.emit(None, "ha.incompatible", pair=self.name, primary=self.primary.version,
                                  secondary=self.secondary.version, disabled=sorted(self.disabled))
        elif not incompatible and self.incompatible:
            self.incompatible = False
            self.disabled.clear()
        if self.incompatible:
            for unit in self.units.values():
                self._cancel(unit.name)
                for g in self.groups:
                    member = self.member(g, unit)
                    if member.may_disable() and (unit.name in self.disabled
                                                 or self.active_of[g] not in (None, unit.name)):
                        member.disable()

    def _ensure_group(self, g: int, ready: dict[str, bool]) -> None:
        """Someone holds each group: its holder once back, else a mate after the hold time."""
        holder_name = self.active_of[g]
        if holder_name is not None and ready[holder_name]:
            holder = self.unit(holder_name)
            if not self.is_active(holder, g) and f"back:{g}" not in self._timers:
                # back from a reload and nobody took over: negotiate, then active again
                self._negotiate(g, holder)
                self._after(f"back:{g}", failover_time("negotiation"), self._back, g, holder)
            return
        if f"take:{g}" in self._timers:
            return
        candidates = [u for u in (self.preferred(g), *self.units.values())
                      if ready[u.name] and u.name != holder_name and u.name not in self.disabled]
        if not candidates:
            return
        taker = candidates[0]
        if holder_name is None:
            self._negotiate(g, taker)
            self._after(f"take:{g}", failover_time("negotiation"), self._claim, g, taker,
                        "no active mate found")
            return
        holder = self.unit(holder_name)
        if not self.may_take(taker, holder):
            return              # wait for the unit that holds the group to come back
        if self.link_up and self.member(g, taker).state == "Standby_Ready":
            self._after(f"take:{g}", failover_time("unit_hold"), self._claim, g, taker,
                        f"mate {holder.name} failed (hold time expired)")
        elif taker.name not in self._timers:        # (a join in flight reconciles when it stops)
            self._negotiate(g, taker)
            self._after(f"take:{g}", failover_time("unit_hold") + failover_time("negotiation"), self._claim, g,
                        taker, f"no active mate found ({holder.name} down)")

    def _negotiate(self, g: int, unit: AsaDevice) -> None:
        member = self.member(g, unit)
        if member.state != "Active" and member.may_negotiate():
            member.negotiate()

    def _back(self, g: int, unit: AsaDevice) -> None:
        self._timers.pop(f"back:{g}", None)
        member = self.member(g, unit)
        if self.active_of[g] == unit.name and self._ready(unit) and member.may_go_active():
            member.go_active()
        self.reconcile()

    def _holder(self, g: int) -> AsaDevice | None:
        name = self.active_of[g]
        return self.unit(name) if name else None

    def _claim(self, g: int, unit: AsaDevice, cause: str) -> None:
        self._timers.pop(f"take:{g}", None)
        holder = self._holder(g)
        replacing = holder is not None and holder is not unit
        if not self._ready(unit) or (holder is not None and replacing and
                                     (self._ready(holder) or not self.may_take(unit, holder))):
            self.reconcile()
            return
        member = self.member(g, unit)
        fire = member.take_over if replacing and member.state == "Standby_Ready" else member.go_active
        self._make_active(g, unit, cause, fire, automatic=replacing)
        self.reconcile()

    # -- joining ------------------------------------------------------------------------------------
    def _maybe_join(self, unit: AsaDevice, ready: dict[str, bool]) -> None:
        """A unit up while its mate serves joins: Negotiation ... Standby Ready."""
        mate = self.peer_of(unit)
        if (not ready[unit.name] or not ready[mate.name] or not self.link_up or self.incompatible
                or unit.name in self._timers or not self.active_groups(mate)):
            return
        waiting = [g for g in self.groups if not self.is_active(unit, g) and self.active_of[g] == mate.name]
        if not any(self.member(g, unit).state in ("Not_Detected", "Failed", "Disabled", "Negotiation")
                   for g in waiting):
            return
        for g in self.groups:
            self._negotiate(g, unit)
        self._after(unit.name, failover_time("negotiation"), self._walk, unit, mate, 0, True)

    def _walk(self, unit: AsaDevice, mate: AsaDevice, step: int, joined: bool) -> None:
        """One step of the join (WALK): every group of `unit` that is not active moves on
        (`joined`: after a boot, not a resync)."""
        self._timers.pop(unit.name, None)
        if (not self._ready(unit) or not self._ready(mate) or not self.link_up or unit.name in self.disabled
                or not self.active_groups(mate)):
            self.reconcile()
            return
        trigger, holds = WALK[step]
        if step == 0 and unit.version != mate.version:
            mate.console(say("console", "mate_version", mate=unit.version, ours=mate.version).rstrip("\n"))
            unit.console(say("console", "mate_version", mate=mate.version, ours=unit.version).rstrip("\n"))
        if step == SYNC_CONFIG:
            self._replicate(mate, unit)
        for g in self.groups:
            member = self.member(g, unit)
            if getattr(member, f"may_{trigger}")():
                getattr(member, trigger)()
        if holds:
            self._after(unit.name, failover_time(holds), self._walk, unit, mate, step + 1, joined)
            return
        self._standby_ready_now(unit, mate, joined)

    def _standby_ready_now(self, unit: AsaDevice, mate: AsaDevice, joined: bool) -> None:
        if joined and unit.version != mate.version and self.vpn_tunnels:
            self._stale_ipsec()         # it lost its IPsec tunnels at its reload (seed 003)
        elif unit.version == mate.version and self.ipsec_stale:
            self.ipsec_stale = False
            self._cancel("vpn")
        self._schedule_preempt(unit)
        self.assess()

    def _replicate(self, source: AsaDevice, target: AsaDevice) -> None:
        """Sync Config: the active unit sends its whole configuration."""
        source.console(say("console", "replication_begin"))
        target.console(say("console", "replication_from_mate"))
        self._copy_config(source, target)
        source.console(say("console", "replication_end"))
        target.console(say("console", "replication_from_mate_end"))

    def _schedule_preempt(self, unit: AsaDevice) -> None:
        for g in self.groups:
            delay = self.preempt_delay(g)
            if delay is None or self.preferred(g) is not unit or self.member(g, unit).state != "Standby_Ready":
                continue
            self._after(f"preempt:{g}", float(delay), self._preempt, g, unit)

    def _preempt(self, g: int, unit: AsaDevice) -> None:
        self._timers.pop(f"preempt:{g}", None)
        holder = self._holder(g)
        if (holder is None or holder is unit or not self._ready(holder) or not self.link_up
                or self.member(g, unit).state != "Standby_Ready" or not self.may_take(unit, holder)):
            return
        self._switch(g, unit, cause=f"preempt (group {g})", automatic=True)
        self.reconcile()

    # -- IPsec data on a standby of another version (seed 003) ------------------------------------------
    def _stale_ipsec(self) -> None:
        """The standby came back with another version: its IPsec tunnels are gone and the
        active unit cannot update their runtime data (%ASA-5-720012) until `write standby`."""
        self.ipsec_stale = True
        self.ctx.journal.emit(None, "ha.ipsec_stale", pair=self.name)
        self._vpn_tick()

    def _vpn_tick(self) -> None:
        self._timers.pop("vpn", None)
        active = self.unit(self.active) if self.active else None
        if not self.ipsec_stale or active is None:
            return
        mate = self.peer_of(active)
        if self._standby_ready(mate) and mate.version != active.version:
            active.log(say("syslog", "720012", role=self.role_of(active)))
        self._after("vpn", failover_time("vpn_update_interval"), self._vpn_tick)

    # -- role changes ----------------------------------------------------------------------------------
    def _switch(self, g: int, to: AsaDevice, cause: str, automatic: bool = False) -> None:
        """A stateful role change for a group: `to` active, the other unit Standby Ready."""
        frm = self.peer_of(to)
        self._cancel(f"take:{g}")
        self._cancel(f"preempt:{g}")
        member = self.member(g, to)
        if not self._make_active(g, to, cause, member.take_over if automatic else member.switch_active, automatic):
            return
        leaving = self.member(g, frm)
        if self._ready(frm) and leaving.may_switch_standby():
            leaving.switch_standby()

    def _make_active(self, g: int, unit: AsaDevice, cause: str, fire: Callable[[], bool],
                     automatic: bool = False) -> bool:
        """`unit` becomes active for group `g` (`fire`: the transition that makes it so;
        False when its guard says no)."""
        previous = self.active_of[g]
        self.active_of[g] = unit.name
        if not self.is_active(unit, g):
            if not fire():
                self._hold(g, previous)
                return False
            unit.console(say("console", "switching_active"))
        self._hold(g, unit.name)
        if previous is None or previous == unit.name:
            return True
        old = self.unit(previous)
        self.failovers += 1
        self.last_failover[g] = self.ctx.clock.now()
        if self._ready(old):
            old.console(say("console", "switching_standby"))
        self.ctx.journal.emit(unit.name, "ha.failover", pair=self.name, group=g, previous=previous,
                              cause=cause, automatic=automatic)
        if automatic:
            self.takeovers.append({"group": g, "to": unit.name, "from": previous, "to_version": unit.version,
                                   "from_version": old.version, "cause": cause,
                                   "at": round(self.ctx.clock.now(), 3)})
        return True

    def _copy_config(self, source: AsaDevice, target: AsaDevice, quiet: bool = False) -> None:
        """Replicate the configuration; each unit keeps its own `failover lan unit`."""
        own = (target.running.get("failover") or {}).get("unit")
        target.running = clone(source.running)
        if target.running.get("failover") and own:
            target.running["failover"]["unit"] = own
        self.ctx.journal.emit(target.name, "ha.config_sync", pair=self.name, source=source.name,
                              replicated=quiet)
        self._set_config_status("IN_SYNC")

    def _set_config_status(self, status: str) -> None:
        if self.config_status != status:
            self.config_status = status
            self.ctx.journal.emit(None, "ha.config", pair=self.name, status=status)

    def _restore_states(self, saved: dict[str, Any]) -> None:
        """Failover states from a snapshot; a join or a disabled unit starts over from Negotiation."""
        for g in self.groups:
            for name, text in saved.get(str(g), {}).items():
                state = state_id(text)
                UNIT_MACHINE.set_state("Negotiation" if state in (*JOINING, "Disabled") else state,
                                       model=self.members[g][name])


PAIR_MACHINE.bind(FailoverRules)

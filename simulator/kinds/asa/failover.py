"""An ASA failover pair: Active/Standby (one failover group, the whole unit)
or Active/Active (failover groups 1 and 2, each active on one unit).

The pair watches its two AsaDevice units through the journal and keeps, per
failover group and unit, the state `show failover` prints (Active, Standby
Ready, Negotiation, Sync Config, Bulk Sync, Disabled, Failed, Not Detected).
Rules (seeds 002 and 003, the ASA configuration guide):
- a unit that comes up while its mate is active negotiates, takes the active
  unit's configuration (Sync Config: "Beginning configuration replication:
  Sending to mate."), bulk-syncs state and becomes Standby Ready;
- the two units may run different versions when the difference is a
  zero-downtime step (maintenance any to any within a minor; the next minor;
  the next major from the last minor of the previous one): failover keeps
  working and the active unit warns "Mate version X is not identical with ours
  Y". Otherwise the joining unit stays Disabled: no standby, no switchover;
- `no failover active` / `failover active [group N]` switch roles statefully
  (no traffic lost); `failover reload-standby` reloads the mate; a unit being
  reloaded hands its groups to a Standby Ready mate at once; a unit that dies
  is replaced after the unit hold time (traffic is lost meanwhile);
- automatic takeover only to a mate allowed by `failover.auto_failover_mixed`
  (asa.yaml): same version, or (default) a zero-downtime compatible one;
- Active/Active groups with `preempt [delay]` go back to their unit once it is
  Standby Ready again, after the delay;
- configuration entered on the active unit (group 1's, the system execution
  space) is replicated to a Standby Ready mate; `write memory` there is saved
  on the mate too; `write standby` resends the whole configuration and
  refreshes the mate's IPsec data (clearing %ASA-5-720012, seed 003);
- a cut failover link with both units up makes both active (split brain).

No I/O: surfaces read the pair and call its actions."""

from __future__ import annotations

from typing import Any

from transitions import Machine

from simulator.clock import Timer
from simulator.journal import Event
from simulator.kinds.asa.model import (
    AsaDevice,
    asa_data,
    clone,
    say,
    zero_downtime,
    zero_downtime_warning,
)
from simulator.kinds.base import Refused
from simulator.kinds.failover import PairBase

PAIR_STATES = ["forming", "healthy", "mixed", "degraded", "incompatible", "split_brain", "down"]
JOINING = ("Negotiation", "Sync Config", "Bulk Sync")
MODES = ("active-standby", "active-active")


def _timing(key: str) -> float:
    return float(asa_data().failover[key])


class AsaFailoverPair(PairBase):
    """Two ASA units, primary and secondary, in one failover pair."""

    machine = Machine(model=None, states=PAIR_STATES, initial=None, auto_transitions=True,
                      after_state_change="_state_changed")

    def __init__(self, name: str, primary: AsaDevice, secondary: AsaDevice, *, mode: str = "active-standby",
                 groups: dict[int, dict[str, Any]] | None = None, vpn_tunnels: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f"failover mode must be one of {', '.join(MODES)}, not {mode!r}")
        if primary.model != secondary.model:
            raise ValueError(f"failover pair {name}: both units must be the same model "
                             f"({primary.model} and {secondary.model})")
        self.name = name
        self.mode = mode
        self.groups = [1] if mode == "active-standby" else [1, 2]
        self.units = {"primary": primary, "secondary": secondary}
        self.ctx = primary.ctx
        self.link_up = True
        self.vpn_tunnels = vpn_tunnels
        self.ipsec_stale = False
        self.config_status = "IN_SYNC"
        self.split = False
        self.incompatible = False
        self.disabled: set[str] = set()
        self.state_of: dict[int, dict[str, str]] = {g: {u.name: "Not Detected" for u in self.units.values()}
                                                    for g in self.groups}
        self.active_of: dict[int, str | None] = {g: None for g in self.groups}
        self.active_since: dict[int, dict[str, float | None]] = {g: {u.name: None for u in self.units.values()}
                                                                 for g in self.groups}
        self.last_failover: dict[int, float | None] = {g: None for g in self.groups}   # None: never failed over
        self.last_failure: dict[str, tuple[str, float] | None] = {u.name: None for u in self.units.values()}
        self.failovers = 0
        self.takeovers: list[dict[str, Any]] = []       # automatic role changes, for audits and tests
        # what the FTD HA pair offers, for the lab's generic views
        self.suspended = False
        self.post_upgrade: set[str] = set()
        self.broken = False
        self._timers: dict[str, Timer] = {}
        self._busy = False
        self._again = False
        for role, unit in self.units.items():
            unit.ha = self
            self._configure_unit(unit, role, groups or {})
        self.machine.add_model(self, initial="forming")
        self._unsubscribe = [self.ctx.journal.subscribe(self._on_event, device=u.name)
                             for u in self.units.values()]
        if all(self._ready(u) for u in self.units.values()):
            # A configured pair found running: each group active on its unit, the mate standby.
            now = self.ctx.clock.now()
            for g in self.groups:
                home = self.preferred(g)
                self.active_of[g] = home.name
                self.active_since[g][home.name] = now
                self.state_of[g] = {u.name: "Active" if u is home else "Standby Ready" for u in self.units.values()}
        self.reconcile()

    def _configure_unit(self, unit: AsaDevice, role: str, groups: dict[int, dict[str, Any]]) -> None:
        """The failover commands of each unit's configuration (kept if already there)."""
        data = asa_data().failover
        if unit.running.get("failover"):
            return
        cfg: dict[str, Any] = {
            "enabled": True, "unit": role, "mode": self.mode, "lan_name": data["link_name"],
            "lan_interface": unit.info.failover_interface,
            "ip": [data["addresses"]["failover"][0], "255.255.255.252", data["addresses"]["failover"][1]],
            "groups": {}}
        if self.mode == "active-active":
            for g in self.groups:
                given = groups.get(g, {})
                cfg["groups"][str(g)] = {"unit": given.get("unit", "primary" if g == 1 else "secondary"),
                                         "preempt": given.get("preempt")}
        unit.running["failover"] = cfg
        unit.startup["failover"] = clone(cfg)

    # -- reading ---------------------------------------------------------------------------------
    def group_config(self, group: int) -> dict[str, Any]:
        """A failover group's settings, from the configuration of the unit that holds the system space."""
        holder = self.unit(self.active_of[1]) if self.active_of[1] else self.primary
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
    def mixed_versions(self) -> bool:
        return self.primary.version != self.secondary.version

    @property
    def compatible(self) -> bool:
        """The two versions can run side by side (a zero-downtime step)."""
        return zero_downtime(self.primary.version, self.secondary.version).supported

    def may_take(self, taker: AsaDevice, holder: AsaDevice) -> bool:
        """May `taker` become active automatically in place of `holder`?"""
        if taker.version == holder.version:
            return True
        if asa_data().failover.get("auto_failover_mixed", "compatible") == "never":
            return False
        return zero_downtime(taker.version, holder.version).supported

    def is_active(self, unit: AsaDevice, group: int = 1) -> bool:
        return self.state_of[group][unit.name] == "Active"

    def active_groups(self, unit: AsaDevice) -> list[int]:
        return [g for g in self.groups if self.state_of[g][unit.name] == "Active"]

    def carries(self, unit_name: str) -> bool:
        """Does this unit carry (some of) the pair's traffic now?"""
        unit = self.unit(unit_name)
        return self._ready(unit) and any(self.state_of[g][unit_name] == "Active" for g in self.groups)

    def group_up(self, group: int) -> bool:
        return any(self.state_of[group][u.name] == "Active" and self._ready(u) for u in self.units.values())

    def traffic_up(self) -> bool:
        """Every failover group has an active unit passing its traffic."""
        return all(self.group_up(g) for g in self.groups)

    # what the lab's generic views read (the system execution space follows group 1)
    @property
    def unit_state(self) -> dict[str, str]:
        return dict(self.state_of[1])

    @property
    def active(self) -> str | None:
        name = self.active_of[1]
        return name if name and self.state_of[1][name] == "Active" else None

    def unit_entry(self, unit: AsaDevice) -> dict[str, Any] | None:
        entry = super().unit_entry(unit)
        if entry is not None and self.mode == "active-active":
            entry["groups"] = {g: states[unit.name] for g, states in self.state_of.items()}
        return entry

    @property
    def active_unit(self) -> AsaDevice | None:
        return self.unit(self.active) if self.active else None

    def is_standby(self, unit: AsaDevice) -> bool:
        """The unit where configuration is not replicated from (not active for group 1)."""
        return not self.is_active(unit, 1)

    def as_seen_by(self, unit: AsaDevice, group: int, other: AsaDevice) -> str:
        """`other`'s state for `group` as `unit` reports it (a cut link hides the mate)."""
        if other is not unit and not self.link_up:
            return "Failed"
        return self.state_of[group][other.name]

    # -- actions (the CLI of a unit calls them) ----------------------------------------------------
    def _require_link(self, unit: AsaDevice) -> AsaDevice:
        mate = self.peer_of(unit)
        if not self.link_up:
            raise Refused("link_down", say("refuse", "link_down"))
        return mate

    def _check_groups(self, group: int | None) -> list[int]:
        if group is None:
            return list(self.groups)
        if self.mode == "active-standby":
            raise Refused("group_mode", say("refuse", "group_mode"))
        if group not in self.groups:
            raise Refused("no_group", say("refuse", "no_group", group=group))
        return [group]

    def failover_active(self, unit: AsaDevice, group: int | None = None) -> list[int]:
        """`failover active [group N]` on `unit`: make it active (for the group, or all groups).
        Returns the groups that changed."""
        groups = self._check_groups(group)
        mate = self.peer_of(unit)
        changed = []
        for g in groups:
            if self.state_of[g][unit.name] == "Active":
                continue
            holder = self.active_of[g]
            if holder is not None and holder != unit.name and self._ready(mate) and self.link_up:
                if unit.name in self.disabled or not self.compatible:
                    raise Refused("mate_incompatible", say("refuse", "mate_incompatible",
                                                           mate=unit.version, ours=mate.version))
                if self.state_of[g][unit.name] != "Standby Ready":
                    raise Refused("not_ready", say("refuse", "mate_not_ready", state=self.state_of[g][unit.name]))
                self._switch(g, unit, cause="failover active")
            else:
                self._cancel(f"take:{g}")
                self._make_active(g, unit, cause="failover active")
            changed.append(g)
        self.reconcile()
        return changed

    def no_failover_active(self, unit: AsaDevice, group: int | None = None) -> list[int]:
        """`no failover active [group N]` on `unit`: hand its active groups to the mate."""
        groups = self._check_groups(group)
        mine = [g for g in groups if self.state_of[g][unit.name] == "Active"]
        if not mine:
            if group is not None:
                raise Refused("not_active_group", say("refuse", "not_active_group", group=group))
            return []
        mate = self._require_link(unit)
        if not self._ready(mate):
            raise Refused("mate_absent", say("refuse", "mate_absent"))
        if mate.name in self.disabled or not self.compatible:
            raise Refused("mate_incompatible", say("refuse", "mate_incompatible", mate=mate.version,
                                                   ours=unit.version))
        for g in mine:
            if self.state_of[g][mate.name] != "Standby Ready":
                raise Refused("mate_not_ready", say("refuse", "mate_not_ready", state=self.state_of[g][mate.name]))
        for g in mine:
            self._switch(g, mate, cause="no failover active")
        self.reconcile()
        return mine

    def reload_standby(self, unit: AsaDevice) -> str | None:
        """`failover reload-standby` on `unit`: reload the mate. Returns the
        warning to print when the mate will come back with a version that is not
        a zero-downtime step from ours."""
        if self.mode == "active-standby" and not self.is_active(unit):
            raise Refused("not_active", say("refuse", "not_active"))
        mate = self._require_link(unit)
        if not self._ready(mate):
            raise Refused("mate_absent", say("refuse", "mate_absent"))
        nxt = mate.next_version()
        warning = zero_downtime_warning(unit.version, nxt) if nxt else None
        self.ctx.journal.emit(unit.name, "ha.reload_standby", pair=self.name, mate=mate.name, next=nxt)
        mate.reload(cause="failover reload-standby")
        return warning

    def write_standby(self, unit: AsaDevice) -> None:
        """`write standby` on the active unit: send the whole configuration to the mate."""
        if not self.is_active(unit):
            raise Refused("not_active", say("refuse", "not_active"))
        mate = self._require_link(unit)
        if not self._ready(mate) or mate.name in self.disabled:
            raise Refused("mate_absent", say("refuse", "mate_absent"))
        unit.console(say("console", "replication_begin"))
        mate.console(say("console", "replication_from_mate"))
        self._copy_config(unit, mate)
        if self.ipsec_stale:
            self.ipsec_stale = False
            self._cancel("vpn")
            self.ctx.journal.emit(None, "ha.ipsec_sync", pair=self.name, unit=unit.name)
        unit.console(say("console", "replication_end"))
        mate.console(say("console", "replication_from_mate_end"))

    def config_changed(self, unit: AsaDevice) -> None:
        """A configuration command on `unit`: replicated when it is the active unit."""
        mate = self.peer_of(unit)
        if self.is_active(unit) and not self.split:
            if self._standby_ready(mate):
                self._copy_config(unit, mate, quiet=True)
            elif self._ready(mate) or self.config_status != "IN_SYNC":
                self._set_config_status("OUT_OF_SYNC")
        else:
            self._set_config_status("OUT_OF_SYNC")

    def memory_written(self, unit: AsaDevice) -> None:
        """`write memory` on the active unit is replicated: the mate saves its configuration too."""
        mate = self.peer_of(unit)
        if self.is_active(unit) and self._standby_ready(mate):
            mate.startup = clone(mate.running)
            self.ctx.journal.emit(mate.name, "config.saved", replicated_from=unit.name)

    # -- the rules ------------------------------------------------------------------------------------
    @staticmethod
    def _ready(unit: AsaDevice) -> bool:
        return unit.state == "online"

    def _standby_ready(self, unit: AsaDevice) -> bool:
        return (self._ready(unit) and self.link_up and unit.name not in self.disabled
                and all(self.state_of[g][unit.name] in ("Standby Ready", "Active") for g in self.groups))

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
            if self.active_of[g] != unit.name or self.state_of[g][unit.name] != "Active":
                continue
            if (self.link_up and self._ready(mate) and self.state_of[g][mate.name] == "Standby Ready"
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
        now = self.ctx.clock.now()
        for unit in units:
            if ready[unit.name]:
                continue
            self._cancel(unit.name)
            self.disabled.discard(unit.name)
            for g in self.groups:
                if self.state_of[g][unit.name] == "Active":
                    self.last_failure[unit.name] = ("Comm Failure" if unit.state == "off" else "Reload", now)
                self._set(g, unit, "Failed" if unit.state == "rommon" else "Not Detected")
        # Split brain: each unit sees its mate gone and goes active for every group.
        if all(ready.values()) and not self.link_up:
            if not self.split:
                self.split = True
                self._cancel_all()
                for unit in units:
                    self.ctx.journal.emit(unit.name, "ha.split_brain", pair=self.name)
            for g in self.groups:
                for unit in units:
                    if self.state_of[g][unit.name] != "Active":
                        self._set(g, unit, "Active")
                        self.active_since[g][unit.name] = now
            self._update_pair_state()
            return
        if self.split and self.link_up:
            # The link is back: for each group the unit that held it keeps it, the other yields.
            self.split = False
            for g in self.groups:
                keep = self.active_of[g] if self.active_of[g] and ready.get(self.active_of[g] or "") \
                    else self.preferred(g).name
                self.active_of[g] = keep
                for unit in units:
                    if unit.name != keep and self.state_of[g][unit.name] == "Active":
                        self._set(g, unit, "Negotiation")
        self._check_versions(ready)
        for g in self.groups:
            self._ensure_group(g, ready)
        for unit in units:
            self._maybe_join(unit, ready)
        self._update_pair_state()

    def _check_versions(self, ready: dict[str, bool]) -> None:
        """Two units up whose versions are no zero-downtime step apart: failover is
        off between them. A unit serving no group is Disabled (it never takes over,
        no switchover to it); no group has a standby."""
        both = all(ready.values()) and self.link_up
        incompatible = both and not self.compatible
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
                    if self.state_of[g][unit.name] != "Active" and (unit.name in self.disabled
                                                                     or self.active_of[g] not in (None, unit.name)):
                        self._set(g, unit, "Disabled")

    def _ensure_group(self, g: int, ready: dict[str, bool]) -> None:
        holder_name = self.active_of[g]
        if holder_name is not None and ready[holder_name]:
            holder = self.unit(holder_name)
            if self.state_of[g][holder_name] != "Active" and f"back:{g}" not in self._timers:
                # back from a reload and nobody took over: negotiate, then active again
                self._set(g, holder, "Negotiation")
                self._after(f"back:{g}", _timing("negotiation"), self._back, g, holder)
            return
        if f"take:{g}" in self._timers:
            return
        candidates = [u for u in (self.preferred(g), *self.units.values())
                      if ready[u.name] and u.name != holder_name and u.name not in self.disabled]
        if not candidates:
            return
        taker = candidates[0]
        if holder_name is None:
            if self.state_of[g][taker.name] != "Active":
                self._set(g, taker, "Negotiation")
            self._after(f"take:{g}", _timing("negotiation"), self._claim, g, taker, "no active mate found")
            return
        holder = self.unit(holder_name)
        if not self.may_take(taker, holder):
            return              # wait for the unit that holds the group to come back
        if self.link_up and self.state_of[g][taker.name] == "Standby Ready":
            self._after(f"take:{g}", _timing("unit_hold"), self._claim, g, taker,
                        f"mate {holder.name} failed (hold time expired)")
        elif taker.name not in self._timers:        # (a join in flight reconciles when it stops)
            self._set(g, taker, "Negotiation")
            self._after(f"take:{g}", _timing("unit_hold") + _timing("negotiation"), self._claim, g, taker,
                        f"no active mate found ({holder.name} down)")

    def _back(self, g: int, unit: AsaDevice) -> None:
        self._timers.pop(f"back:{g}", None)
        if self.active_of[g] == unit.name and self._ready(unit) and self.state_of[g][unit.name] != "Active":
            self._set(g, unit, "Active")
            self.active_since[g][unit.name] = self.ctx.clock.now()
        self.reconcile()

    def _claim(self, g: int, unit: AsaDevice, cause: str) -> None:
        self._timers.pop(f"take:{g}", None)
        holder = self.unit(self.active_of[g]) if self.active_of[g] else None
        if not self._ready(unit) or (holder is not None and holder is not unit and self._ready(holder)):
            self.reconcile()
            return
        if holder is not None and holder is not unit and not self.may_take(unit, holder):
            self.reconcile()
            return
        self._make_active(g, unit, cause=cause, automatic=holder is not None and holder is not unit)
        self.reconcile()

    def _maybe_join(self, unit: AsaDevice, ready: dict[str, bool]) -> None:
        """A unit up while its mate serves: Negotiation -> Sync Config -> Bulk Sync -> Standby Ready."""
        mate = self.peer_of(unit)
        if (not ready[unit.name] or not ready[mate.name] or not self.link_up or self.incompatible
                or unit.name in self._timers or not self.active_groups(mate)):
            return
        waiting = [g for g in self.groups if self.state_of[g][unit.name] != "Active"
                   and self.active_of[g] == mate.name]
        if not any(self.state_of[g][unit.name] in ("Not Detected", "Failed", "Disabled", "Negotiation")
                   for g in waiting):
            return
        self._join(unit, mate)

    def _join(self, unit: AsaDevice, mate: AsaDevice) -> None:
        steps = [("Negotiation", _timing("negotiation")), ("Sync Config", _timing("sync_config")),
                 ("Bulk Sync", _timing("bulk_sync"))]

        def groups() -> list[int]:
            return [g for g in self.groups if self.state_of[g][unit.name] != "Active"]

        def step(index: int) -> None:
            self._timers.pop(unit.name, None)
            if (not self._ready(unit) or not self._ready(mate) or not self.link_up or unit.name in self.disabled
                    or not self.active_groups(mate)):
                self.reconcile()
                return
            if index == 1 and unit.version != mate.version:
                mate.console(say("console", "mate_version", mate=unit.version, ours=mate.version).rstrip("\n"))
                unit.console(say("console", "mate_version", mate=mate.version, ours=unit.version).rstrip("\n"))
            if index == len(steps):
                for g in groups():
                    self._set(g, unit, "Standby Ready")
                if unit.version != mate.version and self.vpn_tunnels:
                    self._stale_ipsec()
                elif unit.version == mate.version and self.ipsec_stale:
                    self.ipsec_stale = False
                    self._cancel("vpn")
                self._schedule_preempt(unit)
                self._update_pair_state()
                return
            name, seconds = steps[index]
            if name == "Sync Config":
                mate.console(say("console", "replication_begin"))
                self._copy_config(mate, unit)
                mate.console(say("console", "replication_end"))
            for g in groups():
                self._set(g, unit, name)
            self._after(unit.name, seconds, step, index + 1)

        step(0)

    def _schedule_preempt(self, unit: AsaDevice) -> None:
        for g in self.groups:
            delay = self.preempt_delay(g)
            if delay is None or self.preferred(g) is not unit or self.state_of[g][unit.name] != "Standby Ready":
                continue
            self._after(f"preempt:{g}", float(delay), self._preempt, g, unit)

    def _preempt(self, g: int, unit: AsaDevice) -> None:
        self._timers.pop(f"preempt:{g}", None)
        holder = self.unit(self.active_of[g]) if self.active_of[g] else None
        if (holder is None or holder is unit or not self._ready(holder) or not self.link_up
                or self.state_of[g][unit.name] != "Standby Ready" or not self.may_take(unit, holder)):
            return
        self._switch(g, unit, cause=f"preempt (group {g})", automatic=True)
        self.reconcile()

    def _stale_ipsec(self) -> None:
        """The standby came back with another version: its IPsec tunnels are gone and the
        active unit cannot update their runtime data (%ASA-5-720012) until `write standby`."""
        self.ipsec_stale = True
        self.ctx.journal.emit(None, "ha.ipsec_stale", pair=self.name)
        self._vpn_tick()

    def _vpn_tick(self) -> None:
        self._timers.pop("vpn", None)
        active = self.active_unit
        if not self.ipsec_stale or active is None:
            return
        mate = self.peer_of(active)
        if self._standby_ready(mate) and mate.version != active.version:
            active.log(say("syslog", "720012", role=self.role_of(active)))
        self._after("vpn", _timing("vpn_update_interval"), self._vpn_tick)

    def _switch(self, g: int, to: AsaDevice, cause: str, automatic: bool = False) -> None:
        """A stateful role change for a group: `to` active, the other unit Standby Ready."""
        frm = self.peer_of(to)
        self._cancel(f"take:{g}")
        self._cancel(f"preempt:{g}")
        self._make_active(g, to, cause=cause, automatic=automatic)
        if self._ready(frm):
            self._set(g, frm, "Standby Ready")

    def _make_active(self, g: int, unit: AsaDevice, cause: str, automatic: bool = False) -> None:
        previous = self.active_of[g]
        self.active_of[g] = unit.name
        was = self.state_of[g][unit.name]
        if was != "Active":
            self.active_since[g][unit.name] = self.ctx.clock.now()
            self._set(g, unit, "Active")
            unit.console(say("console", "switching_active"))
        if previous is not None and previous != unit.name:
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

    def _copy_config(self, source: AsaDevice, target: AsaDevice, quiet: bool = False) -> None:
        """Replicate the configuration; each unit keeps its own `failover lan unit`."""
        own = (target.running.get("failover") or {}).get("unit")
        target.running = clone(source.running)
        if target.running.get("failover") and own:
            target.running["failover"]["unit"] = own
        self.ctx.journal.emit(target.name, "ha.config_sync", pair=self.name, source=source.name,
                              replicated=quiet)
        self._set_config_status("IN_SYNC")

    def _set(self, g: int, unit: AsaDevice, state: str) -> None:
        if self.state_of[g][unit.name] == state:
            return
        if state != "Active" and self.state_of[g][unit.name] == "Active":
            self.active_since[g][unit.name] = None
        self.state_of[g][unit.name] = state
        self.ctx.journal.emit(unit.name, "ha.unit", pair=self.name, group=g, role=self.role_of(unit), state=state)

    def _set_config_status(self, status: str) -> None:
        if self.config_status != status:
            self.config_status = status
            self.ctx.journal.emit(None, "ha.config", pair=self.name, status=status)

    def _update_pair_state(self) -> None:
        units = list(self.units.values())
        if any(all(self.state_of[g][u.name] == "Active" for u in units) for g in self.groups):
            target = "split_brain"
        elif not self.traffic_up():
            target = "down"
        elif self.incompatible:
            target = "incompatible"
        elif all(any(self.state_of[g][u.name] == "Standby Ready" for u in units) for g in self.groups):
            target = "mixed" if self.mixed_versions else "healthy"
        elif any(s in JOINING for g in self.groups for s in self.state_of[g].values()):
            target = "forming"
        else:
            target = "degraded"
        if self.state != target:
            getattr(self, f"to_{target}")()

    # -- helpers ---------------------------------------------------------------------------------------
    def close(self) -> None:
        self._cancel_all()
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    # -- persistence -----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "mode": self.mode, "link_up": self.link_up,
                "state_of": {str(g): s for g, s in self.state_of.items()},
                "active_of": {str(g): a for g, a in self.active_of.items()},
                "last_failover": {str(g): t for g, t in self.last_failover.items()},
                "failovers": self.failovers, "ipsec_stale": self.ipsec_stale, "config_status": self.config_status,
                "vpn_tunnels": self.vpn_tunnels, "takeovers": self.takeovers}

    def restore(self, data: dict[str, Any]) -> None:
        self.link_up = data["link_up"]
        for g in self.groups:
            self.state_of[g].update(data["state_of"].get(str(g), {}))
            self.active_of[g] = data["active_of"].get(str(g))
            self.last_failover[g] = data["last_failover"].get(str(g))
            for name, state in self.state_of[g].items():
                if state in JOINING or state == "Disabled":
                    self.state_of[g][name] = "Negotiation"
        self.failovers = data.get("failovers", 0)
        self.ipsec_stale = data.get("ipsec_stale", False)
        self.config_status = data.get("config_status", "IN_SYNC")
        self.takeovers = data.get("takeovers", [])
        self.reconcile()
        if self.ipsec_stale:
            self._vpn_tick()

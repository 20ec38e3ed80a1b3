"""An ASA failover pair: Active/Standby (one failover group, the whole unit)
or Active/Active (failover groups 1 and 2, each active on one unit).

Each unit has, per failover group, a `FailoverUnit` whose state is what
`show failover` prints (failover_unit.py, the `UNIT` table); the rules that
move them on their own are failover_rules.py. Here: the pair's commands, as
a unit's CLI calls them (seed 003, the ASA configuration guide):
- `no failover active` / `failover active [group N]` switch roles statefully
  (no traffic lost); `failover reload-standby` reloads the mate;
- configuration entered on the active unit (group 1's, the system execution
  space) is replicated to a Standby Ready mate; `write memory` there is saved
  on the mate too; `write standby` resends the whole configuration (the
  standby syncs again from Cold Standby) and refreshes the mate's IPsec data
  (clearing %ASA-5-720012, seed 003).

No I/O: surfaces read the pair and call its actions."""

from __future__ import annotations

from typing import Any

from simulator.clock import Timer
from simulator.kinds.asa.facts import asa_data, say
from simulator.kinds.asa.failover_rules import (
    PAIR_MACHINE,
    SYNC_CONFIG,
    FailoverRules,
    failover_time,
)
from simulator.kinds.asa.failover_unit import FailoverUnit
from simulator.kinds.asa.model import AsaDevice, clone
from simulator.kinds.asa.versions import zero_downtime_warning
from simulator.kinds.base import Refused

MODES = ("active-standby", "active-active")


class AsaFailoverPair(FailoverRules):
    """Two ASA units, primary and secondary, in one failover pair."""

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
        self.disabled = set()
        self.active_of = {g: None for g in self.groups}
        self.last_failover = {g: None for g in self.groups}       # None: never failed over
        self.last_failure = {u.name: None for u in self.units.values()}
        self.failovers = 0
        self.takeovers = []
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
        self.members = self._members()
        PAIR_MACHINE.add_model(self, initial="forming")
        self.unit_changed()
        self._unsubscribe = [self.ctx.journal.subscribe(self._on_event, device=u.name)
                             for u in self.units.values()]
        self.reconcile()

    def _members(self) -> dict[int, dict[str, FailoverUnit]]:
        """Every unit's failover state per group; a configured pair found running has
        each group active on its unit and the mate standby."""
        running = all(self._ready(u) for u in self.units.values())
        members: dict[int, dict[str, FailoverUnit]] = {}
        for g in self.groups:
            home = self.preferred(g) if running else None
            members[g] = {u.name: FailoverUnit(self, g, u, "Not_Detected" if home is None
                                               else "Active" if u is home else "Standby_Ready")
                          for u in self.units.values()}
            self.active_of[g] = home.name if home else None
        return members

    def _configure_unit(self, unit: AsaDevice, role: str, groups: dict[int, dict[str, Any]]) -> None:
        """The failover commands of each unit's configuration (kept if already there)."""
        data = asa_data().failover
        if unit.running.get("failover"):
            return
        cfg: dict[str, Any] = {
            "enabled": True, "unit": role, "mode": self.mode, "lan_name": data.link_name,
            "lan_interface": unit.info.failover_interface,
            "ip": [data.addresses.failover[0], "255.255.255.252", data.addresses.failover[1]], "groups": {}}
        if self.mode == "active-active":
            for g in self.groups:
                given = groups.get(g, {})
                cfg["groups"][str(g)] = {"unit": given.get("unit", "primary" if g == 1 else "secondary"),
                                         "preempt": given.get("preempt")}
        unit.running["failover"] = cfg
        unit.startup["failover"] = clone(cfg)

    # -- reading ---------------------------------------------------------------------------------
    def carries(self, unit_name: str) -> bool:
        """Does this unit carry (some of) the pair's traffic now?"""
        unit = self.unit(unit_name)
        return self._ready(unit) and bool(self.active_groups(unit))

    def unit_entry(self, unit: AsaDevice) -> dict[str, Any] | None:
        entry = super().unit_entry(unit)
        if entry is not None and self.mode == "active-active":
            entry["groups"] = {g: self.member(g, unit).shown for g in self.groups}
        return entry

    def status(self) -> dict[str, Any]:
        """Active/Active: `units` is the system's state (group 1's); `groups` says who holds what."""
        status = super().status()
        if self.mode == "active-active":
            status["groups"] = {str(g): dict(self.state_of[g]) for g in self.groups}
        return status

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
        return self.member(group, other).shown

    # -- commands (the CLI of a unit calls them) ----------------------------------------------------
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

    def _cannot_switch(self, member: FailoverUnit, reason: str, ours: str) -> Refused:
        """Why `member` cannot switch to active by command (`switch_active` does not hold)."""
        if not member.runs_beside_mate():
            return Refused("mate_incompatible", say("refuse", "mate_incompatible", mate=member.device.version,
                                                    ours=ours))
        return Refused(reason, say("refuse", "mate_not_ready", state=member.shown))

    def failover_active(self, unit: AsaDevice, group: int | None = None) -> list[int]:
        """`failover active [group N]` on `unit`: make it active (for the group, or all groups).
        Returns the groups that changed."""
        groups = self._check_groups(group)
        mate = self.peer_of(unit)
        changed = []
        for g in groups:
            member = self.member(g, unit)
            if member.state == "Active":
                continue
            holder = self.active_of[g]
            if holder is not None and holder != unit.name and self._ready(mate) and self.link_up:
                if not member.may_switch_active():
                    raise self._cannot_switch(member, "not_ready", ours=mate.version)
                self._switch(g, unit, cause="failover active")
            else:
                self._cancel(f"take:{g}")
                self._make_active(g, unit, "failover active", member.go_active)
            changed.append(g)
        self.reconcile()
        return changed

    def no_failover_active(self, unit: AsaDevice, group: int | None = None) -> list[int]:
        """`no failover active [group N]` on `unit`: hand its active groups to the mate."""
        groups = self._check_groups(group)
        mine = [g for g in groups if self.is_active(unit, g)]
        if not mine:
            if group is not None:
                raise Refused("not_active_group", say("refuse", "not_active_group", group=group))
            return []
        mate = self._require_link(unit)
        if not self._ready(mate):
            raise Refused("mate_absent", say("refuse", "mate_absent"))
        for g in mine:
            if not self.member(g, mate).may_switch_active():
                raise self._cannot_switch(self.member(g, mate), "mate_not_ready", ours=unit.version)
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
        """`write standby` on the active unit: the mate syncs its whole configuration
        again (Standby Ready -> Cold Standby ... Standby Ready, TAC document 117906)."""
        if not self.is_active(unit):
            raise Refused("not_active", say("refuse", "not_active"))
        mate = self._require_link(unit)
        if not self._ready(mate) or mate.name in self.disabled:
            raise Refused("mate_absent", say("refuse", "mate_absent"))
        if self.ipsec_stale:
            self.ipsec_stale = False
            self._cancel("vpn")
            self.ctx.journal.emit(None, "ha.ipsec_sync", pair=self.name, unit=unit.name)
        resynced = [m for g in self.groups if (m := self.member(g, mate)).may_resync()]
        for member in resynced:
            member.resync()
        if resynced:
            self._after(mate.name, failover_time("cold_standby"), self._walk, mate, unit, SYNC_CONFIG, False)
        else:
            self._replicate(unit, mate)
        self.assess()

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
        self._cancel_all()      # a live pair put back to a snapshot drops what it was waiting for
        self.link_up = data["link_up"]
        self._restore_states(data["state_of"])
        for g in self.groups:
            self.active_of[g] = data["active_of"].get(str(g))
            self.last_failover[g] = data["last_failover"].get(str(g))
        self.failovers = data.get("failovers", 0)
        self.ipsec_stale = data.get("ipsec_stale", False)
        self.config_status = data.get("config_status", "IN_SYNC")
        self.takeovers = data.get("takeovers", [])
        self.unit_changed()
        self.reconcile()
        if self.ipsec_stale:
            self._vpn_tick()

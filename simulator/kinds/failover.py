"""What every failover pair shares, whatever its kind (FTD HA, ASA failover, SPS HA):
the failover link (a cut is the split-brain injection point), keyed timers
on the lab clock, pair-state events, and how a pair shows in the endpoints
file and the control API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.clock import Timer
from simulator.kinds.base import DeviceContext


class PairBase:
    """What both kinds of failover pair do the same way: the failover link (a
    cut is the split-brain injection point), keyed timers on the lab clock
    (one per unit or purpose) and their pair-state events."""

    ctx: DeviceContext
    name: str
    state: str
    units: dict[str, Any]          # "primary", "secondary" -> the unit
    active: str | None             # the unit holding the active role (the system's, for Active/Active)
    unit_state: dict[str, str]     # each unit's failover state as the device prints it (Active, ...)
    link_up: bool
    suspended: bool
    post_upgrade: set[str]         # units whose post-upgrade tasks keep HA suspended
    broken: bool
    config_status: str
    failovers: int
    _timers: dict[str, Timer]

    # -- reading --------------------------------------------------------------------------
    @property
    def primary(self) -> Any:
        return self.units["primary"]

    @property
    def secondary(self) -> Any:
        return self.units["secondary"]

    def unit(self, name: str) -> Any:
        return next(u for u in self.units.values() if u.name == name)

    def role_of(self, unit: Any) -> str:
        return "Primary" if unit is self.primary else "Secondary"

    def peer_of(self, unit: Any) -> Any:
        return self.secondary if unit is self.primary else self.primary

    def carries(self, unit_name: str) -> bool:
        """Does this unit carry (some of) the pair's traffic now?"""
        raise NotImplementedError

    def traffic_up(self) -> bool:
        raise NotImplementedError

    # -- views --------------------------------------------------------------------------------
    def unit_entry(self, unit: Any) -> dict[str, Any] | None:
        """A unit's `ha` key in the endpoints file (none once the pair is broken)."""
        if self.broken:
            return None
        return {"pair": self.name, "role": self.role_of(unit).lower(), "state": self.unit_state[unit.name]}

    def entry(self) -> dict[str, Any]:
        """The pair in the endpoints file."""
        return {"name": self.name, "primary": self.primary.name, "secondary": self.secondary.name,
                "state": self.state, "active": self.active}

    def status(self) -> dict[str, Any]:
        """The pair in the control API."""
        return {**self.entry(), "units": dict(self.unit_state), "link_up": self.link_up,
                "suspended": self.suspended or bool(self.post_upgrade), "config_status": self.config_status,
                "failovers": self.failovers}

    def reconcile(self) -> None:
        """Bring the units' failover states in line with the units (each pair kind's rules)."""
        raise NotImplementedError

    def set_link(self, up: bool) -> None:
        """The failover link: the injection point of a cut (split brain)."""
        if self.link_up == up:
            return
        self.link_up = up
        self.ctx.journal.emit(None, "ha.link", pair=self.name, up=up)
        self.reconcile()

    def _state_changed(self) -> None:
        self.ctx.journal.emit(None, "ha.state", pair=self.name, state=self.state, active=self.active)

    def _after(self, key: str, seconds: float, callback: Callable[..., None], *args: Any) -> None:
        self._cancel(key)
        self._timers[key] = self.ctx.clock.call_later(seconds, callback, *args)

    def _cancel(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _cancel_all(self) -> None:
        for key in list(self._timers):
            self._cancel(key)

"""One unit's failover state in one failover group (the whole unit in
Active/Standby): the model of the `UNIT` table (machine.py), one per unit and
group, all sharing one machine. The pair decides when each moves; the unit's
guards say what the vendor allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.kinds.asa.facts import say
from simulator.kinds.asa.machine import UNIT, shown
from simulator.machines import Trigger

if TYPE_CHECKING:
    from simulator.kinds.asa.failover_rules import FailoverRules
    from simulator.kinds.asa.model import AsaDevice

MACHINE = UNIT.machine()


class FailoverUnit:
    state: str                  # a name of machine.UNIT_STATES
    lose: Trigger
    fail: Trigger
    negotiate: Trigger
    detect_active_mate: Trigger
    sync_config: Trigger
    sync_file_system: Trigger
    bulk_sync: Trigger
    standby_ready: Trigger
    resync: Trigger
    switch_active: Trigger
    switch_standby: Trigger
    take_over: Trigger
    go_active: Trigger
    disable: Trigger
    may_lose: Trigger
    may_fail: Trigger
    may_negotiate: Trigger
    may_resync: Trigger
    may_switch_active: Trigger
    may_switch_standby: Trigger
    may_go_active: Trigger
    may_disable: Trigger

    def __init__(self, pair: FailoverRules, group: int, device: AsaDevice, state: str) -> None:
        self.pair = pair
        self.group = group
        self.device = device
        self.active_since: float | None = pair.ctx.clock.now() if state == "Active" else None
        MACHINE.add_model(self, initial=state)

    @property
    def shown(self) -> str:
        """The state as `show failover` prints it."""
        return shown(self.state)

    # -- guards -----------------------------------------------------------------------------------
    def runs_beside_mate(self) -> bool:
        """The two versions are a zero-downtime step and failover is not disabled on this unit."""
        return self.pair.compatible and self.device.name not in self.pair.disabled

    def takeover_allowed(self) -> bool:
        """`failover.auto_failover_mixed` lets this unit take over from its mate on its own."""
        return self.pair.may_take(self.device, self.pair.peer_of(self.device))

    # -- after every change ----------------------------------------------------------------------------
    def _changed(self) -> None:
        was_active = self.active_since is not None
        self.active_since = self.pair.ctx.clock.now() if self.state == "Active" else None
        if was_active != (self.active_since is not None):
            code = "104001" if self.state == "Active" else "104002"
            self.device.log(say("syslog", code, role=self.pair.role_of(self.device)))
        self.pair.ctx.journal.emit(self.device.name, "ha.unit", pair=self.pair.name, group=self.group,
                                   role=self.pair.role_of(self.device), state=self.shown)
        self.pair.unit_changed()


MACHINE.bind(FailoverUnit)

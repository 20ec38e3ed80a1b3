"""A two-node SPS High Availability pair (seed 004 H1-H11, sps.md 2.2 and 3):
the master runs the core firmware (web UI, REST, connections), the slave
stands by with the data replicated over DRBD and a Heartbeat between them.

- A node that boots while its peer is not up becomes the master: started
  the wrong way round (the secondary powered on before the primary is back)
  the secondary takes over (SPS-ADMIN: power the primary on first).
- A node that boots while the master runs becomes the slave and syncs its
  data (DRBD) for `timings.ha_sync`; Heartbeat is unavailable meanwhile
  and the status is `Degraded Sync`. A node on another firmware version
  does not sync: the pair stays `Degraded` until both run the same version.
- When the master goes down while an in-sync slave runs, the slave takes
  over (the admin guide's "unnecessary takeovers": shut the secondary down
  first). *Activate Slave* is that takeover on purpose.
- Firmware uploaded on the master, and its *After reboot* choice, reach the
  slave after `timings.ha_replicate` (H5: "might take a few minutes").
- The HA link (PairBase.set_link) cut while both run in sync: both become
  active (split brain); when the link is back SPS detects it ("Split-Brain
  detected, dropping connection!"), the former master stays active, the
  other is backup and nothing syncs (SPS-ADMIN "Recovering from a split brain
  situation"). The guide's data recovery is not built: reimaging the backup
  node (its data given up) lets it sync from the active one.

No I/O: surfaces call the actions and read `view()`."""

from __future__ import annotations

from typing import Any

from simulator.clock import Timer
from simulator.journal import Event
from simulator.kinds.base import Refused
from simulator.kinds.failover import PairBase
from simulator.kinds.sps.facts import sps, text
from simulator.kinds.sps.model import Slot, SpsDevice

MODES = ("ha", "standalone")


class SpsHaPair(PairBase):
    """Two SPS nodes, primary and secondary, in one HA cluster."""

    def __init__(self, name: str, primary: SpsDevice, secondary: SpsDevice, *, secondary_mode: str = "ha",
                 secondary_uuid: str | None = None) -> None:
        self.name, self.ctx = name, primary.ctx
        self.units = {"primary": primary, "secondary": secondary}
        uuid = primary.new_id()
        self.mode = {primary.name: "ha", secondary.name: secondary_mode}      # each node's "Node HA state"
        self.uuid = {primary.name: uuid, secondary.name: secondary_uuid or uuid}
        self.master = primary.name
        up = primary.services_up and secondary.services_up
        self.drbd = "connected" if up and self._formed else "disconnected"     # DRBD: connected (in sync), syncing
        self.link_up = True
        self.takeovers = 0
        self.split = ""                        # split brain: "active" (link cut, both active), "detected"
        self.replicate_pending = False
        self.state = ""                        # the HA status (_announce)
        self.active: str | None = None         # the master while it runs
        self._timers: dict[str, Timer] = {}
        self._busy = False
        for unit in self.units.values():
            unit.ha = self
        self._unsubscribe = [self.ctx.journal.subscribe(self._on_event, device=u.name) for u in self.units.values()]
        self._announce()

    # -- reading ---------------------------------------------------------------------------
    def is_master(self, unit: SpsDevice) -> bool:
        return unit.name == self.master or self.split == "active" and unit.services_up

    def _status(self) -> str:
        """The *Status* field of Basic Settings > High Availability (sps.md 3)."""
        modes = set(self.mode.values())
        if modes == {"standalone"}:
            return "Standalone"
        if len(modes) == 2:
            return "Half"
        if len(set(self.uuid.values())) == 2:
            return "Broken"
        if self.split == "detected":
            return "Split brain"
        if self.drbd == "syncing":
            return "Degraded Sync"
        if self.drbd == "connected" and all(u.services_up for u in self.units.values()):
            return "HA"
        return "Degraded"

    @property
    def heartbeat(self) -> str:
        if self.drbd == "syncing":
            return "unavailable"         # seed 004 H9: Heartbeat is not available during the sync
        return "up" if self.drbd == "connected" else "down"

    def node_view(self, unit: SpsDevice) -> dict[str, Any]:
        after = unit.slots.get(unit.after_reboot)
        return {"name": unit.name, "hostname": unit.hostname, "role": "primary" if unit is self.primary else "secondary",
                "ha_role": ("master" if self.is_master(unit) else "slave") if unit.services_up else "offline",
                "node_ha_state": self.mode[unit.name].upper() if self.mode[unit.name] == "ha" else "standalone",
                "node_ha_uuid": self.uuid[unit.name], "state": unit.state,
                "firmware_version": unit.version if unit.services_up else None,
                "firmware_after_reboot": after.version if after and unit.services_up else None}

    def view(self, this: SpsDevice) -> dict[str, Any]:
        """The HA page as `this` node shows it: This node, Other node, the pair's status."""
        other = self.peer_of(this)
        drbd = {"connected": "Connected", "syncing": "Sync source" if self.is_master(this) else "Sync target",
                "disconnected": "Disconnected"}[self.drbd]
        return {"status": self.state, "heartbeat": self.heartbeat, "drbd": drbd,
                "this_node": self.node_view(this), "other_node": self.node_view(other),
                "same_versions": this.services_up and other.services_up and this.version == other.version}

    # -- actions ---------------------------------------------------------------------------------
    def other_node(self, this: SpsDevice, action: str) -> None:
        """System control / High Availability > Other node > Reboot or Shutdown."""
        other = self.peer_of(this)
        if not other.services_up:
            raise Refused("not_running", text("other_node_down", node=other.hostname, state=other.state))
        other.reboot() if action == "reboot" else other.shutdown()

    def activate_slave(self, this: SpsDevice) -> None:
        """Hand the master role to the slave (H11: verifies HA functionality)."""
        if self.state != "HA":
            raise Refused("refused", text("activate_not_ha", status=self.state))
        self._take_over(self.peer_of(this), "activate_slave")
        self._announce()

    def join(self, this: SpsDevice) -> None:
        """Join HA, clicked on the node in HA mode of a `Half` pair."""
        other = self.peer_of(this)
        if self.state != "Half" or self.mode[this.name] != "ha":
            raise Refused("refused", text("join_not_half", status=self.state))
        self.mode[other.name], self.uuid[other.name] = "ha", self.uuid[this.name]
        self.ctx.journal.emit(None, "ha.join", pair=self.name, node=other.name)
        self.reconcile()

    # -- the rules -------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event["kind"] == "state":
            self._roles(self.unit(event["device"]))
            self.reconcile()
        elif event["kind"] == "reimage" and self.split == "detected" and event["device"] != self.master:
            self.split = ""                    # the backup's diverged data are gone: it syncs from the master
            self.ctx.journal.emit(None, "ha.split_brain", pair=self.name, state="resolved")
            self.reconcile()
        elif (event["kind"] == "firmware" and event["device"] == self.master
              and event.get("action") in ("uploaded", "after_reboot", "deleted")):
            self.replicate_pending = True
            if self.drbd == "connected":
                self._after("replicate", sps().timings["ha_replicate"], self._replicate)

    @property
    def _formed(self) -> bool:
        return set(self.mode.values()) == {"ha"} and len(set(self.uuid.values())) == 1

    def _roles(self, unit: SpsDevice) -> None:
        """Takeovers: an in-sync slave takes over a master that goes down; a node that comes up
        while its peer is down becomes the master (a syncing or out-of-step slave does not:
        its data is not whole)."""
        peer = self.peer_of(unit)
        if not self._formed or not self.link_up:
            return
        if self.is_master(unit) and not unit.services_up and peer.services_up and self.drbd == "connected":
            self._take_over(peer, "master_down")
        elif not self.is_master(unit) and unit.services_up and not peer.services_up:
            self._take_over(unit, "peer_absent")

    def reconcile(self) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            master, slave = self.unit(self.master), self.peer_of(self.unit(self.master))
            self._split_brain(master, slave)
            if not (master.services_up and slave.services_up and self.link_up and self._formed):
                self._set_drbd("disconnected")
            elif self.drbd == "disconnected" and master.version == slave.version and not self.split:
                self._set_drbd("syncing")
                self._after("sync", sps().timings["ha_sync"], self._synced)
        finally:
            self._busy = False
        self._announce()

    def _split_brain(self, master: SpsDevice, slave: SpsDevice) -> None:
        """The link cut while both run in sync: the slave goes active too. The link back: SPS
        detects the split brain, drops the connection, the former master stays active."""
        if (not self.link_up and not self.split and self._formed and self.drbd == "connected"
                and master.services_up and slave.services_up):
            self.split = "active"
            self.takeovers += 1
            self.ctx.journal.emit(None, "ha.takeover", pair=self.name, master=slave.name, reason="link_lost")
        elif self.link_up and self.split == "active":
            self.split = "detected"
            self.ctx.journal.emit(slave.name, "ha.split_brain", pair=self.name, state="detected",
                                  log=text("split_brain_log"))
        else:
            return
        for node in self.units.values():
            node.role_changed()

    def _synced(self) -> None:
        self._timers.pop("sync", None)
        if self.drbd == "syncing":
            self._set_drbd("connected")
            if self.replicate_pending:
                self._replicate()
            self._announce()

    def _set_drbd(self, value: str) -> None:
        if self.drbd != value:
            self.drbd = value
            if value != "syncing":
                self._cancel("sync")
            self.ctx.journal.emit(None, "ha.drbd", pair=self.name, drbd=value)

    def _take_over(self, unit: SpsDevice, reason: str) -> None:
        self.master = unit.name
        self.takeovers += 1
        self.ctx.journal.emit(None, "ha.takeover", pair=self.name, master=unit.name, reason=reason)
        self._set_drbd("connected" if self.drbd == "connected" and reason == "activate_slave" else "disconnected")
        for node in self.units.values():
            node.role_changed()

    def _replicate(self) -> None:
        """The master's firmware slots and After reboot choice on the slave."""
        self._timers.pop("replicate", None)
        master = self.unit(self.master)
        slave = self.peer_of(master)
        if self.drbd != "connected":
            return
        self.replicate_pending = False
        for slot_id in range(1, sps().slots + 1):
            if slot_id == slave.current:
                continue
            slot = master.slots.get(slot_id)
            if slot is None:
                slave.slots.pop(slot_id, None)
            else:
                slave.slots[slot_id] = Slot(**vars(slot))
        wanted = master.slots[master.after_reboot].version
        slave.after_reboot = next((i for i, s in sorted(slave.slots.items()) if s.version == wanted),
                                  slave.after_reboot)
        self.ctx.journal.emit(slave.name, "firmware", action="replicated", after_reboot=slave.after_reboot,
                              version=slave.slots[slave.after_reboot].version)

    def _announce(self) -> None:
        state, self.active = self._status(), (self.master if self.unit(self.master).services_up else None)
        if state != self.state:
            self.state = state
            self.ctx.journal.emit(None, "ha.state", pair=self.name, state=state, active=self.active)

    # -- what the lab shows -----------------------------------------------------------------------
    def traffic_up(self) -> bool:
        return self.active is not None

    def carries(self, unit: str) -> bool:
        return unit == self.active

    def unit_entry(self, unit: Any) -> dict[str, Any] | None:
        return {"pair": self.name, "role": self.role_of(unit).lower(),
                "state": "master" if self.is_master(unit) else "slave"}

    def status(self) -> dict[str, Any]:
        return {**self.entry(), "master": self.master, "drbd": self.drbd, "heartbeat": self.heartbeat,
                "link_up": self.link_up, "takeovers": self.takeovers}

    # -- persistence --------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"mode": self.mode, "uuid": self.uuid, "master": self.master, "drbd": self.drbd,
                "link_up": self.link_up, "takeovers": self.takeovers, "replicate_pending": self.replicate_pending,
                "split": self.split}

    def restore(self, data: dict[str, Any]) -> None:
        self.mode, self.uuid, self.master = dict(data["mode"]), dict(data["uuid"]), data["master"]
        self.drbd, self.link_up, self.takeovers = data["drbd"], data["link_up"], data["takeovers"]
        self.replicate_pending, self.split = data["replicate_pending"], data.get("split", "")
        if self.drbd == "syncing":                 # a sync in flight starts again
            self._after("sync", sps().timings["ha_sync"], self._synced)
        for node in self.units.values():
            node.role_changed()
        self._announce()

"""One device's BMC as both protocols see it: its login, the power state it
reports and the power actions it takes, the boot device it holds. Power goes
through the lab's one power model (`Lab.power`, what `simulator power` uses),
so pulling power mid-install bricks an FTD as the control API does; the
journal says which surface did it (`bmc.power` events)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from simulator.clock import Clock
from simulator.journal import Journal
from simulator.kinds.base import DeviceBase, Refused
from simulator.surfaces.bmc.facts import bmc

ACTIONS = ("on", "off", "soft", "cycle", "reset", "restart", "nmi")


class BoxBmc:
    def __init__(self, device: DeviceBase, username: str, password: str, power: Callable[[str, str], None],
                 clock: Clock, journal: Journal) -> None:
        self.device = device
        self.name = device.name
        self.username = username
        self.password = password
        self.uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"simulator-bmc:{device.name}:{device.serial}")
        self.boot_device = "default"            # pyghmi's names (network, hd, optical, setup, floppy, default)
        self._power = power
        self._clock = clock
        self._journal = journal
        self._powering_on_until = 0.0
        self._soft_off = False                  # a graceful shutdown it asked for is under way

    def credentials_ok(self, username: str, password: str) -> bool:
        return username == self.username and password == self.password

    @property
    def on(self) -> bool:
        return self.device.state != "off"

    @property
    def power_state(self) -> str:
        """Redfish's PowerState: On, Off, PoweringOn (power just applied), PoweringOff (a graceful shutdown)."""
        if not self.on:
            self._soft_off = False
            return "Off"
        if self._soft_off:
            return "PoweringOff"
        return "PoweringOn" if self._clock.now() < self._powering_on_until else "On"

    def act(self, action: str, surface: str) -> None:
        """A power action (ACTIONS); Refused with the reason when the box cannot take it now."""
        self._journal.emit(self.name, "bmc.power", surface=surface, action=action)
        try:
            self._act(action)
        except (Refused, ValueError) as exc:
            reason = exc.reason if isinstance(exc, Refused) else "refused"
            self._journal.emit(self.name, "bmc.refused", surface=surface, action=action, reason=reason)
            raise exc if isinstance(exc, Refused) else Refused(reason, str(exc)) from None

    def _act(self, action: str) -> None:
        if action == "on":
            if not self.on:
                self._power(self.name, "on")
                self._powering_on_until = self._clock.now() + bmc().power.powering_on
        elif action == "off":
            self._power(self.name, "off")
        elif action in ("cycle", "reset"):
            if not self.on:
                raise Refused("off", f"{self.name} is powered off")
            self._power(self.name, "cycle")
            self._powering_on_until = self._clock.now() + bmc().power.powering_on
        elif action == "soft":
            if self.on:
                self.device.shutdown()
                self._soft_off = self.on
        elif action == "restart":
            self.device.reboot()
        else:
            raise Refused("not_supported", f"{self.name}: a diagnostic interrupt (NMI) is not simulated")

    def set_boot_device(self, name: str, surface: str) -> None:
        self.boot_device = name
        self._journal.emit(self.name, "bmc.bootdev", surface=surface, boot_device=name)

    def entry(self) -> dict[str, Any]:
        return {"username": self.username, "password": self.password}

"""The local console of an SPS node (texts in console.yaml): boot lines, the
upgrade log as the node writes it (the same as the web UI's, seed 004), the
login that takes root to the console menu, and, when the core firmware
cannot start after a failed upgrade, the upgrade log and a small rescue
prompt that shows it again or reboots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.kinds.sps.cli import MenuShell
from simulator.kinds.sps.model import SpsDevice
from simulator.surfaces.console.transcript import ConsoleKind, RescueShell
from simulator.terminal.session import Session, Shell


class SpsConsole(ConsoleKind):
    facts_file = "kinds/sps/console.yaml"

    def values(self, device: SpsDevice) -> dict[str, Any]:
        return {"hostname": device.hostname, "label": device.label, "model": device.model, "serial": device.serial,
                "log": "\n".join(device.log)}

    def shell(self, session: Session, device: SpsDevice, fs_root: Path) -> Shell:
        return MenuShell(session, device, fs_root, local=True)

    def failed(self, device: SpsDevice) -> bool:
        return device.state == "rescue"

    def rescue_shell(self, session: Session, device: SpsDevice) -> Shell:
        return SpsRescueShell(session, device, self)


class SpsRescueShell(RescueShell):
    """`log` shows the upgrade log again; `reboot` reboots (the model boots into rescue again)."""

    async def execute(self, line: str) -> None:
        command = line.strip()
        if command == "log":
            self.session.write("\n".join(self.device.log) + "\n")
        elif command == "reboot":
            self.device.reboot()
        else:
            await super().execute(line)


CONSOLE = SpsConsole()

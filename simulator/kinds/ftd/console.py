"""The serial console of an FTD: ROMMON or the hypervisor's loader, the OS
and its services at boot (texts in console.yaml), the login prompt and the
FTD CLI, and a rescue shell on a device an interrupted install left unusable."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from simulator.kinds.ftd import views
from simulator.kinds.ftd.cli import FtdCliShell
from simulator.kinds.ftd.context import FtdContext
from simulator.kinds.ftd.model import FtdDevice
from simulator.surfaces.console.transcript import ConsoleKind
from simulator.terminal.session import Session, Shell


class FtdConsole(ConsoleKind):
    facts_file = "kinds/ftd/console.yaml"

    def values(self, device: FtdDevice) -> dict[str, Any]:
        v = device.ver
        hardware = device.info.asa_hardware.split(",")
        memory = hardware[1].split()[0] if len(hardware) > 1 and hardware[1].split() else ""
        mac = device.uuid.replace("-", "")[:6]
        return {
            "hostname": device.hostname, "version": device.version, "numbers": v.numbers, "build": v.build,
            "model": device.info.description, "platform": hardware[0].strip(), "memory_mb": memory,
            "mac": "00:27:e3:" + ":".join(mac[i:i + 2] for i in range(0, 6, 2)), "serial": device.serial,
            "asa_version": device.asa_version, "os_line": views.os_line(device),
            "date": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(device.ctx.clock.now())),
        }

    def shell(self, session: Session, device: FtdDevice, fs_root: Path) -> Shell:
        return FtdCliShell(session, FtdContext(device, fs_root))

    def banner(self, device: FtdDevice, last_login: str) -> str:
        return views.banner(device, last_login)

    def login_stamp(self, device: FtdDevice) -> str:
        return f"{views.stamp(device.ctx.clock.now())} on {self.login_text('tty', device)}"

    def failed(self, device: FtdDevice) -> bool:
        return device.state == "unusable"

    def booting(self, device: FtdDevice) -> bool:
        return device.state.endswith("_os")

    def boot_milestones(self, device: FtdDevice) -> list[str]:
        job = device.job
        into_upgrade = device.state == "upgrade_reboot_os" and job is not None and job.state == "IN_PROGRESS"
        return ["booting_upgrade"] if into_upgrade else []


CONSOLE = FtdConsole()

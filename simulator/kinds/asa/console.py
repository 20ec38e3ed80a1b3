"""The serial console of an ASA: ROMMON and the image's boot text (console.yaml),
no login (the line goes straight to `hostname>`, as a real ASA without
`aaa authentication serial console`), the same CLI as over SSH, and ROMMON's
`rommon #N>` prompt when no image boots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.kinds.asa.cli import AsaContext, AsaShell
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.versions import ImageName
from simulator.kinds.asa.views import (
    banner,
    checksum,
    compiled_year,
    config_text,
    mac_address,
)
from simulator.kinds.base import Refused
from simulator.surfaces.console.transcript import ConsoleKind
from simulator.terminal.session import Session, Shell

CONSOLE_USER = "enable_1"       # who a console session without AAA is (`show curpriv`, the banner)


class AsaConsole(ConsoleKind):
    facts_file = "kinds/asa/console.yaml"

    def values(self, device: AsaDevice) -> dict[str, Any]:
        platform, memory = device.info.hardware.split(",")[:2]
        entries = len(device.startup["boot_system"])
        loading = ImageName.parse(device.loading) if device.loading else None
        version = loading.version if loading else device.ver         # what the image being loaded runs
        return {
            "hostname": device.hostname, "version": str(version), "serial": device.serial,
            "image": device.loading or device.image, "platform": platform.strip(),
            "memory_mb": memory.split()[0], "mac": mac_address(device, 0),
            "boot_entries": f"{entries} entr{'y' if entries == 1 else 'ies'}",
            "checksum": checksum(config_text(device, device.startup, saved=True)),
            "year": compiled_year(version), "number": 0,
        }

    def shell(self, session: Session, device: AsaDevice, fs_root: Path) -> Shell:
        count, failed, previous = device.record_login(CONSOLE_USER, "console", True)
        session.write(banner(device, CONSOLE_USER, "console", count, failed, previous))
        return AsaShell(session, AsaContext(device, user=CONSOLE_USER, peer="console"))

    def failed(self, device: AsaDevice) -> bool:
        return device.state == "rommon"

    def boot_milestones(self, device: AsaDevice) -> list[str]:
        return ["loading"] if device.loading else ["no_image"]

    def message(self, event: dict[str, Any]) -> str | None:
        text = super().message(event)
        return text.rstrip("\n").replace("\n", "\r\n") if text is not None else None

    def rescue_shell(self, session: Session, device: AsaDevice) -> Shell:
        return RommonShell(session, device, self)


class RommonShell(Shell):
    """ROMMON's prompt, numbered per command: `boot` or `reset` tries the images
    of disk0: again, `?` lists the commands, the rest is not simulated."""

    def __init__(self, session: Session, device: AsaDevice, kind: AsaConsole) -> None:
        super().__init__(session)
        self.device = device
        self.kind = kind
        self.number = 0

    @property
    def prompt(self) -> str:
        return self.kind.rescue_text("prompt", self.device, number=self.number)

    async def on_eof(self) -> None:
        """ROMMON has nothing to leave to: Ctrl-D does nothing."""

    async def execute(self, line: str) -> None:
        words = line.split()
        if not words:
            return
        self.number += 1
        if words[0] in ("?", "help"):
            self.session.write(self.kind.rescue_text("help", self.device))
        elif words[0] in ("boot", "reset"):
            try:
                self.device.boot_from_rommon()
            except Refused as refused:
                self.session.write(refused.message + "\n")
        else:
            self.session.write(self.kind.rescue_text("refuse", self.device, command=words[0]) + "\n")


CONSOLE = AsaConsole()

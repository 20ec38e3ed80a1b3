"""The serial console of an FXOS chassis (its supervisor's console port): the
shutdown, ROMMON, kickstart and system image text of every boot (texts in
console.yaml), then `<name> login:` and, after login, the FXOS CLI the SSH
surface runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from simulator.kinds.fxos import views
from simulator.kinds.fxos.bundles import FxosVersion
from simulator.kinds.fxos.cli import FxosContext, FxosShell
from simulator.kinds.fxos.facts import fxos_data
from simulator.kinds.fxos.machine import OS, step
from simulator.kinds.fxos.model import FxosChassis
from simulator.surfaces.console.transcript import ConsoleKind, fill
from simulator.terminal.session import Session, Shell


class FxosConsole(ConsoleKind):
    facts_file = "kinds/fxos/console.yaml"

    def values(self, device: FxosChassis) -> dict[str, Any]:
        now = device.ctx.clock.now()
        uptime = now - device.booted_at
        version = FxosVersion.parse(device.version)
        mac = device.uuid.replace("-", "")[-12:]
        return {
            "hostname": device.hostname, "name": device.prompt_name, "version": device.version,
            "supervisor": device.info.supervisor, "memory_mb": device.info.memory_mb,
            "mac": ":".join(mac[i:i + 2] for i in range(0, 12, 2)),
            "kickstart": self.data["kickstart"].format(**version._asdict()),
            "date": time.asctime(time.gmtime(now)), "linux_date": views.login_time(now),
            "syslog_date": time.strftime("%Y %b %d %H:%M:%S", time.gmtime(now)),
            "uptime": f"{uptime:12.6f}",
            "restart_uptime": f"{uptime + fxos_data().timings['shutdown'] * device.info.speed:12.6f}",
        }

    def shell(self, session: Session, device: FxosChassis, fs_root: Path) -> Shell:
        return FxosShell(session, FxosContext(device, fs_root))

    def login_stamp(self, device: FxosChassis) -> str:
        return f"{views.login_time(device.ctx.clock.now())} on {self.login_text('tty', device)}"

    def banner(self, device: FxosChassis, last_login: str) -> str:
        """Counted with the SSH logins: the banner tells of the last login on either."""
        last, logins = device.record_login(self.login_stamp(device))
        return fill(self.data["banner"], {"user": device.username, "logins": logins, "last_login": last})

    def booting(self, device: FxosChassis) -> bool:
        return step(device.state) == OS


CONSOLE = FxosConsole()

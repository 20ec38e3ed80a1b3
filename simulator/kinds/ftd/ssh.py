"""What SSH means for an FTD: its CLI (CLISH), the reboot broadcast, and
packages that arrive in /var/sf/updates."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from simulator.facts import read_yaml
from simulator.faults import Fault
from simulator.kinds.ftd import views
from simulator.kinds.ftd.broadcast import reboot_broadcast
from simulator.kinds.ftd.cli import FtdCliShell
from simulator.kinds.ftd.context import FtdContext
from simulator.kinds.ftd.files import receive_package, updates_dir
from simulator.kinds.ftd.model import FtdDevice
from simulator.surfaces.ssh.cli import serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind
from simulator.terminal.logins import LoginPolicy

FACTS = read_yaml("ssh.yaml", __package__)


class FtdSsh(SshKind):
    """The FTD CLI (CLISH); packages arrive in /var/sf/updates."""

    login = LoginPolicy.model_validate(FACTS["login"])
    releases = FACTS["releases"]

    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        device: FtdDevice = endpoint.device
        ctx = FtdContext(device, endpoint.fs_root)

        def banner(peer: str) -> str:
            now = f"{views.stamp(device.ctx.clock.now())} from {peer} on pts/0"
            last, endpoint.last_login = endpoint.last_login or now, now
            return views.banner(device, last)

        await serve_cli(endpoint, process, lambda session, _: FtdCliShell(session, ctx), banner)

    def reboot_notice(self, device: FtdDevice) -> str | None:
        return reboot_broadcast(device)

    def upload_dir(self, fs_root: Path) -> Path | None:
        return updates_dir(fs_root)

    async def file_arrived(self, device: FtdDevice, path: Path, fault: Fault | None) -> None:
        receive_package(device, path, fault)


SSH = FtdSsh()

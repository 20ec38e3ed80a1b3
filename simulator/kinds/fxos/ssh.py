"""What SSH means for an FXOS chassis: its CLI (images come by `download
image`, not by upload) and the broadcast sessions see when it reboots."""

from __future__ import annotations

import time

import asyncssh

from simulator.facts import read_yaml
from simulator.kinds.fxos import views
from simulator.kinds.fxos.cli import FxosContext, FxosShell
from simulator.kinds.fxos.facts import say
from simulator.kinds.fxos.model import FxosChassis
from simulator.surfaces.ssh.cli import serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind
from simulator.terminal.logins import LoginPolicy

FACTS = read_yaml("ssh.yaml", __package__)


class FxosSsh(SshKind):
    login = LoginPolicy.model_validate(FACTS["login"])
    releases = FACTS["releases"]
    sftp = scp = False  # no file transfer in: images come by `download image` (RECONSTRUCTED)

    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        chassis: FxosChassis = endpoint.device
        ctx = FxosContext(chassis, endpoint.fs_root)

        def banner(peer: str) -> str:
            return views.banner(chassis, f"{views.login_time(chassis.ctx.clock.now())} from {peer}")

        await serve_cli(endpoint, process, lambda session, _: FxosShell(session, ctx), banner)

    def reboot_notice(self, device: FxosChassis) -> str | None:
        if device.state == "off":          # a power loss says nothing
            return None
        return say("reboot_broadcast", hostname=device.hostname, date=time.asctime(time.gmtime(device.ctx.clock.now())))


SSH = FxosSsh()

"""What SSH means for an FXOS chassis: its CLI (images come by `download
image`, not by upload)."""

from __future__ import annotations

import time

import asyncssh

from simulator.kinds.fxos import cli as fxos_shell
from simulator.kinds.fxos.model import FxosChassis
from simulator.surfaces.ssh.cli import serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind


class FxosSsh(SshKind):
    """The FXOS chassis CLI (images come by `download image`, not by upload)."""

    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        chassis: FxosChassis = endpoint.device
        ctx = fxos_shell.FxosContext(chassis, endpoint.fs_root)

        def banner(peer: str) -> str:
            now = f"{time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(chassis.ctx.clock.now()))} from {peer}"
            last, endpoint.last_login = endpoint.last_login or now, now
            endpoint.logins += 1
            return fxos_shell.banner(chassis, last, endpoint.logins)

        await serve_cli(endpoint, process, lambda session, _: fxos_shell.FxosShell(session, ctx), banner)


SSH = FxosSsh()

"""What SSH means for an FMC: its CLI, and the Linux shell behind `expert`."""

from __future__ import annotations

import asyncssh

from simulator.kinds.fmc.cli import FmcCliShell, banner
from simulator.surfaces.ssh.cli import serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind


class FmcSsh(SshKind):
    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        device = endpoint.device
        (endpoint.fs_root / "var/log/sf").mkdir(parents=True, exist_ok=True)
        (endpoint.fs_root / "Volume/home/admin").mkdir(parents=True, exist_ok=True)
        await serve_cli(endpoint, process, lambda session, _: FmcCliShell(session, device, endpoint.fs_root),
                        banner=lambda peer: banner(device))


SSH = FmcSsh()

"""What SSH means for SPS: `root` gets the console menu; files copied by
SCP/SFTP land in the core's file system (e.g. /root, sps.md 5.2). Sealed
mode closes SSH (sps.md 1), also when the core cannot start (2.4)."""

from __future__ import annotations

import asyncssh

from simulator.kinds.sps.cli import MenuShell
from simulator.kinds.sps.model import SpsDevice
from simulator.surfaces.ssh.cli import serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind


class SpsSsh(SshKind):
    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        device = endpoint.device
        (endpoint.fs_root / "root").mkdir(parents=True, exist_ok=True)
        await serve_cli(endpoint, process, lambda session, _: MenuShell(session, device, endpoint.fs_root),
                        banner=lambda peer: "")

    def open(self, device: SpsDevice) -> bool:
        return device.ssh_open


SSH = SpsSsh()

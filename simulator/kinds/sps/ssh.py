"""What SSH means for SPS: `root` gets the console menu; files copied by
SCP/SFTP land in the core's file system (e.g. /root, sps.md 5.2). /root is
the upload folder: a file copied there is hidden under a partial name until
whole (the core shell installs an ISO from there), and no file may outgrow
the REST upload's bound or the node's free storage. Sealed mode closes SSH
(sps.md 1), also when the core cannot start (2.4)."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from simulator.kinds.sps.cli import MenuShell
from simulator.kinds.sps.facts import sps
from simulator.kinds.sps.files import UPLOAD_DIR
from simulator.kinds.sps.model import SpsDevice
from simulator.surfaces.ssh.cli import serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind


class SpsSsh(SshKind):
    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        device = endpoint.device
        (endpoint.fs_root / UPLOAD_DIR).mkdir(parents=True, exist_ok=True)
        await serve_cli(endpoint, process, lambda session, _: MenuShell(session, device, endpoint.fs_root),
                        banner=lambda peer: "")

    def open(self, device: SpsDevice) -> bool:
        return device.ssh_open

    def upload_dir(self, fs_root: Path) -> Path | None:
        return fs_root / UPLOAD_DIR

    def write_limit(self, device: SpsDevice, path: Path) -> int:
        return min(sps().api.upload_max, device.free_storage_mb << 20)


SSH = SpsSsh()

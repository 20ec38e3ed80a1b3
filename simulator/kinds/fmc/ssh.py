"""What SSH means for an FMC: its CLI, and the Linux shell behind `expert`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh

from simulator.faults import Fault
from simulator.kinds.base import Refused
from simulator.kinds.fmc.cli import FmcCliShell, banner
from simulator.kinds.fmc.facts import text
from simulator.kinds.fmc.model import FmcDevice
from simulator.kinds.fmc.packages import inspect_fmc_package, is_fmc_package
from simulator.kinds.ftd.packages import inspect_package
from simulator.kinds.ftd.versions import PackageName
from simulator.surfaces.ssh.cli import serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind


class FmcSsh(SshKind):
    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        device = endpoint.device
        for folder in ("var/log/sf", "var/sf/updates"):
            (endpoint.fs_root / folder).mkdir(parents=True, exist_ok=True)
        (endpoint.fs_root / "Volume/home/admin").mkdir(parents=True, exist_ok=True)
        await serve_cli(endpoint, process, lambda session, _: FmcCliShell(session, device, endpoint.fs_root),
                        banner=lambda peer: banner(device))


    def upload_dir(self, fs_root: Path) -> Path | None:
        return fs_root / "var/sf/updates"

    async def file_arrived(self, device: FmcDevice, path: Path, fault: Fault | None) -> None:
        """A package copied into /var/sf/updates shows up in Product Upgrades; a file
        without a package's name does not (Refused)."""
        if not (is_fmc_package(path.name) or is_package_name(path.name)):
            raise Refused("not_a_package", text("not_a_package", filename=path.name))
        inspect = inspect_fmc_package if is_fmc_package(path.name) else inspect_package
        info = await asyncio.to_thread(inspect, path)
        device.add_package(info)


def is_package_name(filename: str) -> bool:
    try:
        PackageName.parse(filename)
    except ValueError:
        return False
    return True


SSH = FmcSsh()

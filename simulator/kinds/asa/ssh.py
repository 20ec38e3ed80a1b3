"""What SSH means for an ASA: its CLI, and a file system that is its disk0:
(`scp f admin@asa:disk0:/f`)."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from simulator.faults import Fault
from simulator.kinds.asa import cli as asa_shell
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.ftd.packages import cut_short
from simulator.surfaces.ssh.cli import peer_of, serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind


class AsaSsh(SshKind):
    """The ASA CLI; the device's file system is its disk0: (`scp f admin@asa:disk0:/f`)."""

    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        device: AsaDevice = endpoint.device
        user, peer = process.get_extra_info("username") or device.username, peer_of(process)
        ctx = asa_shell.AsaContext(device, user=user, peer=peer)

        def banner(peer: str) -> str:
            count, failed, previous = device.record_login(user, peer, True)
            return asa_shell.banner(device, user, peer, count, failed, previous)

        # An exec request runs at privilege 15; a shell starts in user EXEC (`host>`).
        await serve_cli(endpoint, process,
                        lambda session, exec_request: asa_shell.AsaShell(session, ctx, mode="exec")
                        if exec_request else asa_shell.AsaShell(session, ctx),
                        banner, device_messages=lambda shell: shell.on_device_event)

    def upload_dir(self, fs_root: Path) -> Path | None:
        return fs_root

    def sftp_path(self, path: bytes) -> bytes:
        return asa_shell.sftp_path(path)

    def file_arrived(self, device: AsaDevice, path: Path, fault: Fault | None) -> None:
        if fault is not None and fault.action == "corrupt":
            cut_short(path)
        asa_shell.file_arrived(device, path)

    def login_failed(self, device: AsaDevice, username: str, peer: str) -> None:
        device.record_login(username, peer, False)     # the next banner counts failed logins


SSH = AsaSsh()

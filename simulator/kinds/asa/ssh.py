"""What SSH means for an ASA: its CLI, and a file system that is its disk0:
(`scp f admin@asa:disk0:/f`): a file uploaded there is reported to the unit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import cast

import asyncssh

from simulator.facts import read_yaml
from simulator.faults import Fault
from simulator.journal import Event
from simulator.kinds.asa.cli import AsaContext, AsaShell
from simulator.kinds.asa.disk import disk_name
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.views import banner
from simulator.kinds.asa.worker import inspect, spoil
from simulator.surfaces.ssh.cli import peer_of, serve_cli
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind
from simulator.terminal.logins import LoginPolicy
from simulator.terminal.session import Session, Shell

FACTS = read_yaml("ssh.yaml", __package__)


class AsaSsh(SshKind):
    """The ASA CLI; the device's file system is its disk0: (`scp f admin@asa:disk0:/f`)."""

    login = LoginPolicy.model_validate(FACTS["login"])
    releases = FACTS["releases"]
    sftp = False        # SCP only (`ssh scopy enable`): no SFTP subsystem, as on the real ASA
    server_version = FACTS["server_version"]

    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        device: AsaDevice = endpoint.device
        user = process.get_extra_info("username") or device.username
        ctx = AsaContext(device, user=user, peer=peer_of(process))

        def greet(peer: str) -> str:
            count, failed, previous = device.record_login(user, peer, True)
            return banner(device, user, peer, count, failed, previous)

        def shell(session: Session, exec_request: bool) -> Shell:
            # An exec request runs at privilege 15; a shell starts in user EXEC (`host>`).
            return AsaShell(session, ctx, mode="exec" if exec_request else "user")

        def messages(shell: Shell) -> Callable[[Event], None]:
            return cast(AsaShell, shell).on_device_event

        await serve_cli(endpoint, process, shell, greet, device_messages=messages)

    def upload_dir(self, fs_root: Path) -> Path | None:
        return fs_root

    def sftp_path(self, path: bytes) -> bytes:
        """`disk0:/x.bin`, `flash:x.bin` (as `scp file admin@asa:disk0:/x.bin` sends them) -> `/x.bin`."""
        name = disk_name(path.decode(errors="replace"))
        return ("/" + name).encode() if name is not None else path

    def write_limit(self, device: AsaDevice, path: Path) -> int:
        entry = device.disk.entries.get(path.name)
        return device.disk.free + (entry.size if entry is not None else 0)

    async def file_arrived(self, device: AsaDevice, path: Path, fault: Fault | None) -> None:
        if fault is not None and fault.action == "corrupt":
            spoil(path)
        device.file_arrived(path.name, *await asyncio.to_thread(inspect, path), source="scp")

    def login_failed(self, device: AsaDevice, username: str, peer: str) -> None:
        device.record_login(username, peer, False)     # the next banner counts failed logins


SSH = AsaSsh()

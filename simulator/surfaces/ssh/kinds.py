"""What SSH means for each device kind (ssh/server.py's SshKind): the CLI
an SSH process runs, the reboot broadcast, and what an uploaded file does."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh

from simulator.faults import Fault
from simulator.journal import Event
from simulator.kinds.asa import cli as asa_shell
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.base import Refused
from simulator.kinds.ftd import views
from simulator.kinds.ftd.cli import FtdCliShell, FtdContext
from simulator.kinds.ftd.files import make_device_fs, receive_package, updates_dir
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import cut_short
from simulator.kinds.fxos import cli as fxos_shell
from simulator.kinds.fxos.model import FxosChassis
from simulator.surfaces.ssh.channel import ProcessChannel
from simulator.surfaces.ssh.server import DeviceEndpoint, SshKind
from simulator.terminal.session import Session, Shell


def peer_of(process: asyncssh.SSHServerProcess) -> str:
    return (process.get_extra_info("peername") or ("127.0.0.1", 0))[0]


async def serve_cli(endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess,
                    make_shell: Callable[[Session, bool], Shell], banner: Callable[[str], str],
                    device_messages: Callable[[Shell], Callable[[Event], None]] | None = None) -> None:
    """Run a device CLI on an SSH process: an exec request runs one command
    (`make_shell(session, True)`); a shell gets the login banner (`banner(peer
    address)`) and the CLI, and, with `device_messages`, the device's terminal
    messages while it is open."""
    device = endpoint.device
    journal = device.ctx.journal
    session = Session(ProcessChannel(process), interactive=process.get_terminal_type() is not None,
                      on_command=lambda mode, line: journal.emit(device.name, "command", mode=mode, line=line))
    endpoint.sessions.add(session)
    unsubscribe = None
    try:
        if process.command:
            await session.run_one(make_shell(session, True), process.command)
            return
        session.write(banner(peer_of(process)))
        shell = make_shell(session, False)
        if device_messages is not None and session.interactive:
            unsubscribe = journal.subscribe(device_messages(shell), device=device.name)
        await session.run(shell)
    except Refused as refused:
        session.write(refused.message + "\n")
    except (asyncssh.Error, OSError, ConnectionError):
        pass
    finally:
        if unsubscribe is not None:
            unsubscribe()
        endpoint.sessions.discard(session)
        if not process.is_closing():
            process.exit(0)


class FtdSsh:
    """The FTD CLI (CLISH); packages arrive in /var/sf/updates."""

    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        device: FtdDevice = endpoint.device
        make_device_fs(endpoint.fs_root)
        ctx = FtdContext(device, endpoint.fs_root, lambda path, fault=None: receive_package(device, path, fault))

        def banner(peer: str) -> str:
            now = f"{views.stamp(device.ctx.clock.now())} from {peer} on pts/0"
            last, endpoint.last_login = endpoint.last_login or now, now
            return views.banner(device, last)

        await serve_cli(endpoint, process, lambda session, _: FtdCliShell(session, ctx), banner)

    def reboot_notice(self, device: FtdDevice) -> str | None:
        return views.ftd_text("reboot_broadcast", hostname=device.hostname,
                              date=time.asctime(time.gmtime(device.ctx.clock.now())))

    def upload_dir(self, fs_root: Path) -> Path | None:
        return updates_dir(fs_root)

    def sftp_path(self, path: bytes) -> bytes:
        return path

    def file_arrived(self, device: FtdDevice, path: Path, fault: Fault | None) -> None:
        receive_package(device, path, fault)

    def login_failed(self, device: FtdDevice, username: str, peer: str) -> None:
        return None


class FxosSsh:
    """The FXOS chassis CLI (images come by `download image`, not by upload)."""

    def __init__(self) -> None:
        self.logins: dict[str, int] = {}     # chassis -> logins so far (the banner counts them)

    async def run(self, endpoint: DeviceEndpoint, process: asyncssh.SSHServerProcess) -> None:
        chassis: FxosChassis = endpoint.device
        ctx = fxos_shell.FxosContext(chassis, endpoint.fs_root)

        def banner(peer: str) -> str:
            now = f"{time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime(chassis.ctx.clock.now()))} from {peer}"
            last, endpoint.last_login = endpoint.last_login or now, now
            self.logins[chassis.name] = self.logins.get(chassis.name, 0) + 1
            return fxos_shell.banner(chassis, last, self.logins[chassis.name])

        await serve_cli(endpoint, process, lambda session, _: fxos_shell.FxosShell(session, ctx), banner)

    def reboot_notice(self, device: Any) -> str | None:
        return None

    def upload_dir(self, fs_root: Path) -> Path | None:
        return None

    def sftp_path(self, path: bytes) -> bytes:
        return path

    def file_arrived(self, device: Any, path: Path, fault: Fault | None) -> None:
        return None

    def login_failed(self, device: Any, username: str, peer: str) -> None:
        return None


class AsaSsh:
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

    def reboot_notice(self, device: AsaDevice) -> str | None:
        return None                     # the ASA CLI prints its own shutdown text

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


def ssh_kinds() -> dict[str, SshKind]:
    return {"ftd": FtdSsh(), "fxos": FxosSsh(), "asa": AsaSsh()}

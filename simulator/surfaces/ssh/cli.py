"""A device CLI on an SSH process: the one runner every kind's SSH hooks use."""

from __future__ import annotations

from collections.abc import Callable

import asyncssh

from simulator.journal import Event
from simulator.kinds.base import Refused
from simulator.surfaces.ssh.channel import ProcessChannel
from simulator.surfaces.ssh.server import DeviceEndpoint
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
        session.flush()
        if not process.is_closing():
            process.exit(0)

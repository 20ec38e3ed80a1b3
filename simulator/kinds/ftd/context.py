"""What every FTD shell shares: the device and its file system (`FtdContext`),
and following an upgrade's log on a terminal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from simulator.journal import Event
from simulator.kinds.ftd import views
from simulator.kinds.ftd.files import make_device_fs, receive_package, updates_dir
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import PackageInfo
from simulator.terminal.session import Session, first_done


@dataclass
class FtdContext:
    """What an FTD shell needs besides the device: its file system (where
    SFTP/SCP put packages, made on first use)."""

    device: FtdDevice
    fs_root: Path
    sudo_lectured: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        make_device_fs(self.fs_root)

    def updates_path(self) -> Path:
        return updates_dir(self.fs_root)

    def register_package(self, path: Path) -> PackageInfo:
        """A package file on the device's file system becomes its package."""
        return receive_package(self.device, path)



async def follow_upgrade(session: Session, device: FtdDevice, detail: bool) -> None:
    """Print upgrade log entries as they are made, until the job ends, the
    session closes (reboot) or the user types Ctrl-C."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    unsubscribe = device.ctx.journal.subscribe(queue.put_nowait, device=device.name)

    async def pump() -> None:
        while True:
            event = await queue.get()
            if event["kind"] == "upgrade.log":
                entry = [event["sim_time"], event["percent"], event["text"]]
                session.write((views.status_line(entry) if detail else views.upgrade_status(device)) + "\n")
            elif event["kind"] == "upgrade.finished":
                return

    try:
        await first_done(pump(), session.wait_for_interrupt())
    finally:
        unsubscribe()

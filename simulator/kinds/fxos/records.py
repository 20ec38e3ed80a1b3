"""What a chassis keeps and reports: its components (`show firmware monitor`),
security modules and the app instances they run, download tasks, platform
bundle installs and what `install platform` verifies. Plain records: the
chassis (model.py) changes them, the CLI and the REST API show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.fxos.bundles import BundleInfo
from simulator.kinds.fxos.facts import fxos_data


@dataclass
class Component:
    """One line group of `show firmware monitor`."""

    role: str                # fprm | fabric | server (facts.yaml components:)
    package_vers: str
    status: str = "Ready"    # Ready | Upgrading | Failed
    slot: int = 0            # a server's security module

    @property
    def name(self) -> str:
        return fxos_data().components[self.role].name.format(slot=self.slot)


@dataclass
class AppInstance:
    slot: int
    identifier: str
    device: FtdDevice
    app: str = "ftd"
    admin_state: str = "Enabled"


@dataclass
class Module:
    """A security module (4100: the one security engine in slot 1)."""

    slot: int
    state: str = "Online"          # Online | Offline | Upgrading | Starting
    apps: list[AppInstance] = field(default_factory=list)


@dataclass
class DownloadTask:
    filename: str
    protocol: str            # scp | sftp | ftp | tftp | http | https | local
    server: str
    port: int
    userid: str
    path: str                # remote path of the file
    url: str                 # as given, without a password
    started: float
    state: str = "Downloading"   # Downloading | Downloaded | Failed
    size_kb: int = 0             # downloaded so far
    total_kb: int = 0
    finished: float | None = None
    error_code: str = ""
    error_text: str = ""
    tries: int = 1
    corrupt: bool = False        # a `package.transfer` corrupt fault: the helper cuts the file

    @property
    def percent(self) -> int:
        if self.state == "Downloaded":
            return 100
        return int(100 * self.size_kb / self.total_kb) if self.total_kb else 0


@dataclass
class Install:
    """A platform bundle install (auto-install) as the chassis reports it; the
    phase it is in is the chassis' state (machine.py)."""

    target: str
    base: str
    firmware: bool
    started: float
    state: str = "IN_PROGRESS"   # IN_PROGRESS | COMPLETED | FAILED | CANCELLED
    reboots: int = 0
    finished: float | None = None
    detail: str = ""
    log: list[list[Any]] = field(default_factory=list)     # [sim_time, text]


@dataclass
class Verification:
    """What `install platform` verifies before its questions."""

    target: str
    current: str
    bundle: BundleInfo | None
    firmware: bool
    errors: list[str] = field(default_factory=list)              # refusals (one line each)
    incompatible: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.incompatible

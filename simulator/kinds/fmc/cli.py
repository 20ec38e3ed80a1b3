"""The FMC's shells: its CLI (`> `: show version, expert) and the Linux shell
(`admin@fmc:~$`) with the few commands used to read upgrade logs under
/var/log/sf (terminal/bash.py's ls, cat, tail; sudo, install_update.pl)."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.base import Refused
from simulator.kinds.fmc.facts import fmc, text
from simulator.kinds.fmc.model import FmcDevice
from simulator.kinds.fmc.packages import inspect_fmc_package, is_fmc_package
from simulator.terminal.bash import BashShell
from simulator.terminal.session import Session, Shell
from simulator.terminal.tree import CommandTree, Parsed


@cache
def _data() -> dict[str, Any]:
    return dict(read_yaml("cli.yaml", __package__))


def _shell_text(key: str, **values: object) -> str:
    return str(_data()["shell"][key]).format(**values)


def show_version(device: FmcDevice) -> str:
    release, ver = device.release, device.ver
    return str(_data()["templates"]["show_version"]).format(
        hostname=device.hostname, platform=fmc().models[device.model].platform,
        number=fmc().models[device.model].model_number, numbers=ver.numbers, build=ver.build,
        uuid=device.uuid, sru=release.sru, lsp=release.lsp, vdb=release.vdb.split()[1])


def banner(device: FmcDevice) -> str:
    ver = device.ver
    return str(_data()["templates"]["banner"]).format(platform=fmc().models[device.model].platform,
                                                     numbers=ver.numbers, build=ver.build)


class FmcCliShell(Shell):
    tree = CommandTree(_data())

    def __init__(self, session: Session, device: FmcDevice, fs_root: Path) -> None:
        super().__init__(session)
        self.device, self.fs_root = device, fs_root

    @property
    def prompt(self) -> str:
        return "> "

    async def cmd_show_version(self, _: Parsed) -> str:
        return show_version(self.device)

    async def cmd_expert(self, _: Parsed) -> None:
        self.session.push(LinuxShell(self.session, self.device, self.fs_root))

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.pop()


class LinuxShell(BashShell):
    """bash on the FMC: the admin's home, `sudo su -` for root."""

    def __init__(self, session: Session, device: FmcDevice, fs_root: Path, root: bool = False) -> None:
        super().__init__(session, fs_root, "/root" if root else "/Volume/home/admin", "root" if root else "admin")
        self.device, self.root = device, root
        self.commands.update({"sudo": self._sudo, "install_update.pl": self._install_update})

    @property
    def hostname(self) -> str:
        return self.device.hostname

    async def _sudo(self, args: list[str]) -> None:
        if not self.root:
            for attempt in range(3):
                answer = await self.session.ask(_shell_text("sudo_password"), secret=True)
                if answer == self.device.password:
                    break
                if answer is None:
                    return
                self._say(_shell_text("sudo_retry") if attempt < 2 else _shell_text("sudo_failed"))
            else:
                return
        if args[:1] == ["su"]:
            self.session.push(LinuxShell(self.session, self.device, self.fs_root, root=True))
        elif args:
            handler = self.commands.get(args[0])
            if handler is None:
                self._say(f"sudo: {args[0]}: command not found")
            else:
                await handler(args[1:])

    async def _install_update(self, args: list[str]) -> None:
        """The FMC's own upgrade from the shell (root): `--readiness-check` first, then the install."""
        if not self.root:
            self._say(text("needs_root"))
            return
        paths = [a for a in args if not a.startswith("--")]
        if len(paths) != 1:
            self._say(text("install_usage"))
            return
        path = self._path(paths[0])
        real = self.fs_root / path.lstrip("/")
        device = self.device
        # A package the FMC downloaded itself is in /var/sf/updates on the real box.
        package = next((p for p in device.packages.values() if p.name == real.name), None)
        if package is None and not real.is_file():
            self._say(text("install_missing", path=path))
            return
        if not is_fmc_package(real.name):
            self._say(text("install_not_fmc", path=path))
            return
        try:
            if package is None:
                package = device.add_package(await asyncio.to_thread(inspect_fmc_package, real))
            if "--readiness-check" in args:
                device.check_own_readiness(package.id)
                self._say(text("install_begins", path=path))
                self._say(text("install_readiness", folder=real.name))
            else:
                device.upgrade_self(real.name)
                self._say(text("install_begins", path=path))
                self._say(text("install_started"))
        except Refused as refused:
            self._say(refused.message)

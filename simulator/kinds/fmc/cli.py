"""The FMC's shells: its CLI (`> `: show version, expert) and the Linux shell
(`admin@fmc:~$`) with the few commands used to read upgrade logs under
/var/log/sf (ls, cat, tail, sudo). Files are read at most `read_limit` bytes."""

from __future__ import annotations

import asyncio
import posixpath
import shlex
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.base import Refused
from simulator.kinds.fmc.facts import fmc, text
from simulator.kinds.fmc.model import FmcDevice
from simulator.kinds.fmc.packages import inspect_fmc_package, is_fmc_package
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


class LinuxShell(Shell):
    """bash on the FMC: the admin's home, `sudo su -` for root."""

    def __init__(self, session: Session, device: FmcDevice, fs_root: Path, root: bool = False) -> None:
        super().__init__(session)
        self.device, self.fs_root, self.root = device, fs_root, root
        self.cwd = "/root" if root else "/Volume/home/admin"
        self.commands: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "ls": self._ls, "cat": self._cat, "tail": self._tail, "pwd": self._pwd, "whoami": self._whoami,
            "cd": self._cd, "sudo": self._sudo, "exit": self._exit, "logout": self._exit,
            "install_update.pl": self._install_update}

    @property
    def prompt(self) -> str:
        where = "~" if self.cwd == ("/root" if self.root else "/Volume/home/admin") else self.cwd
        return f"{'root' if self.root else 'admin'}@{self.device.hostname}:{where}{'#' if self.root else '$'} "

    def help(self, line: str) -> str:
        return ""

    async def execute(self, line: str) -> None:
        try:
            argv = shlex.split(line)
        except ValueError:
            self._say("-bash: syntax error: unexpected end of file")
            return
        if argv:
            handler = self.commands.get(argv[0])
            if handler is None:
                self._say(_shell_text("not_found", name=argv[0]))
            else:
                await handler(argv[1:])

    def _say(self, text: str) -> None:
        self.session.write(text + "\n")

    def _path(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path))

    def _real(self, path: str) -> Path:
        return self.fs_root / self._path(path).lstrip("/")

    def _readable(self, cmd: str, path: str) -> Path | None:
        real = self._real(path)
        if not real.is_file():
            self._say(_shell_text("no_file", cmd=cmd, path=path))
            return None
        return real

    async def _ls(self, args: list[str]) -> None:
        paths = [a for a in args if not a.startswith("-")] or ["."]
        for path in paths:
            real = self._real(path)
            if real.is_dir():
                names = sorted(p.name for p in real.iterdir())
                if names:
                    self._say("  ".join(names))
            elif real.is_file():
                self._say(path)
            else:
                self._say(f"ls: cannot access '{path}': No such file or directory")

    async def _cat(self, args: list[str]) -> None:
        for path in args:
            real = self._readable("cat", path)
            if real is not None:
                with real.open("rb") as fh:
                    self.session.write(fh.read(_data()["shell"]["read_limit"]).decode(errors="replace"))

    async def _tail(self, args: list[str]) -> None:
        count, paths = 10, []
        it = iter(args)
        for arg in it:
            if arg == "-n":
                count = int(next(it, "10"))
            elif arg.startswith("-") and arg[1:].isdigit():
                count = int(arg[1:])
            else:
                paths.append(arg)
        for path in paths:
            real = self._readable("tail", path)
            if real is not None:
                limit = _data()["shell"]["read_limit"]
                with real.open("rb") as fh:
                    fh.seek(max(0, real.stat().st_size - limit))
                    lines = fh.read(limit).decode(errors="replace").splitlines()
                if count:
                    self._say("\n".join(lines[-count:]))

    async def _pwd(self, _: list[str]) -> None:
        self._say(self.cwd)

    async def _whoami(self, _: list[str]) -> None:
        self._say("root" if self.root else "admin")

    async def _cd(self, args: list[str]) -> None:
        target = self._path(args[0]) if args else ("/root" if self.root else "/Volume/home/admin")
        if not (self.fs_root / target.lstrip("/")).is_dir():
            self._say(f"-bash: cd: {args[0]}: No such file or directory")
            return
        self.cwd = target

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

    async def _exit(self, _: list[str]) -> None:
        self.session.pop()

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

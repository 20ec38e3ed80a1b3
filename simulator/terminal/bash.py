"""A small bash over a folder that stands for the box's file system: ls, cat,
tail, pwd, whoami, cd and exit, with GNU's answers (bash.yaml). Appliances
whose Linux shell users only look around in (an FMC's expert shell, an SPS's
core shell) subclass it and add their own commands to `commands`."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from simulator.facts import read_yaml
from simulator.terminal.session import Session, Shell

Command = Callable[[list[str]], Awaitable[None]]


@cache
def _texts() -> dict[str, Any]:
    return dict(read_yaml("bash.yaml", __package__))


def bash_text(key: str, **values: object) -> str:
    return str(_texts()[key]).format(**values)


class BashShell(Shell):
    """`user` at `home` on the folder `fs_root`; files are read at most `read_limit` bytes."""

    def __init__(self, session: Session, fs_root: Path, home: str, user: str) -> None:
        super().__init__(session)
        self.fs_root, self.home, self.user, self.cwd = fs_root, home, user, home
        self.commands: dict[str, Command] = {
            "ls": self._ls, "cat": self._cat, "tail": self._tail, "pwd": self._pwd, "whoami": self._whoami,
            "cd": self._cd, "exit": self._exit, "logout": self._exit}

    @property
    def hostname(self) -> str:
        raise NotImplementedError

    @property
    def prompt(self) -> str:
        where = "~" if self.cwd == self.home else self.cwd
        return f"{self.user}@{self.hostname}:{where}{'#' if self.user == 'root' else '$'} "

    def help(self, line: str) -> str:
        return ""

    async def execute(self, line: str) -> None:
        try:
            argv = shlex.split(line)
        except ValueError:
            self._say(bash_text("syntax"))
            return
        if argv:
            handler = self.commands.get(argv[0])
            if handler is None:
                self._say(bash_text("not_found", name=argv[0]))
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
            self._say(bash_text("no_file", cmd=cmd, path=path))
            return None
        return real

    async def _ls(self, args: list[str]) -> None:
        for path in [a for a in args if not a.startswith("-")] or ["."]:
            real = self._real(path)
            if real.is_dir():
                names = sorted(p.name for p in real.iterdir() if not p.name.startswith("."))
                if names:
                    self._say("  ".join(names))
            elif real.is_file():
                self._say(path)
            else:
                self._say(bash_text("no_access", path=path))

    async def _cat(self, args: list[str]) -> None:
        for path in args:
            real = self._readable("cat", path)
            if real is not None:
                with real.open("rb") as fh:
                    self.session.write(fh.read(_texts()["read_limit"]).decode(errors="replace"))

    async def _tail(self, args: list[str]) -> None:
        count, paths = 10, []
        it = iter(args)
        for arg in it:
            if arg == "-n":
                value = next(it, "")
                if not value.isdigit():
                    self._say(bash_text("tail_lines", value=value))
                    return
                count = int(value)
            elif arg.startswith("-") and arg[1:].isdigit():
                count = int(arg[1:])
            else:
                paths.append(arg)
        limit = _texts()["read_limit"]
        for path in paths:
            real = self._readable("tail", path)
            if real is not None:
                with real.open("rb") as fh:
                    fh.seek(max(0, real.stat().st_size - limit))
                    lines = fh.read(limit).decode(errors="replace").splitlines()
                if count:
                    self._say("\n".join(lines[-count:]))

    async def _pwd(self, _: list[str]) -> None:
        self._say(self.cwd)

    async def _whoami(self, _: list[str]) -> None:
        self._say(self.user)

    async def _cd(self, args: list[str]) -> None:
        target = self._path(args[0]) if args else self.home
        if not (self.fs_root / target.lstrip("/")).is_dir():
            self._say(bash_text("no_dir", path=args[0]))
            return
        self.cwd = target

    async def _exit(self, _: list[str]) -> None:
        self.session.pop()

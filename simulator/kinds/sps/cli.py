"""SPS's console menu (root's login on the console or over SSH) and the
root shell behind "Shells > Core shell" (sps.md 5). Texts and the menu's
layout are data (cli.yaml)."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.base import Refused
from simulator.kinds.sps.facts import sps
from simulator.kinds.sps.model import SpsDevice
from simulator.terminal.session import Session, Shell


@cache
def _data() -> dict[str, Any]:
    return dict(read_yaml("cli.yaml", __package__))


def _menu_text(key: str, **values: object) -> str:
    return str(_data()["menu"][key]).format(**values)


class MenuShell(Shell):
    """A numbered menu: a number (or an item's label) chooses."""

    def __init__(self, session: Session, device: SpsDevice, fs_root: Path, menu: str = "main") -> None:
        super().__init__(session)
        self.device, self.fs_root, self.menu = device, fs_root, menu

    @property
    def items(self) -> list[dict[str, str]]:
        return list(_data()["menu"]["menus"][self.menu])

    @property
    def prompt(self) -> str:
        lines = [_menu_text("title", label=self.device.label, hostname=self.device.hostname), ""]
        lines += [f"  {i}) {item['label']}" for i, item in enumerate(self.items, 1)]
        return "\n".join(lines) + "\n\n" + _menu_text("choose")

    def help(self, line: str) -> str:
        return ""

    async def on_eof(self) -> None:
        pass

    async def execute(self, line: str) -> None:
        choice = line.strip()
        if not choice:
            return
        item = next((it for i, it in enumerate(self.items, 1)
                     if choice == str(i) or choice.lower() == it["label"].lower()), None)
        if item is None:
            self.session.write(_menu_text("invalid", choice=choice) + "\n")
        elif "menu" in item:
            self.session.push(MenuShell(self.session, self.device, self.fs_root, item["menu"]))
        else:
            await getattr(self, f"do_{item['action']}")()

    async def do_back(self) -> None:
        self.session.pop()

    async def do_logout(self) -> None:
        self.session.close()

    async def do_core_shell(self) -> None:
        self.session.push(CoreShell(self.session, self.device, self.fs_root))

    async def do_show_firmwares(self) -> None:
        device = self.device
        rows = [_menu_text("firmware_header")]
        for slot_id in range(1, sps().slots + 1):
            slot = device.slots.get(slot_id)
            if slot is None:
                continue
            flags = [_menu_text(key) for key, on in (("current", slot_id == device.current),
                                                     ("after_reboot", slot_id == device.after_reboot)) if on]
            rows.append(_menu_text("firmware_row", slot=slot_id, version=slot.version, flags=", ".join(flags)))
        self.session.write("\n".join(rows) + "\n\n")

    async def do_activate_previous(self) -> None:
        try:
            slot_id = self.device.activate_previous()
        except Refused as refused:
            self.session.write(refused.message + "\n")
            return
        self.session.write(_menu_text("activated", version=self.device.slots[slot_id].version, slot=slot_id) + "\n")

    async def do_reboot(self) -> None:
        await self._system("reboot")

    async def do_shutdown(self) -> None:
        await self._system("shutdown")

    async def _system(self, action: str) -> None:
        answer = await self.session.ask(_menu_text("confirm", action=action))
        if (answer or "").strip().lower() not in ("y", "yes"):
            return
        self.session.write(_menu_text("going_down", action=action) + "\n")
        self.session.flush()
        getattr(self.device, action)()


class CoreShell(Shell):
    """bash as root in the core firmware: enough to look around and read logs."""

    def __init__(self, session: Session, device: SpsDevice, fs_root: Path) -> None:
        super().__init__(session)
        self.device, self.fs_root, self.cwd = device, fs_root, "/root"
        (fs_root / "root").mkdir(parents=True, exist_ok=True)
        self.commands: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "ls": self._ls, "cat": self._cat, "pwd": self._pwd, "whoami": self._whoami, "cd": self._cd,
            "exit": self._exit, "logout": self._exit}

    @property
    def prompt(self) -> str:
        where = "~" if self.cwd == "/root" else self.cwd
        return f"root@{self.device.hostname}:{where}# "

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
                self._say(str(_data()["shell"]["not_found"]).format(name=argv[0]))
            else:
                await handler(argv[1:])

    def _say(self, text: str) -> None:
        self.session.write(text + "\n")

    def _path(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path))

    def _real(self, path: str) -> Path:
        return self.fs_root / self._path(path).lstrip("/")

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
                self._say(f"ls: cannot access '{path}': No such file or directory")

    async def _cat(self, args: list[str]) -> None:
        for path in args:
            real = self._real(path)
            if not real.is_file():
                self._say(str(_data()["shell"]["no_file"]).format(cmd="cat", path=path))
                continue
            with real.open("rb") as fh:
                self.session.write(fh.read(_data()["shell"]["read_limit"]).decode(errors="replace"))

    async def _pwd(self, _: list[str]) -> None:
        self._say(self.cwd)

    async def _whoami(self, _: list[str]) -> None:
        self._say("root")

    async def _cd(self, args: list[str]) -> None:
        target = self._path(args[0]) if args else "/root"
        if not (self.fs_root / target.lstrip("/")).is_dir():
            self._say(f"-bash: cd: {args[0]}: No such file or directory")
            return
        self.cwd = target

    async def _exit(self, _: list[str]) -> None:
        self.session.pop()

"""The FTD's expert shell (`expert` from the CLI; `sudo su -` for root): the
few Linux commands upgrade runbooks use, over the device's file system, with
the upgrade's status log generated from the job. Texts in expert.yaml."""

from __future__ import annotations

import posixpath
import shlex
from functools import cache
from pathlib import Path
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.base import Refused
from simulator.kinds.ftd import views
from simulator.kinds.ftd.context import FtdContext, follow_upgrade
from simulator.terminal.session import Session, Shell


@cache
def _facts() -> dict[str, Any]:
    return dict(read_yaml("kinds/ftd/expert.yaml"))


def _text(key: str, **values: str) -> str:
    return str(_facts()["texts"][key]).format(**values)


LOG_DIR = str(_facts()["log_dir"])


class ExpertShell(Shell):
    """The Linux shell behind `expert`: the few commands upgrade runbooks use."""

    def __init__(self, session: Session, ctx: FtdContext, root: bool = False) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.device = ctx.device
        self.root = root
        self.cwd = "/root" if root else "/home/admin"

    @property
    def prompt(self) -> str:
        user, sign = ("root", "#") if self.root else ("admin", "$")
        home = "/root" if self.root else "/home/admin"
        where = "~" if self.cwd == home else posixpath.basename(self.cwd) or "/"
        return f"{user}@{self.device.hostname}:{where}{sign} "

    def help(self, line: str) -> str:
        return ""

    def _say(self, key: str, **values: str) -> None:
        self.session.write(_text(key, **values) + "\n")

    async def execute(self, line: str) -> None:
        try:
            argv = shlex.split(line)
        except ValueError:
            self._say("syntax")
            return
        if not argv:
            return
        if argv[0] == "sudo":
            await self._sudo(argv[1:])
            return
        await self._run(argv)

    async def _run(self, argv: list[str]) -> None:
        name = argv[0]
        handler = {"exit": self._exit, "logout": self._exit, "ls": self._ls, "df": self._df, "cat": self._cat,
                   "tail": self._tail, "pwd": self._pwd, "cd": self._cd, "whoami": self._whoami,
                   "install_update.pl": self._install_update}.get(name)
        if handler is None:
            self._say("not_found", name=name)
            return
        if name == "install_update.pl" and not self.root:
            self._say("needs_root")
            return
        await handler(argv[1:])

    async def _sudo(self, argv: list[str]) -> None:
        if not argv:
            self._say("sudo_usage")
            return
        if not self.root:
            user = self.device.username
            if user not in self.ctx.sudo_lectured:
                self.session.write(_text("sudo_lecture"))
            for attempt in range(3):
                answer = await self.session.ask(_text("sudo_password"), secret=True)
                if answer is None:
                    return
                if answer == self.device.password:
                    self.ctx.sudo_lectured.add(user)
                    break
                self._say("sudo_retry" if attempt < 2 else "sudo_failed")
            else:
                return
        if argv[:2] in (["su", "-"], ["su"]) or argv == ["-i"]:
            self.session.push(ExpertShell(self.session, self.ctx, root=True))
            return
        elevated = ExpertShell(self.session, self.ctx, root=True)
        elevated.cwd = self.cwd
        await elevated._run(argv)

    async def _exit(self, _: list[str]) -> None:
        if self.root:
            self._say("logout")
        self.session.pop()

    async def _pwd(self, _: list[str]) -> None:
        self.session.write(self.cwd + "\n")

    async def _whoami(self, _: list[str]) -> None:
        self.session.write(("root" if self.root else "admin") + "\n")

    async def _cd(self, args: list[str]) -> None:
        target = posixpath.normpath(posixpath.join(self.cwd, args[0])) if args else (
            "/root" if self.root else "/home/admin")
        if not self._real(target).is_dir() and target not in ("/", "/root", "/home/admin", LOG_DIR):
            self._say("cd_missing", path=args[0])
            return
        self.cwd = target

    def _real(self, path: str) -> Path:
        return self.ctx.fs_root / posixpath.normpath(posixpath.join(self.cwd, path)).lstrip("/")

    def _virtual_logs(self) -> dict[str, str]:
        """status.log of the current/last upgrade, generated from the job log."""
        job = self.device.job
        if job is None or not job.package:
            return {}
        folder = f"{LOG_DIR}/{views.status_log_name(job.package)}"
        lines = [views.status_line(e) for e in job.log]
        state = {"IN_PROGRESS": "running", "COMPLETED": "finished", "FAILED": "failed",
                 "CANCELLED": "cancelled"}[job.state]
        lines.append(f"state:{state}")
        lines.append("ui:" + views.upgrade_status(self.device))
        return {f"{folder}/status.log": "\n".join(lines) + "\n"}

    def _read(self, path: str) -> str | None:
        absolute = posixpath.normpath(posixpath.join(self.cwd, path))
        logs = self._virtual_logs()
        if absolute in logs:
            return logs[absolute]
        real = self._real(path)
        if real.is_file():
            return real.read_text(errors="replace")
        return None

    async def _ls(self, args: list[str]) -> None:
        paths = [a for a in args if not a.startswith("-")] or [self.cwd]
        long = any(a.startswith("-") and "l" in a for a in args)
        for p in paths:
            absolute = posixpath.normpath(posixpath.join(self.cwd, p))
            names = sorted(posixpath.basename(k) for k in self._virtual_logs()
                           if posixpath.dirname(k) == absolute)
            real = self._real(p)
            if real.is_dir():
                names += sorted(child.name for child in real.iterdir())
            elif real.is_file():
                names = [p]
            elif not names:
                self._say("ls_missing", path=p)
                continue
            if long:
                for n in names:
                    f = real / n if real.is_dir() else real
                    size = f.stat().st_size if f.exists() else 0
                    self.session.write(f"-rw-r--r-- 1 root root {size:>10} {n}\n")
            elif names:
                self.session.write("  ".join(names) + "\n")

    async def _df(self, _: list[str]) -> None:
        self.session.write(views.disk(self.device) + "\n")

    async def _cat(self, args: list[str]) -> None:
        for p in args:
            text = self._read(p)
            self.session.write(text) if text is not None else self._say("cat_missing", path=p)

    async def _tail(self, args: list[str]) -> None:
        follow = any(a in ("-f", "-F") for a in args)
        count = 10
        files = []
        it = iter(args)
        for a in it:
            if a == "-n":
                count = int(next(it, "10"))
            elif a.startswith("-n") and a[2:].isdigit():
                count = int(a[2:])
            elif not a.startswith("-"):
                files.append(a)
        for p in files:
            text = self._read(p)
            if text is None:
                self._say("tail_missing", path=p)
                continue
            self.session.write("\n".join(text.splitlines()[-count:]) + "\n")
        if follow and files and self.device.job is not None:
            await follow_upgrade(self.session, self.device, detail=True)

    async def _install_update(self, args: list[str]) -> None:
        detach = "--detach" in args
        readiness_only = "--readiness-check" in args
        paths = [a for a in args if not a.startswith("--")]
        if len(paths) != 1:
            self._say("install_usage")
            return
        absolute = posixpath.normpath(posixpath.join(self.cwd, paths[0]))
        real = self.ctx.fs_root / absolute.lstrip("/")
        if not real.is_file():
            self._say("install_missing", path=absolute)
            return
        device = self.device
        try:
            if device.package is None or device.package.filename != real.name:
                self.ctx.register_package(real)
            if readiness_only:
                device.run_readiness_check()
            else:
                device.start_upgrade(auto_cancel=True)
        except Refused as refused:
            self._say("install_error", message=refused.message)
            return
        self._say("install_begins", args=" ".join(args), path=absolute)
        if readiness_only:
            self._say("install_readiness", log_dir=LOG_DIR, folder=views.status_log_name(real.name))
        elif detach:
            self._say("install_detached", log_dir=LOG_DIR, folder=views.status_log_name(real.name))
        else:
            await follow_upgrade(self.session, device, detail=True)

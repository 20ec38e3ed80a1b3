"""The FTD shells: the CLI (`> `), its diagnostic CLI (`host>` / `host#`) and
the expert Linux shell (`admin@host:~$`). Handlers translate commands into
device-model calls and model state into the device's text."""

from __future__ import annotations

import asyncio
import posixpath
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from simulator.journal import Event
from simulator.kinds.base import Refused
from simulator.kinds.ftd import ha_views, views
from simulator.kinds.ftd.files import updates_dir
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import PackageInfo
from simulator.terminal.session import Session, Shell, first_done
from simulator.terminal.tree import Parsed

LOG_DIR = "/ngfw/var/log/sf"


@dataclass
class FtdContext:
    """What an FTD shell needs besides the device: its file system (where
    SFTP/SCP put packages) and how a package file becomes the device's package."""

    device: FtdDevice
    fs_root: Path
    register_package: Callable[[Path], PackageInfo]
    sudo_lectured: set[str] = field(default_factory=set)

    def updates_path(self) -> Path:
        return updates_dir(self.fs_root)


def _yes(answer: str | None) -> bool:
    return (answer or "").strip().upper() == "YES"


class FtdCliShell(Shell):
    tree = views.tree("cli")

    def __init__(self, session: Session, ctx: FtdContext) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.device = ctx.device

    @property
    def prompt(self) -> str:
        return "> "

    async def cmd_show_version(self, _: Parsed) -> str:
        return views.show_version(self.device)

    async def cmd_show_upgrade_status(self, p: Parsed) -> str | None:
        detail = "detail" in p.flags
        text = views.status_detail(self.device) if detail else views.upgrade_status(self.device)
        if "continuous" not in p.flags:
            return text
        self.session.write(text + "\n")
        await follow_upgrade(self.session, self.device, detail)
        return None

    async def cmd_show_last_upgrade_status(self, _: Parsed) -> str:
        return views.last_upgrade(self.device)

    async def cmd_show_upgrade_revert_info(self, _: Parsed) -> str:
        return views.revert_info(self.device)

    async def cmd_show_disk(self, _: Parsed) -> str:
        return views.disk(self.device)

    async def cmd_show_time(self, _: Parsed) -> str:
        return views.ftd_text("time", utc=views.stamp(self.device.local_time())).rstrip("\n")

    async def cmd_show_managers(self, _: Parsed) -> str:
        return views.ftd_text("managers_local")

    async def cmd_show_failover(self, _: Parsed) -> str:
        return ha_views.show_failover(self.device)

    async def cmd_show_failover_state(self, _: Parsed) -> str:
        return ha_views.show_failover_state(self.device)

    async def cmd_show_ha_config(self, _: Parsed) -> str:
        return ha_views.show_ha_config(self.device)

    def _pair_action(self, action: str) -> str | None:
        pair = self.device.ha
        if pair is None:
            return ha_views.ha_text("not_configured")
        return self._refusable(getattr(pair, action))

    async def cmd_configure_ha_suspend(self, _: Parsed) -> str | None:
        return self._pair_action("suspend") or ha_views.ha_text("suspended")

    async def cmd_configure_ha_resume(self, _: Parsed) -> str | None:
        return self._pair_action("resume") or ha_views.ha_text("resumed")

    async def cmd_configure_ha_disable(self, _: Parsed) -> str | None:
        if not _yes(await self.session.ask(ha_views.ha_text("disable_confirm"))):
            return None
        return self._pair_action("break_pair") or ha_views.ha_text("disabled")

    async def cmd_configure_hostname(self, p: Parsed) -> str | None:
        return self._refusable(lambda: self.device.set_hostname(p.args["hostname"]))

    async def cmd_upgrade_cancel(self, _: Parsed) -> str:
        job = self.device.job
        error = self._refusable(self.device.cancel_upgrade)
        return error or views.ftd_text("cancel_started", version=job.base_version if job else "")

    async def cmd_upgrade_retry(self, _: Parsed) -> str:
        return self._refusable(self.device.retry_upgrade) or views.ftd_text("retry_started")

    async def cmd_upgrade_revert(self, _: Parsed) -> str | None:
        snap = self.device.revert
        if snap is None:
            return views.ftd_text("revert_info_none")
        if not _yes(await self.session.ask(views.ftd_text("revert_confirm", version=snap.version))):
            return None
        return self._refusable(self.device.start_revert) or views.ftd_text("revert_started", version=snap.version)

    async def cmd_upgrade_cleanup_revert(self, _: Parsed) -> str | None:
        snap = self.device.revert
        if snap is None:
            return views.ftd_text("revert_info_none")
        if not _yes(await self.session.ask(views.ftd_text("cleanup_confirm", version=snap.version))):
            return None
        return self._refusable(self.device.cleanup_revert) or views.ftd_text("cleanup_done")

    async def cmd_reboot(self, _: Parsed) -> str | None:
        if not _yes(await self.session.ask(views.ftd_text("reboot_confirm"))):
            return None
        return self._refusable(self.device.reboot)

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.pop()

    async def cmd_help(self, _: Parsed) -> str:
        return self.help("")

    async def cmd_expert(self, _: Parsed) -> None:
        self.session.push(ExpertShell(self.session, self.ctx))

    async def cmd_diagnostic_cli(self, _: Parsed) -> str:
        self.session.push(DiagShell(self.session, self.ctx))
        return views.ftd_text("diag_attach")


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


class DiagShell(Shell):
    """The Lina diagnostic CLI; netmiko's cisco_ftd enable() lives here."""

    tree = views.tree("cli_diag")
    hotkeys = {"\x01d": "detach"}

    def __init__(self, session: Session, ctx: FtdContext) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.device = ctx.device
        self.privileged = False

    @property
    def prompt(self) -> str:
        return f"{self.device.hostname}{'#' if self.privileged else '>'} "

    def _text(self, key: str, **values) -> str:
        return views.template("cli_diag", key, **values).rstrip("\n")

    async def on_hotkey(self, name: str) -> None:
        if name == "detach":
            self.session.write(views.ftd_text("diag_detach") + "\n")
            self.session.pop()

    async def cmd_enable(self, _: Parsed) -> None:
        if self.privileged:
            return
        # The diagnostic CLI's enable password is empty by default; any answer is taken.
        if await self.session.ask("Password: ", secret=True) is not None:
            self.privileged = True

    async def cmd_disable(self, _: Parsed) -> None:
        self.privileged = False

    async def cmd_exit(self, _: Parsed) -> None:
        if self.privileged:
            self.privileged = False
        else:
            await self.on_hotkey("detach")

    async def cmd_help(self, _: Parsed) -> str:
        return self.help("")

    async def cmd_terminal_pager(self, _: Parsed) -> None:
        return None

    async def cmd_terminal_width(self, _: Parsed) -> None:
        return None

    async def cmd_show_curpriv(self, _: Parsed) -> str:
        level, mode = (15, "PRIV") if self.privileged else (1, "UNPR")
        return self._text("curpriv", level=level, mode=mode)

    async def cmd_show_version(self, _: Parsed) -> str:
        d = self.device
        body = self._text("show_version_body", asa=d.asa_version, ssp=d.ssp_version,
                          hostname=d.hostname, uptime=views.uptime(d), hardware=d.info.asa_hardware,
                          mac=d.uuid[:4], serial=d.serial,
                          modified=time.strftime("%H:%M:%S.000 UTC %a %b %d %Y", time.gmtime(d.booted_at)))
        return views.show_version(d) + "\n" + body

    async def cmd_show_failover(self, _: Parsed) -> str:
        return ha_views.show_failover(self.device)

    async def cmd_show_failover_state(self, _: Parsed) -> str:
        return ha_views.show_failover_state(self.device)

    async def cmd_show_interface_ip_brief(self, _: Parsed) -> str:
        return self._text("show_interface_ip_brief")


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

    async def execute(self, line: str) -> None:
        try:
            argv = shlex.split(line)
        except ValueError:
            self.session.write("-bash: syntax error: unexpected end of file\n")
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
            self.session.write(f"-bash: {name}: command not found\n")
            return
        if name == "install_update.pl" and not self.root:
            self.session.write("install_update.pl: must be run as root (use sudo)\n")
            return
        await handler(argv[1:])

    async def _sudo(self, argv: list[str]) -> None:
        if not argv:
            self.session.write("usage: sudo -h | -K | -k | -V\n")
            return
        if not self.root:
            user = self.device.username
            if user not in self.ctx.sudo_lectured:
                self.session.write(
                    "\nWe trust you have received the usual lecture from the local System\n"
                    "Administrator. It usually boils down to these three things:\n\n"
                    "    #1) Respect the privacy of others.\n"
                    "    #2) Think before you type.\n"
                    "    #3) With great power comes great responsibility.\n\n")
            for attempt in range(3):
                answer = await self.session.ask("Password: ", secret=True)
                if answer is None:
                    return
                if answer == self.device.password:
                    self.ctx.sudo_lectured.add(user)
                    break
                self.session.write("Sorry, try again.\n" if attempt < 2 else "sudo: 3 incorrect password attempts\n")
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
            self.session.write("logout\n")
        self.session.pop()

    async def _pwd(self, _: list[str]) -> None:
        self.session.write(self.cwd + "\n")

    async def _whoami(self, _: list[str]) -> None:
        self.session.write(("root" if self.root else "admin") + "\n")

    async def _cd(self, args: list[str]) -> None:
        target = posixpath.normpath(posixpath.join(self.cwd, args[0])) if args else (
            "/root" if self.root else "/home/admin")
        if not self._real(target).is_dir() and target not in ("/", "/root", "/home/admin", LOG_DIR):
            self.session.write(f"-bash: cd: {args[0]}: No such file or directory\n")
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
                self.session.write(f"ls: cannot access '{p}': No such file or directory\n")
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
            self.session.write(text if text is not None else f"cat: {p}: No such file or directory\n")

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
                self.session.write(f"tail: cannot open '{p}' for reading: No such file or directory\n")
                continue
            self.session.write("\n".join(text.splitlines()[-count:]) + "\n")
        if follow and files and self.device.job is not None:
            await follow_upgrade(self.session, self.device, detail=True)

    async def _install_update(self, args: list[str]) -> None:
        detach = "--detach" in args
        readiness_only = "--readiness-check" in args
        paths = [a for a in args if not a.startswith("--")]
        if len(paths) != 1:
            self.session.write("Usage: install_update.pl [--detach] [--readiness-check] <update bundle>\n")
            return
        absolute = posixpath.normpath(posixpath.join(self.cwd, paths[0]))
        real = self.ctx.fs_root / absolute.lstrip("/")
        if not real.is_file():
            self.session.write(f"Update bundle {absolute} not found.\n")
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
            self.session.write(f"ERROR: {refused.message}\n")
            return
        self.session.write(f"ARGV[0] = {' '.join(args)}\nbundle_filepath: {absolute}\n"
                           f"install_update.pl begins.  bundle_filepath: {absolute}\n")
        if readiness_only:
            self.session.write(f"Readiness check started. Log: {LOG_DIR}/{views.status_log_name(real.name)}"
                               "/upgrade_readiness/main_upgrade_script.log\n")
        elif detach:
            self.session.write(f"Upgrade started in the background. Status: {LOG_DIR}/"
                               f"{views.status_log_name(real.name)}/status.log\n")
        else:
            await follow_upgrade(self.session, device, detail=True)

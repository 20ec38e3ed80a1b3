"""The FTD's expert shell (`expert` from the CLI; `sudo su -` for root): the
few Linux commands upgrade runbooks use, over the device's file system, with
the upgrade's status log generated from the job. Texts in expert.yaml.

Files are read a block at a time and never more than `read_limit` bytes of
one (`tail` reads from the end), so a huge or sparse file costs no memory;
paths are checked against Linux's limits before the host sees them, and a
file error answers with the text the command prints on Linux. sudo counts
wrong passwords per user as pam_faillock does and locks the account after
`faillock.deny` failures in a row."""

from __future__ import annotations

import asyncio
import codecs
import errno
import hashlib
import math
import posixpath
import re
import shlex
import stat
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import cache
from pathlib import Path
from typing import IO, Any
from weakref import WeakKeyDictionary

from simulator.facts import read_yaml
from simulator.kinds.base import Refused
from simulator.kinds.ftd import views
from simulator.kinds.ftd.context import FtdContext, follow_upgrade
from simulator.kinds.ftd.model import FtdDevice
from simulator.terminal.logins import LoginPolicy, Tally
from simulator.terminal.session import Session, Shell

NAME_MAX, PATH_MAX = 255, 4096      # Linux: bytes in one path component, in a whole path
BLOCK = 65536                       # bytes read from a file at a time
LINES = re.compile(r"[+-]?\d+")


@cache
def _facts() -> dict[str, Any]:
    return dict(read_yaml("kinds/ftd/expert.yaml"))


def _ls_date(when: float, now: float) -> str:
    """GNU ls -l's date: month, day and time within six months of now, else the year."""
    recent = abs(now - when) < 182 * 86400
    return time.strftime("%b %e %H:%M" if recent else "%b %e  %Y", time.gmtime(when))


def _md5(fh: IO[bytes]) -> str:
    digest = hashlib.md5()
    while block := fh.read(BLOCK):
        digest.update(block)
    return digest.hexdigest()


def _text(key: str, **values: object) -> str:
    return str(_facts()["texts"][key]).format(**values)


def _reason(error: OSError) -> str:
    """strerror as the device's C library words it."""
    reasons = _facts()["errno"]
    return str(reasons.get(errno.errorcode.get(error.errno or 0, ""), reasons["EIO"]))


LOG_DIR = str(_facts()["log_dir"])
READ_LIMIT = int(_facts()["read_limit"])
FAILLOCK = LoginPolicy.model_validate(_facts()["faillock"])
_faillock: WeakKeyDictionary[FtdDevice, Tally] = WeakKeyDictionary()


def faillock(device: FtdDevice) -> Tally:
    """The device's pam_faillock tally (kept in /run: gone when the lab restarts)."""
    if device not in _faillock:
        _faillock[device] = Tally(FAILLOCK.interval, device.ctx.clock.now)
    return _faillock[device]


def _tail_bytes(fh: IO[bytes], count: int) -> bytes:
    """The end of a file holding its last `count` lines, read backwards a block
    at a time; at most READ_LIMIT bytes of it."""
    end = fh.seek(0, 2)
    start, data = end, b""
    while start > 0 and data.count(b"\n") <= count and end - start < READ_LIMIT:
        step = min(BLOCK, start, READ_LIMIT - (end - start))
        start -= step
        fh.seek(start)
        data = fh.read(step) + data
    return data


class ExpertShell(Shell):
    """The Linux shell behind `expert`: the few commands upgrade runbooks use."""

    @staticmethod
    def notice() -> str:
        """What `expert` prints on the way in: shell access is to be deprecated."""
        return _text("notice")

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

    def failure_text(self, line: str) -> str:
        return _text("failure", name=(line.split() or [""])[0])

    async def on_eof(self) -> None:
        """Ctrl-D at an empty prompt: bash leaves as `exit` does."""
        await self._exit([])

    def _say(self, key: str, **values: object) -> None:
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
        handlers: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "exit": self._exit, "logout": self._exit, "ls": self._ls, "df": self._df, "cat": self._cat,
            "tail": self._tail, "pwd": self._pwd, "cd": self._cd, "whoami": self._whoami,
            "uname": self._uname, "id": self._id, "md5sum": self._md5sum,
            "install_update.pl": self._install_update}
        handler = handlers.get(name)
        if handler is None:
            self._say("not_found", name=name)
            return
        if name == "install_update.pl" and not self.root:
            self._say("needs_root")
            return
        await handler(argv[1:])

    # -- sudo -----------------------------------------------------------------------------
    async def _sudo(self, argv: list[str]) -> None:
        if not argv:
            self._say("sudo_usage")
            return
        if not self.root and not await self._authenticate():
            return
        if argv[:2] in (["su", "-"], ["su"]) or argv == ["-i"]:
            self.session.push(ExpertShell(self.session, self.ctx, root=True))
            return
        elevated = ExpertShell(self.session, self.ctx, root=True)
        elevated.cwd = self.cwd
        await elevated._run(argv)

    async def _authenticate(self) -> bool:
        """sudo's three tries; pam_faillock says so while the account is locked."""
        user, tally = self.device.username, faillock(self.device)
        if user not in self.ctx.sudo_lectured:
            self.session.write(_text("sudo_lecture"))
        for attempt in range(3):
            locked = tally.locked_for(user, FAILLOCK.deny, FAILLOCK.unlock)
            if locked:
                self._say("faillock_locked", failures=tally.count(user))
                self._say("faillock_left", minutes=math.ceil(locked / 60))
            answer = await self.session.ask(_text("sudo_password"), secret=True)
            if answer is None:
                return False
            if answer == self.device.password and not locked:
                self.ctx.sudo_lectured.add(user)
                tally.passed(user)
                return True
            tally.failed(user)
            self._say("sudo_retry" if attempt < 2 else "sudo_failed")
        return False

    # -- navigation -----------------------------------------------------------------------
    async def _exit(self, _: list[str]) -> None:
        """bash says which shell it leaves: root's login shell (`sudo su -`) "logout", admin's "exit"."""
        self._say("logout" if self.root else "exit")
        self.session.pop()

    async def _pwd(self, _: list[str]) -> None:
        self.session.write(self.cwd + "\n")

    async def _whoami(self, _: list[str]) -> None:
        self.session.write(("root" if self.root else "admin") + "\n")

    async def _id(self, _: list[str]) -> None:
        self.session.write(_facts()["ids"]["root" if self.root else "admin"] + "\n")

    async def _uname(self, args: list[str]) -> None:
        """GNU uname: -s (the default), -n, -r, -v, -m, -o; -a for all of them."""
        facts = _facts()["uname"]
        fields = {"s": facts["kernel"], "n": self.device.hostname, "r": facts["release"], "v": facts["version"],
                  "m": facts["machine"], "o": facts["os"]}
        flags = "".join(a[1:] for a in args if a.startswith("-")) or "s"
        wrong = next((c for c in flags if c not in "snrvmoa"), None)
        if wrong is not None:
            self._say("uname_option", option=wrong)
            return
        if "a" in flags:        # GNU's -a: processor and hardware platform repeat the machine on Linux
            shown = [fields[f] for f in "snrvm"] + [facts["machine"]] * 2 + [fields["o"]]
        else:
            shown = [fields[f] for f in "snrvmo" if f in flags]
        self.session.write(" ".join(shown) + "\n")

    async def _md5sum(self, args: list[str]) -> None:
        """Digests read in a thread, a block at a time: a big file holds up neither memory nor the lab."""
        for p, source in self._sources(args, "md5sum_error"):
            if isinstance(source, str):
                digest = hashlib.md5(source.encode()).hexdigest()
            else:
                with source:
                    digest = await asyncio.to_thread(_md5, source)
            self.session.write(f"{digest}  {p}\n")

    async def _cd(self, args: list[str]) -> None:
        target = self._absolute(args[0]) if args else ("/root" if self.root else "/home/admin")
        if target in ("/", "/root", "/home/admin", LOG_DIR):
            self.cwd = target
            return
        try:
            real = self._real(target)
            if not real.is_dir():
                raise OSError(errno.ENOTDIR if real.exists() else errno.ENOENT, "", target)
        except OSError as error:
            self._say("cd_error", path=args[0], reason=_reason(error))
            return
        self.cwd = target

    # -- the file system ----------------------------------------------------------------------
    def _absolute(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path))

    def _real(self, path: str) -> Path:
        """The host file behind a device path; ENAMETOOLONG where Linux would refuse the name."""
        absolute = self._absolute(path)
        if len(path.encode()) >= PATH_MAX or any(len(part.encode()) > NAME_MAX for part in absolute.split("/")):
            raise OSError(errno.ENAMETOOLONG, "", path)
        return self.ctx.fs_root / absolute.lstrip("/")

    def _virtual_logs(self) -> dict[str, str]:
        """The logs install_update.pl names, generated: status.log of the current/last
        upgrade (from the job log) and the last readiness check's main script log."""
        logs, job, check = {}, self.device.job, self.device.readiness
        if job is not None and job.package:
            lines = [views.status_line(e) for e in job.log]
            state = {"IN_PROGRESS": "running", "COMPLETED": "finished", "FAILED": "failed",
                     "CANCELLED": "cancelled"}[job.state]
            lines += [f"state:{state}", "ui:" + views.upgrade_status(self.device)]
            logs[f"{LOG_DIR}/{views.status_log_name(job.package)}/status.log"] = "\n".join(lines) + "\n"
        if check is not None:
            lines = [_text("readiness_log_start", time=views.stamp(check.started), package=check.package)]
            lines += [_text("readiness_log_line", time=views.stamp(check.finished or check.started), text=m)
                      for m in check.messages]
            if check.finished is not None:
                lines.append(_text("readiness_log_end", time=views.stamp(check.finished), state=check.state))
            folder = f"{LOG_DIR}/{views.status_log_name(check.package)}/upgrade_readiness"
            logs[f"{folder}/main_upgrade_script.log"] = "\n".join(lines) + "\n"
        return logs

    def _sources(self, paths: list[str], error: str) -> Iterator[tuple[str, IO[bytes] | str]]:
        """Each path's file to read (`_open`), the command's error text for one that cannot be opened."""
        for p in paths:
            try:
                source = self._open(p)
            except OSError as exc:
                self._say(error, path=p, reason=_reason(exc))
                continue
            yield p, source

    def _open(self, path: str) -> IO[bytes] | str:
        """A device file to read: its generated text (status.log) or the host file; OSError if none."""
        text = self._virtual_logs().get(self._absolute(path))
        if text is not None:
            return text
        real = self._real(path)
        if real.is_dir():
            raise OSError(errno.EISDIR, "", path)
        return real.open("rb")

    async def _ls(self, args: list[str]) -> None:
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        for p in [a for a in args if not a.startswith("-")] or [self.cwd]:
            try:
                self._ls_one(p, long="l" in flags, hidden="a" in flags)
            except OSError as error:
                self._say("ls_error", path=p, reason=_reason(error))

    def _ls_one(self, path: str, long: bool, hidden: bool) -> None:
        absolute = self._absolute(path)
        names = sorted(posixpath.basename(k) for k in self._virtual_logs() if posixpath.dirname(k) == absolute)
        real = self._real(path)
        if real.is_dir():
            names += sorted(c.name for c in real.iterdir() if hidden or not c.name.startswith("."))
        elif real.is_file():
            names = [path]
        elif not names:
            raise OSError(errno.ENOENT, "", path)
        if not long:
            self.session.write("  ".join(names) + "\n" if names else "")
            return
        virtual, now = self._virtual_logs(), self.device.local_time()
        rows = []
        for n in names:
            f = real / n if real.is_dir() else real
            st = f.stat() if f.exists() else None
            folder = st is not None and stat.S_ISDIR(st.st_mode)
            size = st.st_size if st else len(virtual.get(posixpath.join(absolute, n), ""))
            rows.append(("drwxr-xr-x" if folder else "-rw-r--r--", size, st.st_mtime if st else now, n))
        width = max((len(str(size)) for _, size, _, _ in rows), default=1)
        if real.is_dir():       # GNU ls: 1K blocks used, before a folder's entries
            self.session.write(f"total {sum(-(-size // 4096) * 4 for _, size, _, _ in rows)}\n")
        for mode, size, when, n in rows:
            self.session.write(f"{mode} 1 root root {size:>{width}} {_ls_date(when, now)} {n}\n")

    async def _df(self, _: list[str]) -> None:
        self.session.write(views.disk(self.device) + "\n")

    async def _cat(self, args: list[str]) -> None:
        for _, source in self._sources(args, "cat_error"):
            if isinstance(source, str):
                self.session.write(source)
                continue
            with source:
                await self._stream(source)

    async def _stream(self, fh: IO[bytes]) -> None:
        """A file to the terminal a block at a time, as fast as the client reads, up to READ_LIMIT."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        left = READ_LIMIT
        while left > 0 and not self.session.closed:
            block = fh.read(min(BLOCK, left))
            if not block:
                break
            left -= len(block)
            self.session.write(decoder.decode(block))
            await self.session.drain()
        self.session.write(decoder.decode(b"", final=True))

    async def _tail(self, args: list[str]) -> None:
        count, files, follow = "10", [], False
        it = iter(args)
        for a in it:
            if a == "-n":
                count = next(it, "")
            elif a.startswith("-n"):
                count = a[2:]
            elif a in ("-f", "-F"):
                follow = True
            elif not a.startswith("-"):
                files.append(a)
        if not LINES.fullmatch(count):
            self._say("tail_lines", count=count)
            return
        for p in files:
            self._tail_one(p, count)
        if follow and files and self.device.job is not None:
            await follow_upgrade(self.session, self.device, detail=True)

    def _tail_one(self, path: str, count: str) -> None:
        try:
            source = self._open(path)
        except OSError as error:
            key = "tail_read_error" if error.errno == errno.EISDIR else "tail_error"
            self._say(key, path=path, reason=_reason(error))
            return
        from_start = count.startswith("+")        # `+N`: from line N on
        if isinstance(source, str):
            text = source
        else:
            with source:
                data = source.read(READ_LIMIT) if from_start else _tail_bytes(source, abs(int(count)))
            text = data.decode(errors="replace")
        lines = text.splitlines()
        shown = lines[max(int(count) - 1, 0):] if from_start else lines[len(lines) - abs(int(count)):]
        self.session.write("".join(line + "\n" for line in shown))

    # -- upgrades -------------------------------------------------------------------------------
    async def _install_update(self, args: list[str]) -> None:
        detach = "--detach" in args
        readiness_only = "--readiness-check" in args
        paths = [a for a in args if not a.startswith("--")]
        if len(paths) != 1:
            self._say("install_usage")
            return
        absolute = self._absolute(paths[0])
        try:
            real = self._real(absolute)
            found = real.is_file()
        except OSError:
            found = False
        if not found:
            self._say("install_missing", path=absolute)
            return
        device = self.device
        try:
            if device.package is None or device.package.filename != real.name:
                self.ctx.register_package(real)
            if readiness_only:
                device.run_readiness_check()
            else:
                # install_update.pl asks nothing: its own first scripts check the package
                device.start_upgrade(auto_cancel=True, force=True)
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

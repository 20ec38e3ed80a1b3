"""One device's console line, shared by every client attached to it (as on a
terminal server): all of them see what the device prints, and what any of
them types goes to the one program running on the line.

The line follows the device through its journal events. It prints the
vendor's boot text at each milestone (shutdown on `reboot`, firmware and OS
on `booting`, services on the `apps` boot phase), placing lines at small
simulated offsets after the event with the lab clock; whatever is still
pending when the next milestone starts is printed at once, so nothing is lost
and the order holds. When the device is up the line runs a getty (login
prompt, then the CLI the kind names: an FTD's CLISH); when the device cannot
boot its software, the kind's rescue shell, which refuses everything. A reboot or power loss ends the program
but never the clients' connections. When the last client leaves, the line
hangs up: a logged-in shell ends and the login prompt is back.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from simulator.clock import Timer
from simulator.journal import Event, Journal
from simulator.kinds.base import Refused
from simulator.surfaces.console.transcript import ConsoleKind
from simulator.terminal.logins import LoginBrake, LoginPolicy
from simulator.terminal.session import Session

log = logging.getLogger(__name__)
TYPE_AHEAD = 65536      # characters a line holds for its program; more is lost, as when a UART overruns


class ConsoleClient(Protocol):
    """One attached client (a telnet or SSH connection). A client may also have
    `async drain()`, returning when it has taken most of what was written: the
    line's program then waits for its slowest client, as a serial line does."""

    def write(self, text: str) -> None: ...
    def close(self) -> None: ...


class _LineChannel:
    """The session channel of the line's program: the merged input of every
    client in, a broadcast to every client out. Closing it leaves the line up."""

    def __init__(self, line: ConsoleLine) -> None:
        self.line = line

    async def read(self) -> str:
        return await self.line._read()

    def write(self, text: str) -> None:
        self.line.broadcast(text)

    async def drain(self) -> None:
        for client in list(self.line.clients):
            drain = getattr(client, "drain", None)
            if drain is not None:
                try:
                    await drain()
                except Exception:       # the client went away: the line goes on without it
                    self.line.detach(client)

    def close(self) -> None:
        pass


class _Pending:
    """A milestone line waiting for its moment on the clock."""

    __slots__ = ("key", "text", "timer")

    def __init__(self, key: tuple[float, int], text: str) -> None:
        self.key = key          # (due time, order of scheduling)
        self.text = text
        self.timer: Timer | None = None

    def __lt__(self, other: _Pending) -> bool:
        return self.key < other.key

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()


class _Input:
    """What clients typed, in order, for the line's one program to read: lighter than an
    asyncio.Queue (four deques, about 3 KB), which every line idling at its login prompt
    would hold, times every device of a fleet."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[str | None] = []       # bounded: TYPE_AHEAD characters (and a hang-up)
        self.waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: str | None) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self) -> str | None:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)


class ConsoleLine:
    def __init__(self, device: Any, fs_root: Path, kind: ConsoleKind, journal: Journal | None = None) -> None:
        self.device = device
        self.fs_root = fs_root
        self.kind = kind
        self.journal = journal or device.ctx.journal
        self.clients: list[ConsoleClient] = []
        self.phase = "off"          # off | down (shutting down, booting) | up (getty) | failed (rescue)
        self.stage = ""             # what the program waits for: login | password | shell | rescue
        self.last_login: str | None = None
        self.brake = LoginBrake(LoginPolicy.model_validate((kind.data.get("login") or {}).get("brake") or {}))
        self.channel = _LineChannel(self)
        self._input = _Input()
        self._queued = 0            # characters in _input
        self._waiting = False
        self._task: asyncio.Task[None] | None = None
        self._session: Session | None = None
        self._prompt = ""
        self._pending: list[_Pending] = []      # sorted by due time
        self._seq = 0
        self._reset_cause = self.kind.reset_cause("power")
        self._at_line_start = True
        self._unsubscribe: Callable[[], None] | None = None

    # -- life cycle ----------------------------------------------------------------
    def start(self, follow: bool = True) -> None:
        """Take up the device's current state and (with `follow`) subscribe to
        its events; a surface holding many lines dispatches them itself."""
        if follow:
            self._unsubscribe = self.journal.subscribe(self.on_event, device=self.device.name)
        state = self.device.state
        if self.device.services_up:
            self._start(self._getty, "up")
        elif self.kind.failed(self.device):
            self._start(self._rescue, "failed")
        else:
            self.phase = "off" if state == "off" else "down"

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._drop()
        task = self._end_program()
        for client in list(self.clients):
            try:
                client.close()
            except Exception:
                pass
        self.clients.clear()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    @property
    def idle(self) -> bool:
        """The line's program (if any) waits for input: its prompt is out."""
        return self._task is None or self._task.done() or self._waiting

    # -- clients ---------------------------------------------------------------------
    def attach(self, client: ConsoleClient) -> None:
        self.clients.append(client)
        # what was on the line is evidence too (an exercise asks that the console was read before a reimage)
        self.journal.emit(self.device.name, "console.attached", clients=len(self.clients), phase=self.phase)
        greeting = self._greeting()
        if greeting:
            client.write(greeting)

    def detach(self, client: ConsoleClient) -> None:
        if client in self.clients:
            self.clients.remove(client)
            if not self.clients and self._task is not None and not self._task.done():
                self._input.put_nowait(None)     # hang up: the program sees end of input

    def feed(self, text: str) -> None:
        """What a client typed. Without a program on the line it goes nowhere;
        past TYPE_AHEAD characters waiting for the program, it is lost."""
        text = text[:TYPE_AHEAD - self._queued]
        if text and self._task is not None and not self._task.done():
            self._queued += len(text)
            self._input.put_nowait(text)

    def broadcast(self, text: str) -> None:
        if not text:
            return
        self._at_line_start = text.endswith("\n")
        for client in list(self.clients):
            try:
                client.write(text)
            except Exception:
                self.detach(client)

    def _greeting(self) -> str:
        """What a client that attaches sees: the prompt the program waits at
        (a real line would need a key press first), or nothing while the
        device is off or booting."""
        if not self._waiting:
            return ""
        if self.phase == "failed":
            failure = "".join(line.text + "\r\n" for line in self.kind.milestone(self.device, "failure"))
            banner = self.kind.rescue_text("banner", self.device).replace("\n", "\r\n")
            return "\r\n" + failure + banner + self.kind.rescue_text("prompt", self.device)
        session = self._session
        if self.stage == "shell" and session is not None and session.stack:
            return "\r\n" + session.shell.prompt
        return "\r\n" + self._prompt

    async def _read(self) -> str:
        self._waiting = True
        try:
            item = await self._input.get()
        finally:
            self._waiting = False
        self._queued -= len(item or "")
        return item or ""

    # -- device events -------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """One of the device's journal events."""
        try:
            self._follow(event)
        except Exception:      # the console must never break the device model
            log.exception("console of %s: event %s", self.device.name, event.get("kind"))

    def _follow(self, event: Event) -> None:
        kind = event["kind"]
        if kind == "reboot":
            self._reset_cause = self.kind.reset_cause("reboot")
            self._end_program()
            self.phase = "down"
            self._play("shutdown")
        elif kind == "power":
            if event.get("action") == "off":
                self._end_program()
                self._drop()
                self.phase = "off"
                self._play("power_off")
            else:
                self._reset_cause = self.kind.reset_cause("power")
        elif kind == "reimage":
            self._reset_cause = self.kind.reset_cause("reimage")
            self._end_program()
            self.phase = "down"
            self._play("reimage", at_once=True)
        elif kind == "boot" and event.get("phase") == "apps":
            self._play("apps")
        elif kind == "fault" and event.get("action") == "hang" and event.get("point") in ("boot", "reboot"):
            self._drop()       # the device hangs: its output stops where it is
        elif kind == "state":
            self._state(event["state"])
        else:
            text = self.kind.message(event)
            if text:
                self._write_line(text)

    def _state(self, state: str) -> None:
        if self.kind.booting(self.device):
            self._end_program()
            self.phase = "down"
            self._play("booting", reset_cause=self._reset_cause)
            for name in self.kind.boot_milestones(self.device):
                self._play(name, flush=False)
        elif self.kind.failed(self.device):
            self._end_program()
            self._play("failure", at_once=True)
            self._start(self._rescue, "failed")
        elif state == "off":
            self._end_program()
            self._drop()
            self.phase = "off"
        elif self.device.services_up and self.phase != "up":
            if self.phase == "down":
                self._play("online", at_once=True)
            else:
                self._flush()
            self._start(self._getty, "up")
        elif not self.device.services_up and self.phase == "up":
            self._end_program()
            self.phase = "down"

    # -- printing ----------------------------------------------------------------------
    def _write_line(self, text: str) -> None:
        self.broadcast(("" if self._at_line_start else "\r\n") + text + "\r\n")

    def _play(self, name: str, *, at_once: bool = False, flush: bool = True, **extra: object) -> None:
        """Print a milestone: lines due now at once, later ones on the clock."""
        if flush:
            self._flush()
        clock = self.device.ctx.clock
        for line in self.kind.milestone(self.device, name, **extra):
            if at_once or line.at <= 0:
                self._write_line(line.text)
            else:
                self._seq += 1
                pending = _Pending((clock.now() + line.at, self._seq), line.text)
                pending.timer = clock.call_later(line.at, self._due, pending)
                bisect.insort(self._pending, pending)

    def _due(self, item: _Pending) -> None:
        # Timers fire in order; whatever was queued before this line goes out first.
        if item not in self._pending:
            return
        while self._pending:
            first = self._pending.pop(0)
            self._write_line(first.text)
            if first is item:
                break

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for item in pending:
            item.cancel()
            self._write_line(item.text)

    def _drop(self) -> None:
        pending, self._pending = self._pending, []
        for item in pending:
            item.cancel()

    # -- the line's program ---------------------------------------------------------------
    def _start(self, program: Callable[[], object], phase: str) -> None:
        self._end_program()
        self.phase = phase
        self._input, self._queued = _Input(), 0      # type-ahead from before does not count
        self._task = asyncio.get_running_loop().create_task(program())  # type: ignore[arg-type]

    def _end_program(self) -> asyncio.Task[None] | None:
        """Stop whatever runs on the line (its shell is gone with the OS)."""
        task, self._task = self._task, None
        if self._session is not None:
            self._session.close()
            self._session = None
        self.stage = ""
        self._waiting = False
        if task is not None and not task.done():
            task.cancel()
        return task

    def _new_session(self) -> Session:
        device = self.device
        def on_command(mode: str, line: str) -> None:
            self.journal.emit(device.name, "command", mode=mode, line=line, via="console")
        if self._session is not None:
            self._session.flush()       # the last session's words come before the next one's
        session = Session(self.channel, interactive=True, on_command=on_command)
        self._session = session
        return session

    def _running(self) -> bool:
        """Whether the calling program still owns the line (a reboot ends it,
        possibly from inside one of its own commands)."""
        return self._task is not None and self._task is asyncio.current_task()

    async def _getty(self) -> None:
        device, kind = self.device, self.kind
        while self._running():
            session = self._new_session()
            if kind.needs_login and not await self._login(session):
                continue
            self.stage = "shell"
            if kind.needs_login:
                stamp = kind.login_stamp(device)
                last, self.last_login = self.last_login or stamp, stamp
                session.write(kind.banner(device, last))
            try:
                await session.run(kind.shell(session, device, self.fs_root))
            except Refused as refused:
                session.write(refused.message + "\n")

    async def _login(self, session: Session) -> bool:
        device = self.device
        self.stage = "login"
        self._prompt = self.kind.login_text("prompt", device)
        user = await session.ask(self._prompt)
        if user is None or not user.strip():
            return False
        self.stage = "password"
        self._prompt = self.kind.login_text("password", device)
        password = await session.ask(self._prompt, secret=True)
        if password is None:
            return False
        ok = user.strip() == device.username and password == device.password
        self.journal.emit(device.name, "console.login", user=user.strip(), ok=ok)
        if ok:
            self.brake.passed("console", user.strip())
        else:
            await self.brake.failed("console", user.strip())
            session.write(self.kind.login_text("incorrect", device) + "\n")
        return ok

    async def _rescue(self) -> None:
        while self._running():
            session = self._new_session()
            self.stage = "rescue"
            session.write(self.kind.rescue_text("banner", self.device))
            await session.run(self.kind.rescue_shell(session, self.device))

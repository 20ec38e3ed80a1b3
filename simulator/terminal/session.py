"""A terminal session: line editing over a byte-less text channel, and a stack
of shells (FTD CLI -> diagnostic CLI, expert ...). Transport-agnostic: the SSH
surface and the consoles hand it a `Channel`.

Input is taken a chunk at a time (what one read returns) and the echo and
answers it causes are sent as one write (with the next prompt, when the
command did not wait on anything); between chunks, and whenever
`OUTPUT_BATCH` characters are waiting, the session sends them, waits while
the client is behind (`Channel.drain`: a client that does not read stops the
session from reading, so its output stops growing) and lets the other tasks of
the lab run. A closed channel ends all work at once. A command that fails
with an exception answers with the shell's own error text, the bug is logged
once, and the session goes on."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from simulator.kinds.base import Refused
from simulator.terminal.tree import (
    CliError,
    CommandTree,
    Parsed,
    apply_filters,
    split_filters,
)

MAX_LINE = 1024             # characters in a command line; the rest of a paste is dropped
OUTPUT_BATCH = 16384        # characters of output sent in one write at most before the client must keep up
SLICE = 256                 # characters of input handled before other tasks get a turn
CTRL_C, CTRL_D, CTRL_U, BS, DEL, TAB, ESC, BELL = "\x03", "\x04", "\x15", "\x08", "\x7f", "\t", "\x1b", "\a"

log = logging.getLogger(__name__)
_reported: set[tuple[str, str, int]] = set()


def report_bug(where: str, line: str, exc: BaseException) -> None:
    """Log a failing command with its traceback, once per place it fails."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    key = (type(exc).__name__, frame.filename if frame else "", frame.lineno or 0 if frame else 0)
    if key in _reported:
        log.debug("%s: %r failed again: %r", where, line, exc)
        return
    _reported.add(key)
    log.error("%s: %r failed", where, line, exc_info=exc)


class Channel(Protocol):
    async def read(self) -> str: ...          # "" at end of input
    def write(self, text: str) -> None: ...   # raises once the client is gone
    async def drain(self) -> None: ...        # returns when the client has taken most of what was written
    def close(self) -> None: ...


class Hotkey(str):
    """A key sequence a shell bound (e.g. Ctrl-a d), returned instead of a line."""


EOF = Hotkey(CTRL_D)        # Ctrl-D at an empty prompt


class Shell:
    """One CLI level. Subclasses set `tree` and implement `cmd_<action>` handlers
    that return output text (filters apply) or None (they wrote it themselves)."""

    tree: CommandTree | None = None
    hotkeys: dict[str, str] = {}

    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def command_trees(cls) -> list[CommandTree]:
        """Every command tree this shell answers with (one, or one per mode or scope)."""
        return [cls.tree] if isinstance(cls.tree, CommandTree) else []

    @property
    def prompt(self) -> str:
        raise NotImplementedError

    def help(self, line: str) -> str:
        if self.tree is None:
            return ""
        lines = self.tree.help_lines(line)
        if isinstance(lines, CliError):
            return self.tree.error_text(lines, line, self.prompt)
        return "\n".join(lines)

    def complete(self, line: str) -> tuple[str, list[str]]:
        return self.tree.complete(line) if self.tree else (line, [])

    async def on_hotkey(self, name: str) -> None:
        """A bound key sequence was typed."""

    async def on_eof(self) -> None:
        """Ctrl-D at an empty prompt: the shell ends (the session, at the top); shells
        whose real counterpart reads it as "delete a character" ignore it."""
        self.session.pop()

    def failure_text(self, line: str) -> str:
        """What the shell answers when a command fails unexpectedly: its own
        error for a command it cannot run."""
        if self.tree is None:
            return ""
        words = line.split()
        return self.tree.error_text(CliError("unknown", line.find(words[0]) if words else 0,
                                             words[0] if words else ""), line, self.prompt)

    @staticmethod
    def _refusable(call: Callable[[], object]) -> str | None:
        """Call a model operation; the device's own message if it refuses."""
        try:
            call()
        except Refused as refused:
            return refused.message
        return None

    async def run_command(self, parsed: Parsed) -> str | None:
        """Run a parsed command's handler (`cmd_<action>`); shells add their own gates."""
        handler: Callable[..., Any] = getattr(self, f"cmd_{parsed.action.replace('-', '_')}")
        return await handler(parsed)

    async def execute(self, line: str) -> None:
        tree = self.tree
        assert tree is not None
        if line.rstrip().endswith("?"):
            self.session.write(self.help(line.rstrip()[:-1]) + "\n")
            return
        split = split_filters(line) if tree.filters else (line, [])
        if split is None:
            self.session.write(tree.error_text(CliError("unknown", line.index("|")), line, self.prompt) + "\n")
            return
        command, filters = split
        parsed = tree.parse(command)
        if isinstance(parsed, CliError):
            if parsed.kind != "empty":
                self.session.write(tree.error_text(parsed, line, self.prompt) + "\n")
            return
        output = await self.run_command(parsed)
        if output is not None:
            text = apply_filters(output, filters) if filters else output
            self.session.write(text + ("\n" if text and not text.endswith("\n") else ""))


class Session:
    def __init__(self, channel: Channel, *, interactive: bool, on_command: Callable[[str, str], None] | None = None,
                 context: Any = None) -> None:
        self.channel = channel
        self.interactive = interactive      # a PTY: echo, line editing, CRLF
        self.stack: list[Shell] = []
        self.context = context
        self._pending = ""                  # the input chunk being handled ...
        self._next = 0                      # ... and where in it
        self._out: list[str] = []           # output held while a chunk of input is handled
        self._out_size = 0
        self._holding = False
        self._flush: asyncio.Handle | None = None     # a send scheduled for the end of this step of the loop
        self._full = False                  # the line reached MAX_LINE (the bell has rung)
        self._on_command = on_command
        self.closed = False

    # -- output ------------------------------------------------------------------
    def write(self, text: str) -> None:
        if self.closed or not text:
            return
        if self.interactive:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        self._out.append(text)
        self._out_size += len(text)
        if not self._holding:
            self._schedule()

    def _schedule(self) -> None:
        """Send at the end of this step of the event loop: what one step writes (a line's echo, its answer
        and the next prompt) goes out as one write, as a terminal's output does, not one per piece."""
        if self._flush is None and self._out:
            try:
                self._flush = asyncio.get_running_loop().call_soon(self._send)
            except RuntimeError:        # no loop (a session driven synchronously): at once
                self._send()

    def flush(self) -> None:
        """Send what is waiting now (before another session writes to the same channel)."""
        self._send()

    def _send(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if not self._out:
            return
        text = "".join(self._out)
        self._out.clear()
        self._out_size = 0
        if self.closed:
            return
        try:
            self.channel.write(text)
        except Exception:  # the transport went away under us (client gone, reboot)
            self.closed = True

    async def drain(self) -> None:
        """Send what is held and wait while the client is behind; then let the
        lab's other tasks run. Long outputs call it between their blocks."""
        holding, self._holding = self._holding, False
        try:
            self._send()
            if not self.closed:
                await self.channel.drain()
            await asyncio.sleep(0)
        except Exception:  # the transport went away while waiting
            self.closed = True
        finally:
            self._holding = holding

    # -- shell stack ------------------------------------------------------------
    @property
    def shell(self) -> Shell:
        return self.stack[-1]

    def push(self, shell: Shell) -> None:
        self.stack.append(shell)

    def pop(self) -> None:
        self.stack.pop()
        if not self.stack:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self._send()
            self.closed = True
            self.channel.close()

    async def run(self, first: Shell) -> None:
        """Prompt, read, execute until the last shell exits or input ends."""
        self.push(first)
        while not self.closed and self.stack:
            shell = self.shell
            try:
                if not await self._step(shell):
                    break
            except Refused as refused:
                self.write(refused.message + "\n")
        self.close()

    async def _step(self, shell: Shell) -> bool:
        """One line (or bound key) read and acted on; False at end of input."""
        line: str | None = ""
        try:
            line = await self.readline(shell.prompt, shell)
            if line is None:
                return False
            if line is EOF:
                await shell.on_eof()
            elif isinstance(line, Hotkey):
                await shell.on_hotkey(line)
            else:
                if self._on_command and line.strip():
                    self._on_command(type(shell).__name__, line.strip())
                await shell.execute(line)
        except (Refused, asyncio.CancelledError):
            raise
        except Exception as exc:       # a bug: the device answers as for a command it cannot run
            self._failed(shell, line or "", exc)
        return True

    def _failed(self, shell: Shell, line: str, exc: Exception) -> None:
        report_bug(type(shell).__name__, line, exc)
        self.write(shell.failure_text(line) + "\n")

    async def run_one(self, shell: Shell, line: str) -> None:
        """An exec request: one command, no prompt."""
        self.push(shell)
        if self._on_command:
            self._on_command(type(shell).__name__, line.strip())
        try:
            await shell.execute(line)
        except (Refused, asyncio.CancelledError):
            raise
        except Exception as exc:
            self._failed(shell, line, exc)
        finally:
            self.flush()

    # -- input ---------------------------------------------------------------------
    async def _next_char(self) -> str | None:
        if self._next >= len(self._pending):
            if not await self._refill():
                return None
        elif self._out_size >= OUTPUT_BATCH or self._next % SLICE == 0:
            await self.drain()
        if self.closed:
            return None
        ch = self._pending[self._next]
        self._next += 1
        return ch

    async def _refill(self) -> bool:
        """Send the answers to the last chunk, then read the next one; False at end of input."""
        await self.drain()
        if self.closed:
            return False
        holding, self._holding = self._holding, False     # what others write while we wait goes out at once
        try:
            data = await self.channel.read()
        finally:
            self._holding = holding
        if not data or self.closed:
            return False
        self._pending, self._next = data, 0
        return True

    async def going_down(self) -> None:
        """The device goes down under this session (a reload it confirmed): no
        prompt comes back; input is read and dropped until the connection goes."""
        self._pending, self._next = "", 0
        while await self._refill():
            self._next = len(self._pending)

    async def ask(self, prompt: str, secret: bool = False) -> str | None:
        """A question (confirmation, password): plain line, no help or completion.
        None when Ctrl-C aborts it (as on every real box) or the input ends."""
        return await self.readline(prompt, None, secret=secret)

    async def readline(self, prompt: str, shell: Shell | None, secret: bool = False) -> str | Hotkey | None:
        """One line as the user edits it (echo, backspace, Ctrl-U, Tab, ?); a bound
        key sequence instead of a line (EOF for Ctrl-D at an empty prompt); "" on
        Ctrl-C at a shell's prompt, None at a question's (it aborts); None at end of input. What it prints goes out a chunk at a time."""
        self._holding = True
        try:
            self.write(prompt)
            return await self._edit_line(prompt, shell, secret)
        finally:
            self._holding = False
            self._schedule()

    async def _edit_line(self, prompt: str, shell: Shell | None, secret: bool) -> str | Hotkey | None:
        buf, self._full = "", False
        echo = self.interactive and not secret
        hotkeys = shell.hotkeys if shell else {}
        while True:
            ch = await self._next_char()
            if ch is None:
                return None
            if ch in "\r\n":
                self._end_line(ch)
                return buf
            if hotkeys and any(k.startswith(ch) for k in hotkeys):
                key = await self._hotkey(ch, hotkeys)
                if key is None or isinstance(key, Hotkey):
                    if key is not None and self.interactive and buf:
                        self.write("\n")
                    return key
                continue  # not a bound sequence: ignore the control keys
            if ch == CTRL_C:
                if self.interactive:
                    self.write("^C\n")
                return "" if shell is not None else None
            if ch == CTRL_D and not buf and shell is not None:
                return EOF
            if ch == ESC:
                await self._swallow_escape()
            elif shell is not None and self.interactive and ch in (TAB, "?"):
                buf = self._assist(ch, buf, shell, prompt)
            else:
                buf = self._edit(ch, buf, echo)

    def _end_line(self, ch: str) -> None:
        if ch == "\r" and self._pending.startswith("\n", self._next):
            self._next += 1
        if self.interactive:
            self.write("\n")

    async def _hotkey(self, first: str, hotkeys: dict[str, str]) -> Hotkey | str | None:
        """Read on while the keys typed may start a bound sequence: its Hotkey, the
        unbound keys, or None at end of input."""
        seq = first
        while any(k.startswith(seq) and k != seq for k in hotkeys):
            nxt = await self._next_char()
            if nxt is None:
                return None
            seq += nxt
        return Hotkey(hotkeys[seq]) if seq in hotkeys else seq

    async def _swallow_escape(self) -> None:
        """Arrow keys and other escape sequences do nothing."""
        if await self._next_char() == "[":
            while (nxt := await self._next_char()) is not None and not nxt.isalpha() and nxt != "~":
                pass

    def _assist(self, ch: str, buf: str, shell: Shell, prompt: str) -> str:
        """Tab completes the word (or lists the choices); ? lists what may follow."""
        if ch == TAB:
            completed, options = shell.complete(buf)
            if options:
                self.write("\n" + _columns(options) + "\n" + prompt + completed)
            elif completed != buf:
                self.write(completed[len(buf):])
            else:
                self.write("\a")
            return completed
        if shell.tree is None:
            return self._edit(ch, buf, True)
        self.write("?\n" + shell.help(buf) + "\n" + prompt + buf)
        return buf

    def _edit(self, ch: str, buf: str, echo: bool) -> str:
        """Backspace, Ctrl-U, or a printable character (up to MAX_LINE)."""
        if ch in (BS, DEL):
            if buf and echo:
                self.write("\b \b")
            return buf[:-1]
        if ch == CTRL_U:
            if echo:
                self.write("\b \b" * len(buf))
            return ""
        if not ch.isprintable():
            return buf
        if len(buf) >= MAX_LINE:
            if echo and not self._full:         # one bell for all of a paste that does not fit
                self.write(BELL)
            self._full = True
            return buf
        self._full = False
        if echo:
            self.write(ch)
        return buf + ch

    async def wait_for_interrupt(self) -> None:
        """Return when the user types Ctrl-C (or input ends)."""
        while True:
            ch = await self._next_char()
            if ch is None or ch == CTRL_C:
                return


def _columns(words: list[str], width: int = 22) -> str:
    per_line = max(1, 80 // width)
    rows = [words[i:i + per_line] for i in range(0, len(words), per_line)]
    return "\n".join("".join(f"{w:<{width}}" for w in row) for row in rows)


async def first_done(*aws) -> None:
    """Run awaitables until the first finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()

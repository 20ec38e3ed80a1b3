"""A terminal session: line editing over a byte-less text channel, and a stack
of shells (FTD CLI -> diagnostic CLI, expert ...). Transport-agnostic: the SSH
surface (and later a console) hands it a `Channel`."""

from __future__ import annotations

import asyncio
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

MAX_LINE = 1024
CTRL_C, CTRL_D, CTRL_U, BS, DEL, TAB, ESC = "\x03", "\x04", "\x15", "\x08", "\x7f", "\t", "\x1b"


class Channel(Protocol):
    async def read(self) -> str: ...          # "" at end of input
    def write(self, text: str) -> None: ...
    def close(self) -> None: ...


class Hotkey(str):
    """A key sequence a shell bound (e.g. Ctrl-a d), returned instead of a line."""


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
        self._pending = ""
        self._on_command = on_command
        self.closed = False

    # -- output ------------------------------------------------------------------
    def write(self, text: str) -> None:
        if self.closed or not text:
            return
        if self.interactive:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        try:
            self.channel.write(text)
        except Exception:  # the transport went away under us (e.g. reboot)
            self.closed = True

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
            self.closed = True
            self.channel.close()

    async def run(self, first: Shell) -> None:
        """Prompt, read, execute until the last shell exits or input ends."""
        self.push(first)
        while not self.closed and self.stack:
            shell = self.shell
            line = await self.readline(shell.prompt, shell)
            if line is None:
                break
            if isinstance(line, Hotkey):
                await shell.on_hotkey(line)
                continue
            if self._on_command and line.strip():
                self._on_command(type(shell).__name__, line.strip())
            await shell.execute(line)
        self.close()

    async def run_one(self, shell: Shell, line: str) -> None:
        """An exec request: one command, no prompt."""
        self.push(shell)
        if self._on_command:
            self._on_command(type(shell).__name__, line.strip())
        await shell.execute(line)

    # -- input ---------------------------------------------------------------------
    async def _next_char(self) -> str | None:
        while not self._pending:
            if self.closed:
                return None
            data = await self.channel.read()
            if not data:
                return None
            self._pending = data
        ch, self._pending = self._pending[0], self._pending[1:]
        return ch

    async def ask(self, prompt: str, secret: bool = False) -> str | None:
        """A question (confirmation, password): plain line, no help or completion."""
        return await self.readline(prompt, None, secret=secret)

    async def readline(self, prompt: str, shell: Shell | None, secret: bool = False) -> str | Hotkey | None:
        """One line as the user edits it (echo, backspace, Ctrl-U, Tab, ?); a bound
        key sequence instead of a line; "" on Ctrl-C; None at end of input."""
        self.write(prompt)
        buf = ""
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
                return ""
            if ch == CTRL_D and not buf and shell is not None:
                return None
            if ch == ESC:
                await self._swallow_escape()
            elif shell is not None and self.interactive and ch in (TAB, "?"):
                buf = self._assist(ch, buf, shell, prompt)
            else:
                buf = self._edit(ch, buf, echo)

    def _end_line(self, ch: str) -> None:
        if ch == "\r" and self._pending.startswith("\n"):
            self._pending = self._pending[1:]
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
            if echo:
                self.write("\a")
            return buf
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

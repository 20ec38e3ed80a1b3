"""An asyncssh server process as the channel a CLI Session reads and writes."""

from __future__ import annotations

import asyncio

import asyncssh


class ProcessChannel:
    """Session channel over an asyncssh server process."""

    def __init__(self, process: asyncssh.SSHServerProcess) -> None:
        self.process = process

    async def read(self) -> str:
        try:
            return await self.process.stdin.read(4096)
        except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
            return "\x03"
        except (asyncssh.Error, OSError, asyncio.IncompleteReadError):
            return ""

    def write(self, text: str) -> None:
        self.process.stdout.write(text)

    def close(self) -> None:
        self.process.exit(0)

"""An asyncssh server process as the channel a CLI Session reads and writes."""

from __future__ import annotations

import asyncio

import asyncssh

READ_CHUNK = 4096       # characters taken from the client at a time


class ProcessChannel:
    """Session channel over an asyncssh server process. Its write buffer has
    asyncssh's limits: `drain` waits while the client does not read."""

    def __init__(self, process: asyncssh.SSHServerProcess) -> None:
        self.process = process

    async def read(self) -> str:
        while True:
            try:
                data = await self.process.stdin.read(READ_CHUNK)
                if data or self.process.stdin.at_eof():
                    return data
                # nothing decoded yet: the first byte(s) of a character split across packets
            except asyncssh.TerminalSizeChanged:
                continue                # a resized window changes nothing on the line
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                return "\x03"
            except (asyncssh.Error, OSError, asyncio.IncompleteReadError):
                return ""

    def write(self, text: str) -> None:
        self.process.stdout.write(text)

    async def drain(self) -> None:
        await self.process.stdout.drain()

    def close(self) -> None:
        self.process.exit(0)

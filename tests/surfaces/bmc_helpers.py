"""What the BMC tests share: a lab of boxes with and without BMCs, and Debian's ipmitool run as a user runs it."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

IPMITOOL = shutil.which("ipmitool")
needs_ipmitool = pytest.mark.skipif(IPMITOOL is None, reason="ipmitool not installed (apt-get install ipmitool)")

# An FXOS chassis and the FTD logical device it hosts, an FTD appliance, an FTDv.
BOXES: dict[str, Any] = {"lab": "bmc", "devices": [
    {"name": "fpr4k-1", "kind": "fxos", "model": "FPR-4145", "version": "2.12(0.498)", "hostname": "FPR4K-1",
     "modules": [{"slot": 1, "apps": [{"device": "ftd-ld"}]}]},
    {"name": "ftd-ld", "model": "FPR-4145", "version": "7.2.5-208"},
    {"name": "sf3110", "model": "SF-3110", "version": "7.4.1-172"},
    {"name": "ftdv", "model": "FTDv", "version": "7.4.1-172"},
]}


def ipmitool_args(ipmi: dict[str, Any], *command: str, password: str | None = None) -> list[str]:
    return [IPMITOOL or "ipmitool", "-I", "lanplus", "-H", ipmi["host"], "-p", str(ipmi["port"]),
            "-U", ipmi["username"], "-P", password or ipmi["password"], *command]


async def ipmitool(ipmi: dict[str, Any], *command: str, password: str | None = None) -> tuple[int, str]:
    """ipmitool's exit code and output (the lab's loop runs meanwhile)."""
    proc = await asyncio.create_subprocess_exec(*ipmitool_args(ipmi, *command, password=password),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


class Sol:
    """`ipmitool sol activate` kept running: what it printed, what to type."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output = ""
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, ipmi: dict[str, Any]) -> Sol:
        proc = await asyncio.create_subprocess_exec(*ipmitool_args(ipmi, "sol", "activate"),
                                                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.output += chunk.decode(errors="replace")

    async def wait_for(self, text: str, timeout: float = 10, after: int = 0) -> None:
        """Until ipmitool printed `text` (past index `after` of its output)."""
        async with asyncio.timeout(timeout):
            while text not in self.output[after:]:
                if self._reader.done():
                    raise EOFError(f"ipmitool ended before {text!r}: {self.output[-500:]!r}")
                await asyncio.sleep(0.05)

    async def type(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        await self.proc.stdin.drain()

    async def close(self) -> int:
        await self.type("~.")                 # ipmitool's escape: end the SOL session
        code = await asyncio.wait_for(self.proc.wait(), 10)
        await self._reader
        return code

"""What the terminal and SSH robustness tests share: a lab on virtual time with
a device under test (`dut`) beside a bystander FTD, a terminal that speaks
raw bytes, and a watch on the event loop (how long any task of the lab waited
because of another)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncssh

from simulator.lab import Lab

LAG_BUDGET = 0.1        # seconds another device may wait because of one session's input (issue 12)
BYSTANDER = {"name": "bystander", "kind": "ftd", "model": "FTDv", "version": "7.4.1-172"}
DEVICES: dict[str, list[dict[str, Any]]] = {
    "ftd": [{"name": "dut", "kind": "ftd", "model": "FTDv", "version": "7.4.1-172", "hostname": "dut"}],
    "asa": [{"name": "dut", "kind": "asa", "model": "ASAv", "version": "9.19(1)", "hostname": "dut"}],
    "fxos": [{"name": "dut", "kind": "fxos", "model": "FPR-4145", "version": "2.12(0.498)", "hostname": "DUT",
              "modules": [{"slot": 1, "apps": [{"device": "ftd-1"}]}]},
             {"name": "ftd-1", "model": "FPR-4145", "version": "7.2.5-208", "hostname": "ftd-1"}],
}
PROMPTS = {"ftd": rb"\n> $", "asa": rb"\n\S+> $", "fxos": rb"\n\S+# $"}      # hostnames may change


class LoopWatch:
    """A task that wakes every 5 ms and records how late it woke: the longest
    any task of the lab (another device's REST or SSH) was held up."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - start - 0.005)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    def reset(self) -> None:
        self.worst = 0.0

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


@asynccontextmanager
async def lab_with(kind: str, state_dir: Path, **dut: Any) -> AsyncIterator[Lab]:
    """A lab of one `kind` device, "dut" (`dut`: more profile keys for it), and a bystander FTD."""
    devices = [{**DEVICES[kind][0], **dut}, *DEVICES[kind][1:]]
    profile = {"lab": f"robust-{kind}", "devices": [*devices, BYSTANDER]}
    async with Lab(profile, state_dir=state_dir, virtual_time=True, seed=3) as lab:
        yield lab


def port_of(lab: Lab, name: str = "dut") -> int:
    assert lab.ssh is not None
    return lab.ssh.endpoints[name].port


class RawTerminal:
    """An interactive SSH session (PTY) that sends and reads bytes."""

    def __init__(self, conn: asyncssh.SSHClientConnection, proc: asyncssh.SSHClientProcess) -> None:
        self.conn, self.proc = conn, proc
        self.buffer = b""
        self.greeting = b""         # what came before the first prompt (the banner)
        self.ended = False

    @classmethod
    async def open(cls, port: int, prompt: bytes, password: str = "Admin123") -> RawTerminal:
        conn = await asyncssh.connect("127.0.0.1", port, username="admin", password=password, known_hosts=None)
        proc = await conn.create_process(term_type="vt100", encoding=None)
        term = cls(conn, proc)
        term.greeting = await term.until(prompt)
        return term

    def send(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
        except BrokenPipeError:         # the server closed the session
            self.ended = True

    async def _read(self, timeout: float) -> bool:
        """Read what arrives within `timeout`; False when nothing did."""
        try:
            chunk = await asyncio.wait_for(self.proc.stdout.read(65536), timeout)
        except asyncio.TimeoutError:
            return False
        if not chunk:
            self.ended = True
            return False
        self.buffer += chunk
        return True

    async def until(self, pattern: bytes, timeout: float = 5) -> bytes:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while not (found := rx.search(self.buffer)):
            if self.ended or time.monotonic() > deadline:
                raise TimeoutError(f"no {pattern!r} in {self.buffer[-400:]!r}")
            await self._read(max(0.0, deadline - time.monotonic()))
        out, self.buffer = self.buffer[:found.end()], self.buffer[found.end():]
        return out

    async def settle(self, quiet: float = 0.02, timeout: float = 5) -> bytes:
        """What arrives until the session has been quiet for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and await self._read(quiet):
            pass
        out, self.buffer = self.buffer, b""
        return out

    async def close(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()

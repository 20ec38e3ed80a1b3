from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncssh
import pytest

from simulator.kinds.ftd.packages import make_package
from simulator.lab import Lab

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def lab(tmp_path):
    """A one-FTDv lab on virtual time (7.4.1-172), its SSH listening."""
    async with Lab("ftd-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=7) as running:
        yield running


@pytest.fixture
def packages(tmp_path):
    def make(filename: str, **options) -> Path:
        return make_package(filename, tmp_path / "pkgs", **options)
    return make


class Terminal:
    """An interactive SSH session (with a PTY) driven like a person would."""

    def __init__(self, conn: asyncssh.SSHClientConnection, proc: asyncssh.SSHClientProcess) -> None:
        self.conn, self.proc = conn, proc
        self.buffer = ""

    async def read_until(self, pattern: str, timeout: float = 5) -> str:
        rx = re.compile(pattern)
        deadline = asyncio.get_running_loop().time() + timeout
        while not rx.search(self.buffer):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {pattern!r} in {self.buffer[-500:]!r}")
            try:
                chunk = await asyncio.wait_for(self.proc.stdout.read(65536), remaining)
            except asyncio.TimeoutError:
                continue
            if not chunk:
                raise EOFError(f"session closed; got {self.buffer[-500:]!r}")
            self.buffer += chunk
        m = rx.search(self.buffer)
        out, self.buffer = self.buffer[: m.end()], self.buffer[m.end():]
        return out

    async def cmd(self, line: str, prompt: str = r"\n> $") -> str:
        self.proc.stdin.write(line + "\r")
        out = await self.read_until(prompt)
        return out.replace("\r\n", "\n")

    async def close(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()


async def connect(port: int, password: str = "Admin123") -> asyncssh.SSHClientConnection:
    return await asyncssh.connect("127.0.0.1", port, username="admin", password=password, known_hosts=None)


async def open_terminal(port: int) -> Terminal:
    conn = await connect(port)
    proc = await conn.create_process(term_type="vt100")
    term = Terminal(conn, proc)
    await term.read_until(r"\n> $")
    return term


def ssh_port(lab: Lab, name: str = "ftd-1") -> int:
    assert lab.ssh is not None
    return lab.ssh.endpoints[name].port


async def upload(port: int, path: Path, remote_dir: str = "/var/sf/updates") -> None:
    async with await connect(port) as conn:
        async with conn.start_sftp_client() as sftp:
            await sftp.put(str(path), f"{remote_dir}/{path.name}")


@pytest.fixture
def lab_process(tmp_path):
    """`simulator up` as a user runs it, in virtual time unless `--time-scale`
    is passed; yields (endpoints, process)."""
    started = []

    def start(profile: str = "ftd-standalone", *extra: str, state_dir: Path | None = None):
        endpoints = tmp_path / f"endpoints-{len(started)}.json"
        state = state_dir or tmp_path / "state"
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "up", profile,
             *([] if "--time-scale" in extra else ["--virtual-time"]), "--state-dir", str(state),
             "--endpoints", str(endpoints), "--seed", "1", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        started.append(proc)
        deadline = time.monotonic() + 30
        while not endpoints.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                out, err = proc.communicate(timeout=5)
                raise RuntimeError(f"lab did not start: {out}\n{err}")
            time.sleep(0.05)
        return json.loads(endpoints.read_text()), proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def stop_process(proc: subprocess.Popen) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    return proc.returncode, out, err


os.environ.setdefault("COLUMNS", "160")

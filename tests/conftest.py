from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncssh
import httpx
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
            except asyncssh.ConnectionLost:       # the box went down: its sshd died with it
                chunk = ""
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


def start_lab(profile: str, workdir: Path, *extra: str, state_dir: Path | None = None,
              log: Path | None = None) -> tuple[dict, subprocess.Popen]:
    """`simulator up PROFILE` as a user runs it (virtual time unless `--time-scale`
    is passed), its output piped or into `log`; returns once its endpoints file is written."""
    endpoints = workdir / f"endpoints-{time.monotonic_ns()}.json"
    output = log.open("w") if log else subprocess.PIPE
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "up", profile, *([] if "--time-scale" in extra else ["--virtual-time"]),
         "--state-dir", str(state_dir or workdir / "state"), "--endpoints", str(endpoints), "--seed", "1", *extra],
        stdout=output, stderr=subprocess.STDOUT if log else subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 30
    while not endpoints.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            end_lab(proc)
            said = log.read_text() if log else "\n".join(proc.communicate(timeout=5))
            raise RuntimeError(f"lab did not start: {said}")
        time.sleep(0.05)
    return json.loads(endpoints.read_text()), proc


def end_lab(proc: subprocess.Popen) -> None:
    """Stop a lab as Ctrl-C would (kill it if it does not stop)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def lab_process(tmp_path):
    """`start_lab` for a test; every lab it started is stopped after it."""
    started = []

    def start(profile: str = "ftd-standalone", *extra: str, state_dir: Path | None = None):
        endpoints, proc = start_lab(profile, tmp_path, *extra, state_dir=state_dir)
        started.append(proc)
        return endpoints, proc

    yield start
    for proc in started:
        end_lab(proc)


@contextmanager
def fdm_client(https: dict) -> Iterator[httpx.Client]:
    """A Device Manager API client logged in to a lab device's `https` endpoint."""
    with httpx.Client(base_url=https["url"] + "/api/fdm/latest", verify=False, timeout=10) as api:
        token = api.post("/fdm/token", json={"grant_type": "password", "username": https["username"],
                                             "password": https["password"]}).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        yield api


def fdm_upgrade(api: httpx.Client, package: Path) -> None:
    """Upload an upgrade package and start the upgrade, as an upgrade runbook does."""
    with package.open("rb") as fh:
        assert api.post("/action/uploadupgrade", files={"fileToUpload": (package.name, fh)}).status_code == 200
    assert api.post("/action/upgrade").status_code == 204


def stop_process(proc: subprocess.Popen) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    return proc.returncode, out, err


os.environ.setdefault("COLUMNS", "160")

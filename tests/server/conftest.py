"""`simulator serve` as a user runs it: its own process, reached over HTTP."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, end_lab


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    state_dir: Path
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def lab_dirs(self) -> list[str]:
        labs = self.state_dir / "labs"
        return sorted(p.name for p in labs.iterdir()) if labs.exists() else []


def start_server(state_dir: Path, *extra: str, nofile: int | None = None, log: Path | None = None) -> Served:
    """`simulator serve --port 0` (idle labs looked for every 0.2 s), its output in a log
    (beside its state unless given); returns once it listens."""
    limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
    state_dir.mkdir(parents=True, exist_ok=True)
    log = log or state_dir.with_suffix(".log")
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "simulator", "serve", "--port", "0", "--state-dir",
                                 str(state_dir), "--ttl-check", "0.2", *extra], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=limit)
    info = state_dir / "server.json"
    deadline = time.monotonic() + 60
    while not info.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            end_lab(proc)
            raise RuntimeError(f"server did not start: {log.read_text()}")
        time.sleep(0.05)
    return Served(json.loads(info.read_text())["url"], proc, state_dir, log)


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[..., Served]]:
    """Start lab servers for a test (`state_dir`: another's, once it stopped); each is stopped (SIGTERM) after it."""
    started: list[Served] = []

    def start(*extra: str, nofile: int | None = None, state_dir: Path | None = None) -> Served:
        n = len(started)
        served = start_server(state_dir or tmp_path / f"serve-{n}", *extra, nofile=nofile,
                              log=tmp_path / f"serve-{n}.log")
        started.append(served)
        return served

    yield start
    for served in started:
        end_lab(served.proc)
        assert served.proc.returncode == 0 and "Traceback" not in served.log.read_text(), served.log.read_text()


@pytest.fixture
def served(serve) -> Served:
    return serve()

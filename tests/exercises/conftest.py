"""Exercise labs for the tests: a lab started from an exercise (prepared, on
virtual time that jumps when idle) in a background thread, driven through its
surfaces by the runbooks of scripts/runbooks (as subprocesses, or their
modules in-process for a step-by-step mistake), and graded over the control API."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rich.console import Console

from simulator import exercises
from simulator.lab import Lab
from simulator.pytest_plugin import RunningLab
from tests.conftest import ROOT
from tests.test_runbooks import bundle_server, http_files, image_server  # noqa: F401 - their fixtures, here too

RUNBOOKS = ROOT / "scripts" / "runbooks"
JUMP = 0.002
sys.path.insert(0, str(RUNBOOKS))       # the runbooks' modules (fdm_client, upgrade_steps, ...) for in-process steps


class ExerciseLab(RunningLab):
    """RunningLab for an exercise: the lab of its profile, prepared before the test sees it."""

    def __init__(self, name: str, state_dir: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self.exercise = exercises.load(name)
        self.lab = Lab(exercise=self.exercise, state_dir=state_dir, virtual_time=True, seed=3)
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"exercise {name}", daemon=True)
        self._thread.start()
        self.call(self.lab.start())
        self._jumper = self.call(self._jump())

    async def _jump(self) -> asyncio.Task[None]:
        """Virtual time that jumps a timer every JUMP wall seconds (the lab's own autojump takes 20 ms a
        timer): the runbooks poll every 50 ms, and an FXOS install has hundreds of timers."""
        return asyncio.get_running_loop().create_task(self.lab.clock.autojump(idle=JUMP))

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._jumper.cancel)
        super().stop()

    @property
    def control(self) -> str:
        return self.lab.control.url

    def grade(self) -> dict[str, Any]:
        response = httpx.get(self.control + "/api/grade", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def failed(self) -> set[str]:
        return {c["name"] for c in self.grade()["checks"] if not c["passed"]}

    def https(self, device: str) -> dict[str, Any]:
        return self.endpoint(device)["https"]


@pytest.fixture
def exercise_lab(tmp_path) -> Iterator[Any]:
    started: list[ExerciseLab] = []

    def start(name: str) -> ExerciseLab:
        running = ExerciseLab(name, tmp_path / f"exercise-{len(started)}")
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.stop()


def run_runbook(script: str, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, str(RUNBOOKS / script), *args], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def quiet() -> Console:
    """A console for the runbooks' in-process steps (their progress goes nowhere)."""
    return Console(file=io.StringIO())

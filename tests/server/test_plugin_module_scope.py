"""The pytest plugin's per-module mode against a lab server (`--simulator-url
URL --simulator-scope module`, or the `simulator_scope` mark): a module's
tests share one lab, restored to its start before each test, so what one test
did (a unit powered off, a fault planned) is gone for the next; a test asking
for two labs gets two; a module marked `simulator_scope("test")` still gets a
lab per test; nothing is left on the server after the run."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

SHARED = '''
import os
import pytest

def record(lab):
    with open(os.environ["SEEN"], "a") as seen:
        seen.write(f"{os.environ['PYTEST_CURRENT_TEST'].split(' ')[0]} {lab.id}\\n")

def test_one_breaks_the_lab(ftd_lab_sync):
    record(ftd_lab_sync.lab)
    ftd_lab_sync.add_fault("upgrade.stage:*", "fail")
    ftd_lab_sync.lab.power("ftd-1", "off")
    ftd_lab_sync.wait_for_state("ftd-1", "off")

def test_two_finds_it_as_it_started(ftd_lab_sync):
    record(ftd_lab_sync.lab)
    assert ftd_lab_sync.state("ftd-1") == "online"
    assert ftd_lab_sync.lab.control.call("GET", "/api/faults")["items"] == []
    assert [e["name"] for e in ftd_lab_sync.events("lab.restored")] == ["simulator-module-start"]

@pytest.mark.asyncio
async def test_three_async_shares_it_too(ftd_lab, sim):
    record(ftd_lab)
    ftd_lab.power("ftd-1", "off")
    await sim.wait_for_state(ftd_lab, "ftd-1", "off")

def test_four_two_labs_of_one_profile(lab_runner):
    first, second = lab_runner("ftd-standalone"), lab_runner("ftd-standalone")
    record(first.lab)
    record(second.lab)
    assert first.state("ftd-1") == second.state("ftd-1") == "online"
'''

PER_TEST = '''
import os
import pytest

pytestmark = pytest.mark.simulator_scope("test")

def record(lab):
    with open(os.environ["SEEN"], "a") as seen:
        seen.write(f"{os.environ['PYTEST_CURRENT_TEST'].split(' ')[0]} {lab.id}\\n")

def test_a(ftd_lab_sync):
    record(ftd_lab_sync.lab)

def test_b(ftd_lab_sync):
    record(ftd_lab_sync.lab)
'''


def test_module_scope_shares_a_lab_restored_before_each_test(served, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_shared.py").write_text(SHARED)
    (project / "test_other.py").write_text(SHARED.split("@pytest.mark.asyncio")[0])   # tests one and two
    (project / "test_per_test.py").write_text(PER_TEST)
    seen = tmp_path / "seen.txt"
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--simulator-url", served.url,
           "--simulator-scope", "module"]
    out = subprocess.run(run, cwd=project, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "SEEN": str(seen)})
    assert out.returncode == 0 and "8 passed" in out.stdout, out.stdout + out.stderr

    labs = dict(line.split() for line in seen.read_text().splitlines() if "four" not in line)
    four = [line.split()[1] for line in seen.read_text().splitlines() if "four" in line]
    shared = {labs[f"test_shared.py::{t}"] for t in ("test_one_breaks_the_lab", "test_two_finds_it_as_it_started",
                                                     "test_three_async_shares_it_too")}
    assert len(shared) == 1 and four[0] in shared and four[1] not in shared    # the module's lab, and a second
    other = {labs["test_other.py::test_one_breaks_the_lab"], labs["test_other.py::test_two_finds_it_as_it_started"]}
    assert len(other) == 1 and other.isdisjoint(shared)                        # each module its own
    per_test = {labs["test_per_test.py::test_a"], labs["test_per_test.py::test_b"]}
    assert len(per_test) == 2 and per_test.isdisjoint(shared | other)
    assert httpx.get(served.url + "/labs").json()["total"] == 0 and served.lab_dirs() == []

"""The pytest plugin with --simulator-url: the README's example suite (and a
failing test's lab report) against a `simulator serve` started separately,
its tests spread over two xdist workers, one lab per test, none left after."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from tests.test_pytest_plugin import _readme_suite


def test_readme_suite_runs_against_a_lab_server_with_xdist(served, tmp_path):
    """The README example suite (and a failing test, a dict profile) over 4 xdist workers, each
    taking its labs from one `simulator serve` (issue 17: `pytest -n 4` against one server)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_example.py").write_text(_readme_suite())
    (project / "test_fails.py").write_text(
        "def test_fails_with_a_lab_report(ftd_lab_sync):\n"
        "    assert ftd_lab_sync.lab.devices['ftd-1'].state == 'off'\n\n\n"
        "def test_a_dict_profile(lab_runner):\n"
        "    lab = lab_runner({'lab': 'mini', 'devices': [{'name': 'fw', 'model': 'FPR-1120', "
        "'version': '7.2.5-208'}]})\n"
        "    assert lab.endpoint('fw')['model'] == 'FPR-1120' and lab.lab.state_dir.parent.name == 'labs'\n")
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "4", "--simulator-url", served.url]
    out = subprocess.run(run, cwd=project, capture_output=True, text=True, timeout=600)
    # (a warnings summary may stand between the FAILED line and the counts)
    assert out.returncode == 1 and "FAILED test_fails.py::test_fails_with_a_lab_report" in out.stdout, out.stdout
    assert re.search(r"^1 failed, 4 passed", out.stdout, re.M), out.stdout + out.stderr
    assert "simulator lab ftd-standalone" in out.stdout and "last_events" in out.stdout
    assert httpx.get(served.url + "/labs").json()["total"] == 0 and served.lab_dirs() == []

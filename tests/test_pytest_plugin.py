"""The pytest plugin: its fixtures here, and in a fresh project that only
installed the package (the README's example suite)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import requests
from netmiko import ConnectHandler

from simulator.kinds.ftd.packages import make_package

ROOT = Path(__file__).resolve().parent.parent
UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


async def test_async_fixtures_and_helpers(ftd_lab, sim, tmp_path):
    ftd = ftd_lab.devices["ftd-1"]
    https = ftd_lab.endpoints()["devices"][0]["https"]
    async with httpx.AsyncClient(base_url=https["url"] + "/api/fdm/latest", verify=False) as api:
        token = (await api.post("/fdm/token", json={"grant_type": "password", "username": https["username"],
                                                     "password": https["password"]})).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        package = make_package(UPGRADE_76, tmp_path)
        with package.open("rb") as fh:
            await api.post("/action/uploadupgrade", files={"fileToUpload": (package.name, fh)})
        assert (await api.post("/action/upgrade")).status_code == 204
    await sim.wait_for_state(ftd_lab, "ftd-1", "upgrade_reboot_shutdown")
    await sim.wait_until(ftd_lab, lambda: ftd.job.state == "COMPLETED")
    assert sim.assert_event(ftd_lab, "upgrade.finished", device="ftd-1")["result"] == "COMPLETED"
    with pytest.raises(AssertionError, match="no upgrade.finished event"):
        sim.assert_event(ftd_lab, "upgrade.finished", result="FAILED")


async def test_lab_factory_takes_a_profile_dict(lab_factory, sim):
    lab = await lab_factory({"lab": "mini", "devices": [{"name": "fw", "model": "FPR-1120", "version": "7.2.5-208"}]})
    assert lab.endpoints()["devices"][0]["model"] == "FPR-1120"
    lab.devices["fw"].reboot()
    await sim.wait_for_state(lab, "fw", "online")


def test_sync_fixture_with_netmiko_and_requests(ftd_ha_lab_sync):
    lab = ftd_ha_lab_sync
    ssh = lab.endpoint("ftd-b")["ssh"]
    conn = ConnectHandler(device_type="cisco_ftd", host=ssh["host"], port=ssh["port"], username=ssh["username"],
                          password=ssh["password"])
    try:
        assert "Secondary - Standby Ready" in conn.send_command("show failover")
    finally:
        conn.disconnect()
    https = lab.endpoint("ftd-a")["https"]
    r = requests.post(https["url"] + "/api/fdm/latest/fdm/token", verify=False, timeout=10,
                      json={"grant_type": "password", "username": "admin", "password": https["password"]})
    assert r.status_code == 200
    lab.run(lambda: lab.lab.devices["ftd-a"].reboot())
    lab.wait_for_state("ftd-a", "online", timeout=30)      # virtual time jumps while the lab is idle
    lab.assert_event("ha.failover", device="ftd-b")


README_EXAMPLE = ROOT / "README.md"


def _readme_suite() -> str:
    """The example test suite in the README (the ```python block after 'pytest plugin')."""
    text = README_EXAMPLE.read_text()
    section = text[text.index("## pytest plugin"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_suite_runs_green_in_a_fresh_project(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_example.py").write_text(_readme_suite())
    (project / "test_fails.py").write_text(
        "def test_fails_with_a_lab_report(ftd_lab_sync):\n    assert ftd_lab_sync.state('ftd-1') == 'off'\n")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
                         cwd=project, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"\d+ passed", out.stdout)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_fails.py"],
                         cwd=project, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "simulator lab ftd-standalone" in out.stdout and "last_events" in out.stdout


async def test_device_kind_shortcuts(fxos_lab, asa_ha_lab, sim):
    assert {d["kind"] for d in fxos_lab.endpoints()["devices"]} == {"fxos", "ftd"}
    asa_ha_lab.power("asa-a", "off")
    await sim.wait_until(asa_ha_lab, lambda: asa_ha_lab.pairs["asa-ha"].active == "asa-b")

"""Seed 000, "Upgrade Readiness Checks for Threat Defense": after a failed check
"you will be prompted about the failure the next time you try the installation,
and you are given the option to force the installation" — over FDM's REST API
(httpx, HTTPS, virtual time)."""

from __future__ import annotations

import httpx
import pytest

from tests.kinds.ftd.test_api import API, UPGRADE_76, https_url, login, messages, poll, upload_package


@pytest.fixture
async def api(lab):
    async with httpx.AsyncClient(base_url=https_url(lab), verify=False, timeout=10) as client:
        await login(client)
        yield client


async def failed_check(lab, api, package) -> dict:
    r = await upload_package(api, package)
    assert r.status_code == 200, r.text
    assert (await api.post(f"{API}/action/upgradereadinesscheck", json={})).status_code == 200
    return await poll(lab, api, f"{API}/operational/upgradereadinesscheckstatus/default",
                      lambda s: s["state"] != "IN_PROGRESS")


async def test_a_failed_check_is_reported_then_the_install_can_be_forced(lab, api, packages):
    device = lab.devices["ftd-1"]
    lab.faults.add("readiness", "fail", device="ftd-1", message="000_start/101_run_pruning.pl failed.")
    status = await failed_check(lab, api, packages(UPGRADE_76))
    assert status["state"] == "FAILED"
    r = await api.post(f"{API}/action/upgrade")
    assert r.status_code == 422
    [said] = messages(r)
    assert said.startswith(f"The upgrade readiness check of {UPGRADE_76} failed: 000_start/101_run_pruning.pl failed.")
    assert "force the upgrade" in said and device.job is None and device.state == "online"
    r = await api.post(f"{API}/action/upgrade", params={"force": "true"})
    assert r.status_code == 204 and device.state == "upgrade_install"     # no second readiness check
    status = (await api.get(f"{API}/operational/upgradestatus")).json()
    assert status["state"] == "IN_PROGRESS" and status["targetVersion"] == "7.6.0-113"
    await lab.clock.run_until(lambda: device.job_phase == "done")
    assert device.job.state == "COMPLETED" and device.version == "7.6.0-113"


async def test_a_forced_install_still_fails_a_package_the_device_cannot_take(lab, api, packages):
    """Forcing skips the readiness gate, not the install's own first scripts."""
    device = lab.devices["ftd-1"]
    wrong = packages("Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar")
    status = await failed_check(lab, api, wrong)
    assert status["state"] == "FAILED" and "Unsupported device model" in status["message"]
    package_id = device.package_id
    r = await api.post(f"{API}/action/upgrade", json={"upgradeFile": {"id": package_id, "type": "upgradefile"},
                                                      "forceOperation": True, "type": "upgradeimmediate"})
    assert r.status_code == 200 and r.json()["forceOperation"] is True
    await lab.clock.run_until(lambda: device.job_phase == "done")
    await lab.settle()
    status = (await api.get(f"{API}/operational/upgradestatus")).json()
    assert status["state"] == "FAILED" and "105_check_model_number.sh" in status["detailedFailure"]
    assert device.version == "7.4.1-172" and device.state == "online"


async def test_without_a_failed_check_force_changes_nothing(lab, api, packages):
    device = lab.devices["ftd-1"]
    await upload_package(api, packages(UPGRADE_76))
    assert (await api.post(f"{API}/action/upgrade", params={"force": "true"})).status_code == 204
    assert device.state == "upgrade_readiness" and not device.job.forced
    r = await api.post(f"{API}/action/upgrade", params={"force": "maybe"})
    assert r.status_code == 422

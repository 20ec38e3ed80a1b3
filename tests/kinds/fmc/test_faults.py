"""The FMC's fault points, through its REST API: `health` (a health test
alerts: healthStatus red, upgrades and readiness refused, the FMC's own
readiness check failed), `package.transfer` on the receiving device during a
push (disk_full fails it, corrupt leaves a file the readiness check finds
corrupt), and `registration` (the Registration task fails)."""

from __future__ import annotations

import httpx
import pytest

from tests.kinds.fmc.test_upgrade import GLOBAL, PLATFORM, _ids, _upgrade, _wait_task

V76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
FMC761 = "Cisco_Secure_FW_Mgmt_Center_Upgrade-7.6.1-91.sh.REL.tar"
CONFIG = f"/api/fmc_config/v1/domain/{GLOBAL}"


@pytest.fixture
def lab(lab_runner):
    return lab_runner({"lab": "fmc-faults", "devices": [
        {"name": "fmc", "kind": "fmc", "model": "FMCv", "version": "7.6.0-113", "upgrade_packages": [V76, FMC761]},
        {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
        {"name": "ftd-2", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
        {"name": "spare", "model": "FTDv", "version": "7.4.1-172"}]})


@pytest.fixture
def api(lab):
    client = httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False, timeout=30)
    client.headers["X-auth-access-token"] = client.post(
        f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
    yield client
    client.close()


def _description(answer: httpx.Response) -> str:
    return answer.json()["error"]["messages"][0]["description"]


def test_a_health_fault_turns_the_device_red_and_refuses_its_upgrade_until_spent(lab, api):
    packages, devices = _ids(api)
    record = f"{CONFIG}/devices/devicerecords/{devices['ftd-1']}"
    lab.add_fault("health", "fail", device="ftd-1", message="Database", times=2)
    assert api.get(record).json()["healthStatus"] == "red"          # reading does not spend it
    assert api.get(record).json()["healthStatus"] == "red"
    for mode in ({}, {"readinessCheckOnly": True}):
        answer = _upgrade(api, packages[V76], devices["ftd-1"], **mode)
        assert answer.status_code == 400
        assert _description(answer) == ("Health test Database failed on ftd-1. Resolve the health alert "
                                         "before you upgrade.")
    assert lab.run(lambda: (lab.lab.device("ftd-1").package, len(lab.lab.device("fmc").tasks))) == (None, 0)
    assert api.get(record).json()["healthStatus"] == "green"        # spent after two refusals
    ready = _upgrade(api, packages[V76], devices["ftd-1"], readinessCheckOnly=True)
    assert _wait_task(lab, api, ready.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    assert api.get(f"{CONFIG}/devices/devicerecords/{devices['ftd-2']}").json()["healthStatus"] == "green"


def test_a_health_fault_on_the_fmc_fails_its_own_readiness_check(lab, api):
    packages, _ = _ids(api)
    fmc_id = lab.run(lambda: lab.lab.device("fmc").uuid)
    lab.add_fault("health", "fail", device="fmc")
    answer = _upgrade(api, packages[FMC761], fmc_id, readinessCheckOnly=True)
    task = _wait_task(lab, api, answer.json()["metadata"]["task"]["id"])
    assert task["status"] == "FAILED"
    assert "Health test Disk Status failed on fmc." in task["message"]


def test_a_push_to_a_device_with_a_full_disk_fails_and_a_corrupt_copy_fails_readiness(lab, api):
    packages, devices = _ids(api)
    lab.add_fault("package.transfer", "disk_full", device="ftd-1")
    pushed = _upgrade(api, packages[V76], devices["ftd-1"], pushUpgradeFileOnly=True)
    task = _wait_task(lab, api, pushed.json()["metadata"]["task"]["id"])
    assert task["status"] == "FAILED"
    assert task["message"] == (f"Copying {V76} to ftd-1 failed: From the management center: "
                               "No space left on device")
    assert task["subTasks"][0]["status"] == "FAILED"
    assert lab.run(lambda: lab.lab.device("ftd-1").package) is None
    lab.add_fault("package.transfer", "corrupt", device="ftd-2")
    pushed = _upgrade(api, packages[V76], devices["ftd-2"], pushUpgradeFileOnly=True)
    assert _wait_task(lab, api, pushed.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    assert lab.run(lambda: lab.lab.device("ftd-2").package.problem) == "corrupt"
    ready = _upgrade(api, packages[V76], devices["ftd-2"], readinessCheckOnly=True)
    task = _wait_task(lab, api, ready.json()["metadata"]["task"]["id"])
    assert task["status"] == "FAILED" and "Readiness check failed on ftd-2" in task["message"]
    assert lab.run(lambda: lab.lab.device("ftd-2").version) == "7.4.1-172"


def test_a_registration_fault_fails_the_registration_task(lab, api):
    lab.add_fault("registration", "fail", device="fmc", message="Could not reach the device.")
    answer = api.post(f"{CONFIG}/devices/devicerecords", json={"name": "spare", "hostName": "spare",
                                                               "regKey": "k", "type": "Device"})
    task = _wait_task(lab, api, answer.json()["metadata"]["task"]["id"])
    assert task["status"] == "FAILED"
    assert task["message"] == "Registration of spare failed: Could not reach the device."
    assert "spare" not in _ids(api)[1]

"""FMC-driven upgrades over real HTTPS on virtual time: packages on the FMC,
push, readiness and upgrade tasks PENDING → RUNNING → COMPLETED|FAILED, an HA
pair standby first, and the FMC-first rule's refusal (nothing changes)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import connect

PLATFORM = "/api/fmc_platform/v1"
GLOBAL = "e276abec-e0f2-11e3-8169-6d9ed49b625f"
V76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
V77 = "Cisco_FTD_Upgrade-7.7.0-89.sh.REL.tar"
PROFILE = {"lab": "fmc-upgrade", "devices": [
    {"name": "fmc", "kind": "fmc", "model": "FMCv", "version": "7.6.0-113", "upgrade_packages": [V76, V77]},
    {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
    {"name": "ftd-a", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
    {"name": "ftd-b", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
    {"name": "ftd-old", "model": "FTDv", "version": "6.6.5-81", "managed_by": "fmc"}],
    "ha_pairs": [{"name": "ha", "primary": "ftd-a", "secondary": "ftd-b"}]}


@pytest.fixture
def fmc_lab(lab_runner):
    return lab_runner(PROFILE)


@pytest.fixture
def api(fmc_lab):
    client = httpx.Client(base_url=fmc_lab.endpoint("fmc")["https"]["url"], verify=False)
    token = client.post(f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
    client.headers["X-auth-access-token"] = token
    yield client
    client.close()


def _ids(api: httpx.Client) -> tuple[dict[str, str], dict[str, str]]:
    packages = {p["name"]: p["id"] for p in api.get(f"{PLATFORM}/updates/upgradepackages").json()["items"]}
    devices = {d["name"]: d["id"] for d in api.get(
        f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords?limit=100").json()["items"]}
    return packages, devices


def _upgrade(api, package: str, device: str, **flags) -> httpx.Response:
    body = {"type": "Upgrade", "upgradePackage": {"id": package, "type": "UpgradePackage"},
            "targets": [{"id": device, "type": "Device", "name": "x"}], **flags}
    return api.post(f"{PLATFORM}/updates/upgrades", json=body)


def _wait_task(fmc_lab, api, task_id: str) -> dict:
    """The task once it ended, with the statuses it went through (from the journal)."""
    fmc_lab.wait_until(lambda lab: lab.device("fmc").tasks[task_id].done, timeout=120)
    task = api.get(f"/api/fmc_config/v1/domain/{GLOBAL}/job/taskstatuses/{task_id}").json()
    return {**task, "seen": [e["status"] for e in fmc_lab.events("task", "fmc", id=task_id)]}


def test_push_readiness_and_upgrade_of_a_standalone_ftd(fmc_lab, api):
    packages, devices = _ids(api)
    applicable = api.get(f"{PLATFORM}/updates/upgradepackages/{packages[V76]}/applicabledevices").json()
    assert {d["name"] for d in applicable["items"]} == {"ftd-1", "ftd-a", "ftd-b", "ftd-old"}
    pushed = _upgrade(api, packages[V76], devices["ftd-1"], pushUpgradeFileOnly=True)
    assert pushed.status_code == 202
    task = _wait_task(fmc_lab, api, pushed.json()["metadata"]["task"]["id"])
    assert task["seen"] == ["PENDING", "RUNNING", "COMPLETED"] and "copied to 1" in task["message"]
    ready = _upgrade(api, packages[V76], devices["ftd-1"], readinessCheckOnly=True)
    assert _wait_task(fmc_lab, api, ready.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    upgrade = _upgrade(api, packages[V76], devices["ftd-1"], readinessCheckOnly=False,
                       enableUpgradeRevert=True, autoUpgradeCancel=True)
    task = _wait_task(fmc_lab, api, upgrade.json()["metadata"]["task"]["id"])
    assert task["status"] == "COMPLETED" and task["subTasks"][0]["status"] == "COMPLETED"
    record = api.get(f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords/{devices['ftd-1']}").json()
    assert record["sw_version"] == "7.6.0"


def test_the_primary_of_a_pair_upgrades_both_units_standby_first(fmc_lab, api):
    packages, devices = _ids(api)
    response = _upgrade(api, packages[V76], devices["ftd-a"])
    task = _wait_task(fmc_lab, api, response.json()["metadata"]["task"]["id"])
    assert task["status"] == "COMPLETED", task
    assert [s["target"]["name"] for s in task["subTasks"]] == ["ftd-b", "ftd-a"]
    started = [e["device"] for e in fmc_lab.events("upgrade.started")]
    assert started == ["ftd-b", "ftd-a"]
    assert fmc_lab.run(lambda: [fmc_lab.lab.device(n).version for n in ("ftd-a", "ftd-b")]) == ["7.6.0-113"] * 2


def test_no_device_goes_past_the_fmc_and_nothing_changes(fmc_lab, api):
    packages, devices = _ids(api)
    refused = _upgrade(api, packages[V77], devices["ftd-1"])
    assert refused.status_code == 400
    assert refused.json()["error"]["messages"][0]["description"].startswith(
        "You cannot upgrade a device past the management center to a newer major or maintenance version.")
    assert fmc_lab.run(lambda: (fmc_lab.lab.device("ftd-1").package, fmc_lab.lab.device("fmc").tasks)) == (None, {})


def test_a_path_the_device_refuses_fails_the_readiness_task(fmc_lab, api):
    packages, devices = _ids(api)
    response = _upgrade(api, packages[V76], devices["ftd-old"], readinessCheckOnly=True)
    task = _wait_task(fmc_lab, api, response.json()["metadata"]["task"]["id"])
    assert task["status"] == "FAILED" and task["message"].startswith("Readiness check failed on ftd-old")
    assert fmc_lab.run(lambda: fmc_lab.lab.device("ftd-old").version) == "6.6.5-81"


async def _sftp_put(port: int, path) -> None:
    async with await connect(port) as conn:
        async with conn.start_sftp_client() as sftp:
            await sftp.put(str(path), f"/var/sf/updates/{path.name}")


def test_a_package_copied_to_var_sf_updates_appears_and_delete_removes_it(fmc_lab, api, packages):
    path = packages("Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar")
    port = fmc_lab.endpoint("fmc")["ssh"]["port"]
    fmc_lab.call(_sftp_put(port, path))
    found, _ = _ids(api)
    assert "Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar" in found
    deleted = api.delete(f"{PLATFORM}/updates/upgradepackages/{found['Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar']}")
    assert deleted.status_code == 200 and "Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar" not in _ids(api)[0]


CHASSIS = {"lab": "fmc-chassis", "devices": [
    {"name": "fmc", "kind": "fmc", "model": "FMC-4700", "version": "7.6.0-113",
     "upgrade_packages": ["Cisco_FTD_SSP_Upgrade-7.6.0-113.sh.REL.tar", "Cisco_FTD_Upgrade-7.4.0-118.sh.REL.tar"]},
    {"name": "chassis", "kind": "fxos", "model": "FPR-4145", "version": "2.14(1.131)",
     "modules": [{"slot": 1, "apps": [{"device": "ld"}]}]},
    {"name": "ld", "model": "FPR-4145", "version": "7.4.1-172", "fxos_version": "2.14(1.131)", "managed_by": "fmc"},
    {"name": "v", "model": "FTDv", "version": "7.2.5-208", "managed_by": "fmc"}]}


@pytest.mark.parametrize("target, package, fragment", [
    ("ld", "Cisco_FTD_SSP_Upgrade-7.6.0-113.sh.REL.tar", "requires a minimum FXOS version of 2.16"),
    ("v", "Cisco_FTD_Upgrade-7.4.0-118.sh.REL.tar", "You cannot upgrade to Version 7.4.0"),
])
def test_chassis_before_threat_defense_and_no_740_fail_the_task_and_change_nothing(lab_runner, target, package,
                                                                                   fragment):
    lab = lab_runner(CHASSIS)
    client = httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False)
    client.headers["X-auth-access-token"] = client.post(
        f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
    packages, devices = _ids(client)
    response = _upgrade(client, packages[package], devices[target])
    task = _wait_task(lab, client, response.json()["metadata"]["task"]["id"])
    assert task["status"] == "FAILED" and fragment in task["message"] and task["subTasks"][0]["status"] == "FAILED"
    version = lab.run(lambda: lab.lab.device(target).version)
    assert version == {"ld": "7.4.1-172", "v": "7.2.5-208"}[target]


def test_a_failed_upgrade_is_retried_then_reverted_through_the_fmc(fmc_lab, api):
    packages, devices = _ids(api)
    fmc_lab.add_fault("upgrade.stage:500_rpms", "fail", device="ftd-1")
    upgrade = _upgrade(api, packages[V76], devices["ftd-1"], autoUpgradeCancel=False)
    task = _wait_task(fmc_lab, api, upgrade.json()["metadata"]["task"]["id"])
    assert task["status"] == "FAILED" and task["message"].startswith("Upgrade failed on ftd-1")
    target = {"targets": [{"id": devices["ftd-1"], "type": "Device", "name": "ftd-1"}]}
    retry = api.post(f"{PLATFORM}/updates/retryupgrades", json=target)
    assert retry.status_code == 202
    assert _wait_task(fmc_lab, api, retry.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    assert fmc_lab.run(lambda: fmc_lab.lab.device("ftd-1").version) == "7.6.0-113"
    again = api.post(f"{PLATFORM}/updates/retryupgrades", json=target)
    assert again.status_code == 400 and again.json()["error"]["messages"][0]["description"]
    revert = api.post(f"{PLATFORM}/updates/revertupgrades", json=target)
    assert _wait_task(fmc_lab, api, revert.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    assert fmc_lab.run(lambda: fmc_lab.lab.device("ftd-1").version) == "7.4.1-172"


def test_cancel_of_a_failed_upgrade_rolls_back(fmc_lab, api):
    packages, devices = _ids(api)
    fmc_lab.add_fault("upgrade.stage:500_rpms", "fail", device="ftd-1")
    upgrade = _upgrade(api, packages[V76], devices["ftd-1"], autoUpgradeCancel=False)
    _wait_task(fmc_lab, api, upgrade.json()["metadata"]["task"]["id"])
    cancel = api.post(f"{PLATFORM}/updates/cancelupgrades",
                      json={"targets": [{"id": devices["ftd-1"], "type": "Device", "name": "ftd-1"}]})
    task = _wait_task(fmc_lab, api, cancel.json()["metadata"]["task"]["id"])
    assert task["status"] == "COMPLETED" and task["subTasks"][0]["status"] == "COMPLETED"
    assert fmc_lab.run(lambda: fmc_lab.lab.device("ftd-1").version) == "7.4.1-172"


FMC_761 = "Cisco_Secure_FW_Mgmt_Center_Upgrade-7.6.1-91.sh.REL.tar"


def test_the_fmc_upgrades_itself_first_readiness_mandatory_api_away_then_devices_may_follow(lab_runner):
    """Seed 001: readiness is mandatory for the FMC; REST offers the FMC only a readiness
    check; its API answers 503 while it installs; running tasks fail; afterwards it
    runs 7.6.1 and a 7.6.1 device upgrade is no longer refused."""
    from tests.kinds.fmc.test_cli import shell_run

    profile = {"lab": "fmc-self", "devices": [
        {"name": "fmc", "kind": "fmc", "model": "FMCv", "version": "7.6.0-113",
         "upgrade_packages": [FMC_761, "Cisco_FTD_Upgrade-7.6.1-291.sh.REL.tar", V76]},
        {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"}]}
    lab = lab_runner(profile)
    client = httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False)
    client.headers["X-auth-access-token"] = client.post(
        f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
    packages, devices = _ids(client)
    ftd_761 = packages["Cisco_FTD_Upgrade-7.6.1-291.sh.REL.tar"]
    refused = _upgrade(client, ftd_761, devices["ftd-1"])
    assert refused.status_code == 400 and "past the management center" in refused.text
    me = client.get(f"{PLATFORM}/updates/upgradepackages/{packages[FMC_761]}/applicabledevices").json()["items"]
    assert [d["name"] for d in me] == ["fmc"]
    no_rest = _upgrade(client, packages[FMC_761], me[0]["id"])
    assert no_rest.status_code == 400 and "only readiness check is supported" in no_rest.text
    port = lab.endpoint("fmc")["ssh"]["port"]
    early = lab.call(shell_run(port, [f"sudo install_update.pl /var/sf/updates/{FMC_761}"]))
    assert "passing readiness checks is not optional" in early and lab.state("fmc") == "online"
    ready = _upgrade(client, packages[FMC_761], me[0]["id"], readinessCheckOnly=True)
    assert _wait_task(lab, client, ready.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    backup = client.post(f"/api/fmc_config/v1/domain/{GLOBAL}/backup/operational/devicebackup",
                         json={"type": "DEVICE_BACKUP", "devices": [{"id": devices["ftd-1"], "type": "Device"}]})
    _wait_task(lab, client, backup.json()["metadata"]["task"]["id"])
    assert len(client.get(f"/api/fmc_config/v1/domain/{GLOBAL}/backup/files").json()["items"]) == 1
    lab.run(lab.lab.clock.pause)            # the push below is still running when the FMC's upgrade starts
    running = _upgrade(client, packages[V76], devices["ftd-1"], pushUpgradeFileOnly=True).json()
    out = lab.call(shell_run(port, [f"sudo install_update.pl /var/sf/updates/{FMC_761}"]))
    assert "Upgrade started" in out
    lab.run(lab.lab.clock.resume)
    lab.wait_for_state("fmc", "upgrading")
    stopped = lab.run(lambda: lab.lab.device("fmc").tasks[running["metadata"]["task"]["id"]])
    assert stopped.status == "FAILED" and "management center upgrade started" in stopped.message
    assert client.get(f"{PLATFORM}/info/serverversion").status_code == 503
    lab.wait_for_state("fmc", "online", timeout=120)
    client.headers["X-auth-access-token"] = client.post(
        f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
    version = client.get(f"{PLATFORM}/info/serverversion").json()["items"][0]["serverVersion"]
    assert version == "7.6.1 (build 91)"
    assert FMC_761 not in _ids(client)[0]          # the upgrade consumed its package
    assert "items" not in client.get(f"/api/fmc_config/v1/domain/{GLOBAL}/backup/files").json()   # and the backups
    assert _upgrade(client, ftd_761, devices["ftd-1"], readinessCheckOnly=True).status_code == 202


def test_ciscos_ha_upgrade_workflow_backup_readiness_upgrade(fmc_lab, api):
    """The order of calls of FMCAnsible's ftd-ha-upgrade example (fmc-api.md §10.5)."""
    domain = api.get(f"{PLATFORM}/info/domain").json()["items"][0]["uuid"]
    package = next(p for p in api.get(f"{PLATFORM}/updates/upgradepackages").json()["items"] if "7.6.0-113" in p["name"])
    pair = next(p for p in api.get(f"/api/fmc_config/v1/domain/{domain}/devicehapairs/ftddevicehapairs?expanded=true")
                .json()["items"] if p["name"] == "ha")
    backup = api.post(f"/api/fmc_config/v1/domain/{domain}/backup/operational/devicebackup",
                      json={"type": "DEVICE_BACKUP", "retrieveToManagementCenter": True,
                            "devices": [{"id": pair["id"], "type": "HAContainer", "name": pair["name"]}]})
    assert backup.status_code == 202
    assert _wait_task(fmc_lab, api, backup.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    files = api.get(f"/api/fmc_config/v1/domain/{domain}/backup/files?expanded=true").json()["items"]
    assert sorted(f["device"]["name"] for f in files) == ["ftd-a", "ftd-b"]
    target = [{"id": pair["primary"]["id"], "type": "Device", "name": pair["primary"]["name"]}]
    body = {"upgradePackage": {"id": package["id"], "type": "UpgradePackage"}, "targets": target,
            "readinessCheckOnly": True, "enableUpgradeRevert": True, "autoUpgradeCancel": False}
    ready = api.post(f"{PLATFORM}/updates/upgrades", json=body).json()["metadata"]["task"]["id"]
    assert _wait_task(fmc_lab, api, ready)["status"] == "COMPLETED"
    upgrade = api.post(f"{PLATFORM}/updates/upgrades", json={**body, "readinessCheckOnly": False,
                                                             "autoUpgradeCancel": True}).json()
    task = _wait_task(fmc_lab, api, upgrade["metadata"]["task"]["id"])
    assert task["status"] == "COMPLETED" and len(task["subTasks"]) == 2

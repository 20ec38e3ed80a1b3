"""Seed 001's rules the FMC enforces before it starts a device upgrade, each
refused through the REST API with nothing changed: Table 2 (a target released
after the current version), and the health tests that block an upgrade (Disk
Usage, FTD HA status: split brain or out of sync, Time Synchronization over
10 s) read from the devices' real state; and the FMC-first rule's patch
exception."""

from __future__ import annotations

import httpx
import pytest

from simulator.kinds.ftd import facts as ftd_facts
from tests.kinds.fmc.test_upgrade import GLOBAL, _ids, _upgrade, _wait_task

V760 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
V761 = "Cisco_FTD_Upgrade-7.6.1-291.sh.REL.tar"
FULL_MB = ftd_facts.ftd().models["FTDv"].disk_mb - 2000        # 2000 MB free; a 7.x upgrade needs 2900


def _profile() -> dict:
    return {"lab": "fmc-rules", "devices": [
        {"name": "fmc", "kind": "fmc", "model": "FMCv", "version": "7.6.1-91", "upgrade_packages": [V760, V761]},
        {"name": "late", "model": "FTDv", "version": "7.2.9-44", "managed_by": "fmc"},
        {"name": "full", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc", "disk_used_mb": FULL_MB},
        {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
        {"name": "ftd-a", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
        {"name": "ftd-b", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"}],
        "ha_pairs": [{"name": "ha", "primary": "ftd-a", "secondary": "ftd-b"}]}


@pytest.fixture
def lab(lab_runner):
    return lab_runner(_profile())


@pytest.fixture
def api(lab):
    client = httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False)
    client.headers["X-auth-access-token"] = client.post(
        "/api/fmc_platform/v1/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
    yield client
    client.close()


def _refused(lab, api, package: str, device: str, fragment: str, **flags) -> None:
    """Upgrade and readiness are both refused with 400 and the rule's text; no task,
    no copy, no upgrade, same version."""
    packages, devices = _ids(api)
    before = lab.run(lambda: (len(lab.lab.device("fmc").tasks), lab.lab.device(device).version))
    for mode in ({}, {"readinessCheckOnly": True}):
        answer = _upgrade(api, packages[package], devices[device], **mode, **flags)
        assert answer.status_code == 400, answer.text
        description = answer.json()["error"]["messages"][0]["description"]
        assert fragment in description, description
    after = lab.run(lambda: (len(lab.lab.device("fmc").tasks), lab.lab.device(device).version))
    assert after == before and lab.run(lambda: lab.lab.device(device).package) is None
    assert not lab.events("upgrade.started") and not lab.events("readiness")


def test_table_2_a_target_released_before_the_current_version_is_refused(lab, api):
    # 7.2.9 came out after 7.6.0 (2024-09-16): Table 2 lists only 7.2.0-7.2.8 for 7.6.0.
    _refused(lab, api, V760, "late", "Version 7.6.0 (released 2024-09-16) is not a later release than 7.2.9")
    packages, devices = _ids(api)
    ready = _upgrade(api, packages[V761], devices["late"], readinessCheckOnly=True)     # 7.6.1 lists 7.2.9
    assert _wait_task(lab, api, ready.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"


def test_disk_usage_blocks_the_upgrade(lab, api):
    _refused(lab, api, V761, "full", "Health test Disk Usage failed on full: the upgrade needs 2900 MB free, "
                                     "2000 MB are free.")


def test_time_synchronisation_over_10_seconds_blocks_the_upgrade(lab, api):
    lab.add_fault("clock.ntp", "offset", device="ftd-1", seconds=10)          # at the limit: no alert
    lab.wait_until(lambda running: running.device("ftd-1").clock_offset == 10)
    _, devices = _ids(api)
    record = f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords/{devices['ftd-1']}"
    assert api.get(record).json()["healthStatus"] == "green"
    lab.add_fault("clock.ntp", "offset", device="ftd-1", seconds=-25)
    lab.wait_until(lambda running: running.device("ftd-1").clock_offset == -25)
    assert api.get(record).json()["healthStatus"] == "yellow"
    _refused(lab, api, V761, "ftd-1", "Health test Time Synchronization Status failed on ftd-1: the clock is 25 s off")


def test_an_ha_pair_in_split_brain_is_not_upgraded(lab, api):
    lab.add_fault("failover.link", "cut", device="ha")
    lab.wait_until(lambda running: running.pairs["ha"].state == "split_brain")
    _refused(lab, api, V761, "ftd-a", "Health test Firewall Threat Defense HA failed on ftd-b")
    assert lab.run(lambda: [lab.lab.device(n).version for n in ("ftd-a", "ftd-b")]) == ["7.4.1-172"] * 2


def test_an_ha_pair_out_of_sync_is_not_upgraded(lab, api):
    lab.add_fault("ha.sync", "fail", device="ftd-b")          # the standby's config sync fails as it rejoins
    lab.run(lambda: lab.lab.device("ftd-b").reboot())
    lab.wait_until(lambda running: running.pairs["ha"].config_status == "OUT_OF_SYNC"
                   and running.device("ftd-b").state == "online")
    _refused(lab, api, V761, "ftd-a", "Health test Firewall Threat Defense HA failed on ftd-b: The high "
             "availability pair is not healthy (the configuration is not synchronized).")
    assert lab.run(lambda: [lab.lab.device(n).version for n in ("ftd-a", "ftd-b")]) == ["7.4.1-172"] * 2


PATCH = "Cisco_FTD_Patch-7.4.1.1-12.sh.REL.tar"
V742 = "Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar"


def test_fmc_first_excepts_patches(lab_runner):
    """Seed 001: a device may not go past the FMC's major/maintenance release, but a
    patch may: an FMC on 7.4.1 refuses 7.4.2 and lets 7.4.1.1 through."""
    lab = lab_runner({"lab": "fmc-patch", "devices": [
        {"name": "fmc", "kind": "fmc", "model": "FMCv", "version": "7.4.1-172", "upgrade_packages": [PATCH, V742]},
        {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"}]})
    with httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False) as client:
        client.headers["X-auth-access-token"] = client.post(
            "/api/fmc_platform/v1/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
        _refused(lab, client, V742, "ftd-1", "You cannot upgrade a device past the management center")
        packages, devices = _ids(client)
        upgrade = _upgrade(client, packages[PATCH], devices["ftd-1"])
        assert upgrade.status_code == 202, upgrade.text
        assert _wait_task(lab, client, upgrade.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    assert lab.run(lambda: (lab.lab.device("ftd-1").version, lab.lab.device("fmc").version)) == (
        "7.4.1.1-12", "7.4.1-172")

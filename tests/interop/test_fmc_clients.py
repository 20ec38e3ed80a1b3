"""fmcapi (PyPI, unmodified) against the lab's FMC over real HTTPS: login,
server version, device records, and a token refresh when its own clock says
the token is old, and its refreshtoken path three times."""

from __future__ import annotations

import datetime

import pytest

fmcapi = pytest.importorskip("fmcapi")


def test_fmcapi_logs_in_reads_devices_and_survives_a_token_refresh(lab_runner):
    lab = lab_runner("fmc-managed")
    host = lab.endpoint("fmc")["https"]["url"].removeprefix("https://")
    with fmcapi.FMC(host=host, username="admin", password="Admin123", autodeploy=False,
                    logging_level="WARNING") as fmc:
        assert fmc.serverVersion == "7.6.0 (build 113)"
        names = {item["name"] for item in fmcapi.DeviceRecords(fmc=fmc).get()["items"]}
        assert {"ftd-4k-a", "ftd-4k-b", "ftdv-a", "ftdv-b", "fpr1120-1", "sf3120-1", "isa3000-1"} == names
        first = fmc.mytoken.access_token
        # fmcapi renews by its own wall clock at 95 % of 30 minutes: age its token instead of waiting.
        fmc.mytoken.token_creation_time -= datetime.timedelta(minutes=29)
        record = fmcapi.DeviceRecords(fmc=fmc, name="sf3120-1").get()
        assert fmc.mytoken.access_token != first          # this fmcapi logs in afresh at 28.5 minutes
        # Its refresh path (refreshtoken with both tokens), three times, each token then in use.
        for count in (1, 2, 3):
            previous = fmc.mytoken.access_token
            fmc.mytoken.generate_tokens()
            assert fmc.mytoken.token_refreshes == count and fmc.mytoken.access_token not in (None, previous)
            assert fmcapi.DeviceRecords(fmc=fmc, name="ftdv-a").get()["name"] == "ftdv-a"
        assert record["sw_version"] == "7.4.1" and record["model"] == "Cisco Secure Firewall 3120 Threat Defense"
        pairs = fmcapi.FTDDeviceHAPairs(fmc=fmc).get()["items"]
        assert {p["name"] for p in pairs} == {"ftd-4k-ha", "ftdv-ha"}


def test_fmcapi_upgrades_a_standalone_ftd_through_its_own_classes(lab_runner, packages):
    """Upgrades + TaskStatuses, polled to COMPLETED; the device's CLI then shows the new version."""
    import asyncio

    from tests.conftest import connect

    lab = lab_runner("fmc-managed")
    package = packages("Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar")
    fmc_ssh, ftd_ssh = lab.endpoint("fmc")["ssh"]["port"], lab.endpoint("sf3120-1")["ssh"]["port"]

    async def put() -> None:
        async with await connect(fmc_ssh) as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.put(str(package), f"/var/sf/updates/{package.name}")
    lab.call(put())
    host = lab.endpoint("fmc")["https"]["url"].removeprefix("https://")
    with fmcapi.FMC(host=host, username="admin", password="Admin123", autodeploy=False,
                    logging_level="WARNING") as fmc:
        upgrade = fmcapi.Upgrades(fmc=fmc)
        upgrade.upgrade_package(package.name)
        upgrade.devices(["sf3120-1"])
        upgrade.readinessCheckOnly, upgrade.enableUpgradeRevert, upgrade.autoUpgradeCancel = False, True, True
        response = upgrade.post()
        task = fmcapi.TaskStatuses(fmc=fmc, id=response["metadata"]["task"]["id"])
        statuses = []
        for _ in range(2000):
            status = task.get()["status"]
            statuses.append(status)
            if status in ("COMPLETED", "FAILED"):
                break
            asyncio.run(asyncio.sleep(0.02))
        assert statuses[-1] == "COMPLETED" and "RUNNING" in statuses

    async def show_version() -> str:
        async with await connect(ftd_ssh) as conn:
            return (await conn.run("show version")).stdout
    assert "7.6.0 (Build 113)" in lab.call(show_version())

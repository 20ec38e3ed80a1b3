"""Issue 15's first acceptance line: fmcapi and fireREST (PyPI, unmodified)
each drive a full upgrade of the `fmc-managed` lab on scaled time, in seed
001's order, through their own classes: the FMC first, then the FTDv HA pair
(no chassis upgrade needed: FTDv runs on no FXOS), then a standalone FTD
(the Secure Firewall 3120), every task polled to COMPLETED; then each device
shows its new version on its own CLI.

The FMC's own upgrade is not startable over REST on the real product: its
`updates/upgrades` takes only the readiness check for the FMC, so the client
runs that (mandatory, seed 001) and the install runs as the README says, with
`install_update.pl` in the FMC's root shell over SSH. While it installs and
reboots the API answers 503 or refuses connections; the clients log in again
once it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from simulator.kinds.fmc.packages import make_fmc_package
from simulator.kinds.ftd.packages import make_package
from tests.conftest import connect, open_terminal, upload

pytestmark = pytest.mark.clients
FMC_761 = "Cisco_Secure_FW_Mgmt_Center_Upgrade-7.6.1-91.sh.REL.tar"
FTDV_761 = "Cisco_FTD_Upgrade-7.6.1-291.sh.REL.tar"                 # FTDv
FP3K_761 = "Cisco_FTD_SSP-FP3K_Upgrade-7.6.1-291.sh.REL.tar"        # Secure Firewall 3100
SCALE = "400"                                                        # lab seconds per wall second
POLL = 0.6            # wall s between task polls: under 120 requests a minute (fireREST waits 10 s on a 429)
PAIR, STANDALONE = ("ftdv-a", "ftdv-b"), "sf3120-1"


def _lab(lab_process, tmp_path: Path) -> dict[str, dict]:
    """fmc-managed on scaled time; the three packages copied into the FMC's /var/sf/updates over SFTP."""
    endpoints, _ = lab_process("fmc-managed", "--time-scale", SCALE)
    devices = {d["name"]: d for d in endpoints["devices"]}
    files = [make_fmc_package(FMC_761, tmp_path), make_package(FTDV_761, tmp_path), make_package(FP3K_761, tmp_path)]

    async def put() -> None:
        for path in files:
            await upload(devices["fmc"]["ssh"]["port"], path)
    asyncio.run(put())
    return devices


def _poll(status: Callable[[], str]) -> list[str]:
    """A task's statuses, polled (wall time; the lab runs on scaled time) until it ends."""
    seen = [status()]
    deadline = time.monotonic() + 40
    while seen[-1] not in ("COMPLETED", "FAILED") and time.monotonic() < deadline:
        time.sleep(POLL)
        seen.append(status())
    return seen


def _completed(statuses: list[str]) -> None:
    assert statuses[-1] == "COMPLETED" and set(statuses) <= {"PENDING", "RUNNING", "COMPLETED"}, statuses


def _install_fmc_from_its_root_shell(fmc: dict) -> str:
    """`expert`, `sudo su -`, `install_update.pl`: the FMC's own upgrade, as an operator starts it."""
    async def install() -> str:
        term = await open_terminal(fmc["ssh"]["port"])
        try:
            await term.cmd("expert", r"\$ $")
            await term.cmd("sudo su -", r"Password: $")
            await term.cmd(fmc["ssh"]["password"], r"# $")
            return await term.cmd(f"install_update.pl /var/sf/updates/{FMC_761}", r"restarts\.")
        finally:
            await term.close()
    return asyncio.run(install())


def _wait_for_fmc(url: str, version: str) -> list[str]:
    """What the API answered while the FMC upgraded, until it serves `version` again."""
    seen: list[str] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            with httpx.Client(base_url=url, verify=False, timeout=5) as api:
                login = api.post("/api/fmc_platform/v1/auth/generatetoken", auth=("admin", "Admin123"))
                seen.append(str(login.status_code))
                if login.status_code == 204:
                    answer = api.get("/api/fmc_platform/v1/info/serverversion",
                                     headers={"X-auth-access-token": login.headers["X-auth-access-token"]})
                    if answer.json()["items"][0]["serverVersion"].startswith(version):
                        return seen
        except httpx.TransportError:
            seen.append("refused")
        time.sleep(0.1)
    raise AssertionError(f"the FMC did not come back on {version}: {seen[-5:]}")


def _cli_versions(devices: dict[str, dict]) -> dict[str, str]:
    """`show version` on the FMC, the pair's units and the standalone FTD, over SSH."""
    async def show(port: int) -> str:
        async with await connect(port) as conn:
            return (await conn.run("show version")).stdout
    return {name: asyncio.run(show(devices[name]["ssh"]["port"])) for name in ("fmc", *PAIR, STANDALONE)}


def _assert_new_versions(devices: dict[str, dict], fmc_answers: list[str]) -> None:
    assert "503" in fmc_answers or "refused" in fmc_answers      # the API went away while it upgraded
    shown = _cli_versions(devices)
    assert "Version 7.6.1 (Build 91)" in shown["fmc"], shown["fmc"]
    for name in (*PAIR, STANDALONE):
        assert "7.6.1 (Build 291)" in shown[name], shown[name]


def test_fmcapi_upgrades_the_fmc_then_an_ha_pair_then_a_standalone_ftd(lab_process, tmp_path):
    fmcapi = pytest.importorskip("fmcapi")
    devices = _lab(lab_process, tmp_path)
    host = devices["fmc"]["https"]["url"].removeprefix("https://")

    def session():
        return fmcapi.FMC(host=host, username="admin", password="Admin123", autodeploy=False,
                          logging_level="WARNING")

    def run(upgrade) -> list[str]:
        task = fmcapi.TaskStatuses(fmc=upgrade.fmc, id=upgrade.post()["metadata"]["task"]["id"])
        return _poll(lambda: task.get()["status"])

    with session() as fmc:
        assert fmc.serverVersion == "7.6.0 (build 113)"
        applicable = fmcapi.ListApplicableDevices(fmc=fmc)
        applicable.upgrade_package(FMC_761)
        me = applicable.get()["items"]
        assert [m["name"] for m in me] == ["fmc"]
        readiness = fmcapi.Upgrades(fmc=fmc, readinessCheckOnly=True)
        readiness.upgrade_package(FMC_761)
        readiness.targets = [{"id": me[0]["id"], "type": me[0]["type"], "name": me[0]["name"]}]
        _completed(run(readiness))
    assert "Upgrade started." in _install_fmc_from_its_root_shell(devices["fmc"])
    answers = _wait_for_fmc(devices["fmc"]["https"]["url"], "7.6.1")

    with session() as fmc:                                   # a new login: the upgrade ended every session
        assert fmc.serverVersion == "7.6.1 (build 91)"
        for package, target in ((FTDV_761, PAIR[0]), (FP3K_761, STANDALONE)):   # the pair by its primary
            for readiness_only in (True, False):
                upgrade = fmcapi.Upgrades(fmc=fmc, readinessCheckOnly=readiness_only, enableUpgradeRevert=True,
                                          autoUpgradeCancel=True)
                upgrade.upgrade_package(package)
                upgrade.devices([target])
                _completed(run(upgrade))
        records = {d["name"]: d["sw_version"] for d in fmcapi.DeviceRecords(fmc=fmc).get()["items"]}
    assert {name: records[name] for name in (*PAIR, STANDALONE)} == dict.fromkeys((*PAIR, STANDALONE), "7.6.1")
    _assert_new_versions(devices, answers)


def test_firerest_upgrades_the_fmc_then_an_ha_pair_then_a_standalone_ftd(lab_process, tmp_path):
    firerest = pytest.importorskip("fireREST")
    devices = _lab(lab_process, tmp_path)
    host = devices["fmc"]["https"]["url"].removeprefix("https://")

    def session():
        return firerest.FMC(hostname=host, username="admin", password="Admin123")

    def run(fmc, package: dict, target: dict, **options: bool) -> list[str]:
        body = {"upgradePackage": {"id": package["id"], "type": "UpgradePackage"},
                "targets": [{"id": target["id"], "type": target["type"], "name": target["name"]}], **options}
        task = fmc.update.upgrade(data=body).json()["metadata"]["task"]
        return _poll(lambda: fmc.job.taskstatus.get(uuid=task["id"])["status"])

    def package_named(fmc, name: str) -> dict:
        return next(p for p in fmc.update.upgradepackage.get() if p["name"] == name)

    fmc = session()
    assert str(fmc.version) == "7.6.0"
    package = package_named(fmc, FMC_761)
    me = fmc.update.upgradepackage.applicabledevice.get(container_uuid=package["id"])
    assert [m["name"] for m in me] == ["fmc"]
    _completed(run(fmc, package, me[0], readinessCheckOnly=True))
    assert "Upgrade started." in _install_fmc_from_its_root_shell(devices["fmc"])
    answers = _wait_for_fmc(devices["fmc"]["https"]["url"], "7.6.1")

    fmc = session()                                          # a new login: the upgrade ended every session
    assert str(fmc.version) == "7.6.1"
    records = {d["name"]: d for d in fmc.device.devicerecord.get()}
    for name, target in ((FTDV_761, PAIR[0]), (FP3K_761, STANDALONE)):        # the pair by its primary
        package = package_named(fmc, name)
        assert target in {d["name"] for d in fmc.update.upgradepackage.applicabledevice.get(
            container_uuid=package["id"])}
        for readiness_only in (True, False):
            _completed(run(fmc, package, records[target], readinessCheckOnly=readiness_only,
                           enableUpgradeRevert=True, autoUpgradeCancel=True))
    after = {d["name"]: d["sw_version"] for d in fmc.device.devicerecord.get()}
    assert {name: after[name] for name in (*PAIR, STANDALONE)} == dict.fromkeys((*PAIR, STANDALONE), "7.6.1")
    _assert_new_versions(devices, answers)

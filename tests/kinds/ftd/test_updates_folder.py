"""/var/sf/updates and FDM's upgrade-file list agree (issue 13): the folder holds
the device's one package — a new one replaces the old (seed 000: "You can upload
one package only. If you upload a new package, it replaces the old one"), the
upgrade removes the one it installed (seed 001: "upgrading removes the related
package from the upgraded appliance"), a package the device refuses is not kept."""

from __future__ import annotations

import httpx
import pytest

from simulator.lab import Lab
from tests.conftest import open_terminal, ssh_port, upload
from tests.kinds.ftd.test_api import API, https_url, login

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
UPGRADE_742 = "Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar"


@pytest.fixture
async def api(lab):
    async with httpx.AsyncClient(base_url=https_url(lab), verify=False, timeout=10) as client:
        await login(client)
        yield client


async def listed(api: httpx.AsyncClient) -> list[str]:
    return [f["upgradeFileName"] for f in (await api.get(f"{API}/managedentity/upgradefiles")).json()["items"]]


async def folder_over_ssh(lab) -> list[str]:
    """What `ls /var/sf/updates` shows in the expert shell."""
    term = await open_terminal(ssh_port(lab))
    await term.cmd("expert", prompt=r"\$ $")
    out = await term.cmd("ls /var/sf/updates", prompt=r"\$ $")
    await term.close()
    return sorted(name for line in out.splitlines() for name in line.split() if name.endswith(".sh.REL.tar"))


async def test_scp_keeps_one_package_and_the_upgrade_removes_it(lab, api, packages):
    device = lab.devices["ftd-1"]
    await upload(ssh_port(lab), packages(UPGRADE_742))
    await upload(ssh_port(lab), packages(UPGRADE_76))
    assert await listed(api) == [UPGRADE_76] and await folder_over_ssh(lab) == [UPGRADE_76]
    assert (await api.post(f"{API}/action/upgrade")).status_code == 204
    # a package that arrives while the device upgrades is refused and not kept
    await upload(ssh_port(lab), packages(UPGRADE_742))
    assert device.package.filename == UPGRADE_76
    assert sorted(p.name for p in (lab.store.device_fs("ftd-1") / "var/sf/updates").iterdir()) == [UPGRADE_76]
    await lab.clock.run_until(lambda: device.job_phase == "done")
    await lab.settle()
    assert device.job.state == "COMPLETED" and device.version == "7.6.0-113"
    await login(api)
    assert await listed(api) == [] and await folder_over_ssh(lab) == []


async def test_a_restarted_lab_keeps_only_the_package_it_has(tmp_path, packages):
    state = tmp_path / "state"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True, seed=7) as lab:
        await upload(ssh_port(lab), packages(UPGRADE_76))
        folder = lab.store.device_fs("ftd-1") / "var/sf/updates"
        stale = packages(UPGRADE_742)
        (folder / stale.name).write_bytes(stale.read_bytes())     # left behind by an older simulator
        (folder / "notes.txt").write_text("mine")
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True, seed=7) as lab:
        assert sorted(p.name for p in folder.iterdir()) == [UPGRADE_76, "notes.txt"]
        assert lab.devices["ftd-1"].package.filename == UPGRADE_76

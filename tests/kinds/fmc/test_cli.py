"""Over real SSH: the FMC's CLI and Linux shell, and a managed FTD's
`show managers` / `configure manager add|delete` (FDM off while managed)."""

from __future__ import annotations

import httpx
import pytest

from simulator.lab import Lab
from tests.conftest import open_terminal, ssh_port

PROFILE = {"lab": "fmc-cli", "devices": [
    {"name": "fmc", "kind": "fmc", "model": "FMC-2700", "version": "7.6.0-113", "hostname": "fmc"},
    {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
    {"name": "ftd-2", "model": "FTDv", "version": "7.4.1-172"}]}


@pytest.fixture
async def fmc_lab(tmp_path):
    async with Lab(PROFILE, state_dir=tmp_path / "state", virtual_time=True, seed=5) as running:
        yield running


async def test_fmc_show_version_and_the_upgrade_logs_from_the_shell(fmc_lab, tmp_path):
    logs = fmc_lab.store.device_fs("fmc") / "var/log/sf"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "status.log").write_text("state:running\nui:Upgrade in progress: (10% done)\n")
    term = await open_terminal(ssh_port(fmc_lab, "fmc"))
    try:
        version = await term.cmd("show version")
        assert "Cisco Secure Firewall Management Center 2700 (32) Version 7.6.0 (Build 113)" in version
        assert "-[ fmc ]-" in version
        await term.cmd("expert", r"admin@fmc:~\$ $")
        assert "status.log" in await term.cmd("ls /var/log/sf", r"admin@fmc:~\$ $")
        out = await term.cmd("tail -n 1 /var/log/sf/status.log", r"admin@fmc:~\$ $")
        assert "Upgrade in progress: (10% done)" in out
        assert "No such file" in await term.cmd("cat /var/log/sf/none.log", r"admin@fmc:~\$ $")
        await term.cmd("sudo su -", "Password: $")
        await term.cmd("Admin123", r"root@fmc:~# $")
        assert "root" in await term.cmd("whoami", r"root@fmc:~# $")
    finally:
        await term.close()


async def test_show_managers_names_the_fmc_and_delete_brings_fdm_back(fmc_lab):
    term = await open_terminal(ssh_port(fmc_lab, "ftd-1"))
    try:
        out = await term.cmd("show managers")
        assert "Host                      : fmc" in out and "Registration              : Completed" in out
        assert "Version                   : 7.6.0 (build 113)" in out
        assert "Manager successfully deleted." in await term.cmd("configure manager delete")
        assert "Managed locally." in await term.cmd("show managers")
    finally:
        await term.close()
    await fmc_lab.settle()
    url = fmc_lab.endpoints()["devices"][1]["https"]["url"]
    async with httpx.AsyncClient(verify=False) as client:
        assert (await client.get(url + "/api/versions")).status_code < 500


async def test_configure_manager_add_leaves_registration_pending_and_fdm_off(fmc_lab):
    term = await open_terminal(ssh_port(fmc_lab, "ftd-2"))
    try:
        await term.cmd("configure manager add fmc cisco123", r"\[yes/no\]: $")
        out = await term.cmd("yes")
        assert "Manager successfully configured." in out
        pending = await term.cmd("show managers")
        assert "Registration              : Pending" in pending and "Registration Key          : ****" in pending
        assert "already configured" in await term.cmd("configure manager add fmc other-key")
    finally:
        await term.close()
    await fmc_lab.settle()
    url = fmc_lab.endpoints()["devices"][2]["https"]["url"]
    async with httpx.AsyncClient(verify=False) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url + "/api/versions")


async def test_registration_completes_configure_manager_add_as_a_task(fmc_lab):
    term = await open_terminal(ssh_port(fmc_lab, "ftd-2"))
    try:
        await term.cmd("configure manager add fmc cisco123", r"\[yes/no\]: $")
        await term.cmd("yes")
        url = fmc_lab.endpoints()["devices"][0]["https"]["url"]
        async with httpx.AsyncClient(base_url=url, verify=False) as client:
            login = await client.post("/api/fmc_platform/v1/auth/generatetoken", auth=("admin", "Admin123"))
            client.headers["X-auth-access-token"] = login.headers["X-auth-access-token"]
            records = f"/api/fmc_config/v1/domain/{login.headers['DOMAIN_UUID']}/devices/devicerecords"
            tasks = f"/api/fmc_config/v1/domain/{login.headers['DOMAIN_UUID']}/job/taskstatuses"
            wrong = await client.post(records, json={"name": "ftd-2", "hostName": "ftd-2", "regKey": "nope",
                                                     "type": "Device"})
            ok = await client.post(records, json={"name": "ftd-2", "hostName": "ftd-2", "regKey": "cisco123",
                                                  "type": "Device"})
            assert wrong.status_code == ok.status_code == 202
            await fmc_lab.clock.run_until_idle()
            failed = (await client.get(f"{tasks}/{wrong.json()['metadata']['task']['id']}")).json()
            done = (await client.get(f"{tasks}/{ok.json()['metadata']['task']['id']}")).json()
            assert failed["status"] == "FAILED" and "Unable to register device ftd-2" in failed["message"]
            assert done["status"] == "COMPLETED"
            listed = (await client.get(records)).json()["items"]
            assert [d["name"] for d in listed] == ["ftd-1", "ftd-2"]
            assert "Registration              : Completed" in await term.cmd("show managers")
            deleted = await client.delete(f"{records}/{listed[1]['id']}")
            assert deleted.status_code == 200
            assert "Registration              : Pending" in await term.cmd("show managers")
    finally:
        await term.close()


async def shell_run(port: int, lines: list[str]) -> str:
    """Lines typed in the FMC's expert shell as root (`expert`, `sudo su -`); what it printed."""
    term = await open_terminal(port)
    try:
        await term.cmd("expert", r"\$ $")
        await term.cmd("sudo su -", "Password: $")
        await term.cmd("Admin123", r"# $")
        return "".join([await term.cmd(line, r"# $") for line in lines])
    finally:
        await term.close()

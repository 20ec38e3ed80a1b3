"""What the FMC keeps about its fleet, through its REST API: a device upgraded
through it is deployable again (seed 001: "deploy again after upgrade"), a
model manages at most its number of devices (FMCv2/10/25/300, FMC
1700/2700/4700), and a device in a sub-domain shows there and in Global only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from simulator.profile import ProfileError, load
from tests.conftest import open_terminal
from tests.kinds.fmc.test_upgrade import GLOBAL, PLATFORM, _ids, _upgrade, _wait_task

V76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


def _profile(model: str = "FMCv", domains: list | None = None, managed: int = 2) -> dict:
    return {"lab": "fmc-fleet", "devices": [
        {"name": "fmc", "kind": "fmc", "model": model, "version": "7.6.0-113", "upgrade_packages": [V76],
         "domains": domains or []},
        *({"name": f"ftd-{n}", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"}
          for n in range(1, managed + 1)),
        {"name": "spare", "model": "FTDv", "version": "7.4.1-172"}]}


@contextmanager
def _client(lab) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False, timeout=30) as client:
        client.headers["X-auth-access-token"] = client.post(
            f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
        yield client


def _names(api: httpx.Client, domain: str, path: str = "devices/devicerecords") -> list[str]:
    return [d["name"] for d in api.get(f"/api/fmc_config/v1/domain/{domain}/{path}").json().get("items", [])]


def _configure_manager(lab, device: str, key: str) -> None:
    port = lab.endpoint(device)["ssh"]["port"]

    async def run() -> None:
        term = await open_terminal(port)
        try:
            await term.cmd(f"configure manager add fmc {key}", r"\[yes/no\]: $")
            await term.cmd("yes")
        finally:
            await term.close()
    lab.call(run())


def test_a_device_upgraded_through_the_fmc_is_deployable_again(lab_runner):
    lab = lab_runner(_profile())
    with _client(lab) as api:
        packages, devices = _ids(api)
        config = f"/api/fmc_config/v1/domain/{GLOBAL}/deployment/deployabledevices"
        assert "items" not in api.get(config).json()
        upgraded = _upgrade(api, packages[V76], devices["ftd-1"])
        assert _wait_task(lab, api, upgraded.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
        assert _names(api, GLOBAL, "deployment/deployabledevices") == ["ftd-1"]
        changes = api.get(f"{config}/{devices['ftd-1']}/pendingchanges").json()["items"]
        assert [(c["entity"]["type"], c["name"], c["action"]) for c in changes] == [("Device", "ftd-1", "EDIT")]
        deploy = api.post(f"/api/fmc_config/v1/domain/{GLOBAL}/deployment/deploymentrequests", json={
            "type": "DeploymentRequest", "version": "1", "deviceList": [devices["ftd-1"]]})
        assert _wait_task(lab, api, deploy.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
        assert "items" not in api.get(config).json()


def test_a_registration_past_the_models_limit_is_refused(lab_runner):
    lab = lab_runner(_profile("FMCv2"))
    _configure_manager(lab, "spare", "key9")
    with _client(lab) as api:
        answer = api.post(f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords",
                          json={"name": "spare", "hostName": "spare", "regKey": "key9", "type": "Device"})
        assert answer.status_code == 400
        assert answer.json()["error"]["messages"][0]["description"] == (
            "The management center has reached its limit of 2 managed devices (FMCv2). "
            "Remove a device before you add another.")
        assert _names(api, GLOBAL) == ["ftd-1", "ftd-2"]
        # Room made, it registers.
        assert api.delete(f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords/"
                          f"{_ids(api)[1]['ftd-2']}").status_code == 200
        again = api.post(f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords",
                         json={"name": "spare", "hostName": "spare", "regKey": "key9", "type": "Device"})
        assert _wait_task(lab, api, again.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
        assert _names(api, GLOBAL) == ["ftd-1", "spare"]


@pytest.mark.parametrize("model, limit", [("FMCv10", 10), ("FMC-1700", 50)])
def test_a_profile_over_the_models_limit_is_refused(model, limit):
    with pytest.raises(ProfileError, match=f"an {model} manages at most {limit} devices, the profile gives it "
                                           f"{limit + 1}"):
        load(_profile(model, managed=limit + 1))


def test_a_device_in_a_sub_domain_shows_there_and_in_global_only(lab_runner):
    lab = lab_runner(_profile(domains=["Sales", {"name": "Lab", "devices": ["ftd-2"]}]))
    _configure_manager(lab, "spare", "key9")
    with _client(lab) as api:
        domains = {d["name"]: d["uuid"] for d in api.get(f"{PLATFORM}/info/domain").json()["items"]}
        sales, lab_domain = domains["Global/Sales"], domains["Global/Lab"]
        assert _names(api, GLOBAL) == ["ftd-1", "ftd-2"]
        assert _names(api, lab_domain) == ["ftd-2"] and _names(api, sales) == []
        ids = _ids(api)[1]
        record = api.get(f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords/{ids['ftd-2']}").json()
        assert record["metadata"]["domain"] == {"name": "Global/Lab", "id": lab_domain, "type": "Domain"}
        hidden = api.get(f"/api/fmc_config/v1/domain/{lab_domain}/devices/devicerecords/{ids['ftd-1']}")
        assert hidden.status_code == 404
        # Registered in a sub-domain, a device lives there.
        added = api.post(f"/api/fmc_config/v1/domain/{sales}/devices/devicerecords",
                         json={"name": "spare", "hostName": "spare", "regKey": "key9", "type": "Device"})
        assert _wait_task(lab, api, added.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
        assert _names(api, sales) == ["spare"] and _names(api, lab_domain) == ["ftd-2"]
        assert _names(api, GLOBAL) == ["ftd-1", "ftd-2", "spare"]


def test_a_sub_domain_holds_only_devices_its_fmc_manages():
    with pytest.raises(ProfileError, match="domain 'Lab' holds 'spare', which it does not manage"):
        load(_profile(domains=[{"name": "Lab", "devices": ["spare"]}]))

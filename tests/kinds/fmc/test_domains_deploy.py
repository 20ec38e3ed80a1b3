"""FMC deployment in a sub-domain over real HTTPS on virtual time: a sub-domain
lists and deploys only its own devices (an HA pair whose units are its own as one
container), refuses another domain's device before anything starts, and its
deployment task and job history are seen there and in Global, not in another
sub-domain; fmcapi selecting the sub-domain by name deploys there."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.kinds.fmc.test_upgrade import GLOBAL, PLATFORM, _wait_task

PROFILE = {"lab": "fmc-domains", "devices": [
    {"name": "fmc", "kind": "fmc", "model": "FMCv", "version": "7.6.0-113",
     "domains": [{"name": "Sales", "devices": ["ftd-2", "ftd-a", "ftd-b"]}, "Ops"]},
    {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
    {"name": "ftd-2", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
    {"name": "ftd-a", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
    {"name": "ftd-b", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"}],
    "ha_pairs": [{"name": "ha", "primary": "ftd-a", "secondary": "ftd-b"}]}


@pytest.fixture
def fmc_lab(lab_runner):
    return lab_runner(PROFILE)


@pytest.fixture
def api(fmc_lab) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fmc_lab.endpoint("fmc")["https"]["url"], verify=False, timeout=30) as client:
        client.headers["X-auth-access-token"] = client.post(
            f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
        yield client


def _domains(api: httpx.Client) -> dict[str, str]:
    return {d["name"]: d["uuid"] for d in api.get(f"{PLATFORM}/info/domain").json()["items"]}


def _deployable(api: httpx.Client, domain: str) -> dict[str, dict]:
    body = api.get(f"/api/fmc_config/v1/domain/{domain}/deployment/deployabledevices?expanded=true").json()
    return {item["name"]: item for item in body.get("items", [])}


def _request(api: httpx.Client, domain: str, version: str, *ids: str) -> httpx.Response:
    return api.post(f"/api/fmc_config/v1/domain/{domain}/deployment/deploymentrequests", json={
        "type": "DeploymentRequest", "version": version, "forceDeploy": False, "ignoreWarning": True,
        "deviceList": list(ids)})


def _jobs(api: httpx.Client, domain: str) -> list[dict]:
    return api.get(f"/api/fmc_config/v1/domain/{domain}/deployment/jobhistories?expanded=true").json().get("items", [])


def test_a_sub_domain_deploys_its_own_devices_and_sees_its_own_jobs(fmc_lab, api):
    domains = _domains(api)
    sales, ops = domains["Global/Sales"], domains["Global/Ops"]
    assert api.post(f"/api/fmc_config/v1/domain/{sales}/object/networks",
                    json={"name": "lan", "value": "10.1.0.0/16", "type": "Network"}).status_code == 201
    in_global, in_sales = _deployable(api, GLOBAL), _deployable(api, sales)
    assert set(in_global) == {"ftd-1", "ftd-2", "ha"} and set(in_sales) == {"ftd-2", "ha"}
    assert _deployable(api, ops) == {}
    assert in_sales["ha"]["device"]["type"] == "DeviceHAPair"
    ftd1, ftd2, pair = (in_global[n]["device"]["id"] for n in ("ftd-1", "ftd-2", "ha"))
    changes = api.get(f"/api/fmc_config/v1/domain/{sales}/deployment/deployabledevices/{ftd2}/pendingchanges")
    assert [(c["name"], c["action"]) for c in changes.json()["items"]] == [("lan", "ADD")]
    hidden = api.get(f"/api/fmc_config/v1/domain/{sales}/deployment/deployabledevices/{ftd1}/pendingchanges")
    assert hidden.status_code == 404

    # Another domain's device, alone or among the domain's own: refused, nothing starts.
    version = in_sales["ftd-2"]["version"]
    tasks_before = len(fmc_lab.events("task", "fmc"))
    for ids in ((ftd1,), (ftd2, ftd1)):
        refused = _request(api, sales, version, *ids)
        assert refused.status_code == 404 and refused.json()["error"]["messages"][0]["description"] == (
            f"UUID '{ftd1}' was not found.")
    assert len(fmc_lab.events("task", "fmc")) == tasks_before
    assert _jobs(api, GLOBAL) == [] and not fmc_lab.events("deploy")
    assert set(_deployable(api, GLOBAL)) == {"ftd-1", "ftd-2", "ha"}
    assert not any(d["isDeploying"] for d in _deployable(api, GLOBAL).values())

    accepted = _request(api, sales, version, ftd2, pair)
    assert accepted.status_code == 202
    assert accepted.json()["metadata"]["domain"] == {"name": "Global/Sales", "id": sales, "type": "Domain"}
    task_id = accepted.json()["metadata"]["task"]["id"]
    assert accepted.json()["metadata"]["task"]["links"]["self"].endswith(
        f"/domain/{sales}/job/taskstatuses/{task_id}")
    for domain, status in ((sales, 200), (GLOBAL, 200), (ops, 404)):
        assert api.get(f"/api/fmc_config/v1/domain/{domain}/job/taskstatuses/{task_id}").status_code == status
    task = _wait_task(fmc_lab, api, task_id)
    assert task["status"] == "COMPLETED" and [s["status"] for s in task["subTasks"]] == ["COMPLETED", "COMPLETED"]
    assert [e["device"] for e in fmc_lab.events("deploy", state="DEPLOYED")] == ["ftd-2", "ftd-a"]
    assert _deployable(api, sales) == {} and set(_deployable(api, GLOBAL)) == {"ftd-1"}

    job = _jobs(api, sales)[0]
    assert job["status"] == "DEPLOYED" and {d["deviceName"] for d in job["deviceList"]} == {"ftd-2", "ha"}
    assert [j["id"] for j in _jobs(api, GLOBAL)] == [job["id"]] and _jobs(api, ops) == []
    assert api.get(f"/api/fmc_config/v1/domain/{ops}/deployment/jobhistories/{job['id']}").status_code == 404
    assert api.get(f"/api/fmc_config/v1/domain/{GLOBAL}/deployment/jobhistories/{job['id']}").status_code == 200


def test_global_deploys_a_sub_domain_device_and_keeps_the_job_to_itself(fmc_lab, api):
    sales = _domains(api)["Global/Sales"]
    api.post(f"/api/fmc_config/v1/domain/{GLOBAL}/object/networks", json={"name": "lan", "value": "10.1.0.0/16"})
    ftd2 = _deployable(api, GLOBAL)["ftd-2"]
    accepted = _request(api, GLOBAL, ftd2["version"], ftd2["device"]["id"])
    assert accepted.status_code == 202
    task_id = accepted.json()["metadata"]["task"]["id"]
    assert api.get(f"/api/fmc_config/v1/domain/{sales}/job/taskstatuses/{task_id}").status_code == 404
    assert _wait_task(fmc_lab, api, task_id)["status"] == "COMPLETED"
    assert set(_deployable(api, sales)) == {"ha"} and _jobs(api, sales) == [] and len(_jobs(api, GLOBAL)) == 1


def test_fmcapi_deploys_in_the_sub_domain_it_selected(fmc_lab, api):
    """fmcapi (PyPI, unmodified) with `domain="Sales"` (it matches "Global/Sales" in the token's
    DOMAINS): Networks.post, then DeploymentRequests as its FMC does on exit."""
    fmcapi = pytest.importorskip("fmcapi")
    host = fmc_lab.endpoint("fmc")["https"]["url"].removeprefix("https://")
    sales = _domains(api)["Global/Sales"]
    with fmcapi.FMC(host=host, username="admin", password="Admin123", domain="Sales", autodeploy=False,
                    wait_time=0, logging_level="WARNING") as fmc:
        assert fmc.uuid == sales
        fmcapi.Networks(fmc=fmc, name="branch", value="192.0.2.0/24").post()
        assert {d["name"] for d in fmcapi.DeployableDevices(fmc=fmc).get()} == {"ftd-2", "ha"}
        task_id = fmcapi.DeploymentRequests(fmc=fmc).post()["metadata"]["task"]["id"]
        fmc_lab.wait_until(lambda running: running.device("fmc").tasks[task_id].done, timeout=120)
        assert fmcapi.TaskStatuses(fmc=fmc, id=task_id).get()["status"] == "COMPLETED"
        assert fmcapi.DeployableDevices(fmc=fmc).get() is None
    assert [e["device"] for e in fmc_lab.events("deploy", state="DEPLOYED")] == ["ftd-2", "ftd-a"]
    assert set(_deployable(api, GLOBAL)) == {"ftd-1"}       # Global's own device is left for Global to deploy

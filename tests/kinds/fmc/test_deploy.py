"""FMC configuration and deployment over real HTTPS on virtual time: a network
object created through the API makes the managed devices (an HA pair as one
container) deployable, an upgrade or readiness check is refused until they are
deployed (seed 001), a deployment request runs as a task on the devices' own
deploy and shows in the job histories; fmcapi deploys as it does on exit."""

from __future__ import annotations

import httpx
import pytest

from tests.kinds.fmc.test_upgrade import GLOBAL, PROFILE, _ids, _upgrade, _wait_task

CONFIG = f"/api/fmc_config/v1/domain/{GLOBAL}"
V76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


@pytest.fixture
def fmc_lab(lab_runner):
    return lab_runner(PROFILE)


@pytest.fixture
def api(fmc_lab):
    client = httpx.Client(base_url=fmc_lab.endpoint("fmc")["https"]["url"], verify=False)
    client.headers["X-auth-access-token"] = client.post(
        "/api/fmc_platform/v1/auth/generatetoken", auth=("admin", "Admin123")).headers["X-auth-access-token"]
    yield client
    client.close()


def _deployable(api: httpx.Client) -> dict[str, dict]:
    body = api.get(f"{CONFIG}/deployment/deployabledevices?expanded=true").json()
    return {item["name"]: item for item in body.get("items", [])}


def test_network_objects_are_validated_as_fmc_does(api):
    created = api.post(f"{CONFIG}/object/networks", json={"name": "lan", "value": "10.1.0.0/16", "type": "Network"})
    assert created.status_code == 201 and created.json()["type"] == "Network"
    object_id = created.json()["id"]
    host = api.post(f"{CONFIG}/object/networks", json={"name": "h", "value": "10.10.10.10", "type": "Network"})
    assert host.status_code == 400 and host.json()["error"]["messages"][0]["description"] == (
        "Input type mismatch. You have entered an invalid value 10.10.10.10 for selected type Network.")
    again = api.post(f"{CONFIG}/object/networks", json={"name": "lan", "value": "10.2.0.0/16"})
    assert again.status_code == 400 and "already exists" in again.text
    edited = api.put(f"{CONFIG}/object/networks/{object_id}", json={"id": object_id, "name": "lan", "value": "10.3.0.0/16"})
    assert edited.json()["value"] == "10.3.0.0/16"
    assert api.get(f"{CONFIG}/object/networks/{object_id}").json()["value"] == "10.3.0.0/16"
    assert api.delete(f"{CONFIG}/object/networks/{object_id}").status_code == 200
    assert api.get(f"{CONFIG}/object/networks/{object_id}").status_code == 404


def test_a_change_makes_devices_deployable_and_blocks_their_upgrade_until_deployed(fmc_lab, api):
    assert "items" not in api.get(f"{CONFIG}/deployment/deployabledevices").json()      # up to date at start
    api.post(f"{CONFIG}/object/networks", json={"name": "lan", "value": "10.1.0.0/16"})
    deployable = _deployable(api)
    assert set(deployable) == {"ha", "ftd-1", "ftd-old"}            # the pair is one container
    pair = deployable["ha"]
    assert pair["device"]["type"] == "DeviceHAPair" and {m["name"] for m in pair["deviceMembers"]} == {"ftd-a", "ftd-b"}
    assert pair["canBeDeployed"] is True and pair["version"].isdigit()
    changes = api.get(f"{CONFIG}/deployment/deployabledevices/{deployable['ftd-1']['device']['id']}"
                      "/pendingchanges?expanded=true").json()["items"]
    assert [(c["name"], c["action"]) for c in changes] == [("lan", "ADD")]

    packages, devices = _ids(api)
    for flags in ({}, {"readinessCheckOnly": True}):
        refused = _upgrade(api, packages[V76], devices["ftd-1"], **flags)
        assert refused.status_code == 400 and refused.json()["error"]["messages"][0]["description"] == (
            "ftd-1 has configuration changes that are not deployed. "
            "Before device upgrade, deploy configuration changes.")
    assert not fmc_lab.events("upgrade.started") and fmc_lab.run(lambda: fmc_lab.lab.device("ftd-1").package) is None
    push = _upgrade(api, packages[V76], devices["ftd-1"], pushUpgradeFileOnly=True)      # a copy may go ahead
    assert push.status_code == 202

    request = {"type": "DeploymentRequest", "version": deployable["ftd-1"]["version"], "forceDeploy": False,
               "ignoreWarning": True, "deviceList": [deployable["ftd-1"]["device"]["id"], pair["device"]["id"]]}
    response = api.post(f"{CONFIG}/deployment/deploymentrequests", json=request)
    assert response.status_code == 202
    task_id = response.json()["metadata"]["task"]["id"]
    deploying = api.get(f"{CONFIG}/deployment/jobhistories?filter=jobType:DEPLOYMENT;status:DEPLOYING&expanded=true")
    assert {d["deviceName"] for d in deploying.json()["items"][0]["deviceList"]} == {"ftd-1", "ha"}
    task = _wait_task(fmc_lab, api, task_id)
    assert task["status"] == "COMPLETED" and task["seen"] == ["PENDING", "RUNNING", "COMPLETED"]
    assert [s["status"] for s in task["subTasks"]] == ["COMPLETED", "COMPLETED"]
    assert [e["device"] for e in fmc_lab.events("deploy", state="DEPLOYED")] == ["ftd-1", "ftd-a"]   # the active unit
    assert set(_deployable(api)) == {"ftd-old"}
    assert "items" not in api.get(f"{CONFIG}/deployment/jobhistories?filter=status:DEPLOYING").json()
    done = api.get(f"{CONFIG}/deployment/jobhistories?expanded=true").json()["items"][0]
    assert done["status"] == "DEPLOYED" and done["jobType"] == "DEPLOYMENT"
    assert _wait_task(fmc_lab, api, push.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"
    ready = _upgrade(api, packages[V76], devices["ftd-1"], readinessCheckOnly=True)
    assert _wait_task(fmc_lab, api, ready.json()["metadata"]["task"]["id"])["status"] == "COMPLETED"


def test_deployment_requests_refuse_what_fmc_refuses(fmc_lab, api):
    _, devices = _ids(api)
    up_to_date = api.post(f"{CONFIG}/deployment/deploymentrequests",
                          json={"type": "DeploymentRequest", "version": "1", "deviceList": [devices["ftd-1"]]})
    assert up_to_date.status_code == 400 and "up to date" in up_to_date.text
    forced = api.post(f"{CONFIG}/deployment/deploymentrequests", json={
        "type": "DeploymentRequest", "version": "1", "forceDeploy": True, "deviceList": [devices["ftd-1"]]})
    assert forced.status_code == 202
    for bad in ({"version": "1", "deviceList": "x"}, {"version": "soon", "deviceList": []},
                {"version": "1", "deviceList": ["nope"]}):
        answer = api.post(f"{CONFIG}/deployment/deploymentrequests", json={"type": "DeploymentRequest", **bad})
        assert answer.status_code in (400, 404) and answer.json()["error"]["severity"] == "ERROR"


def test_fmcapi_deploys_what_it_changed(lab_runner):
    """fmcapi (PyPI, unmodified): Networks.post, then DeploymentRequests as its FMC does on exit."""
    fmcapi = pytest.importorskip("fmcapi")
    lab = lab_runner(PROFILE)
    host = lab.endpoint("fmc")["https"]["url"].removeprefix("https://")
    with fmcapi.FMC(host=host, username="admin", password="Admin123", autodeploy=False, wait_time=0,
                    logging_level="WARNING") as fmc:
        fmcapi.Networks(fmc=fmc, name="branch", value="192.0.2.0/24").post()
        assert {d["name"] for d in fmcapi.DeployableDevices(fmc=fmc).get()} == {"ha", "ftd-1", "ftd-old"}
        response = fmcapi.DeploymentRequests(fmc=fmc).post()
        task_id = response["metadata"]["task"]["id"]
        lab.wait_until(lambda running: running.device("fmc").tasks[task_id].done, timeout=120)
        assert fmcapi.TaskStatuses(fmc=fmc, id=task_id).get()["status"] == "COMPLETED"
        assert fmcapi.DeployableDevices(fmc=fmc).get() is None

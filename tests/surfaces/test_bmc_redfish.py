"""The lab's Redfish service driven by the `sushy` client library and httpx:
power state and resets of an FTD appliance, an FXOS chassis and an SPS node,
Basic auth and sessions, PATCH of the boot override, errors in Redfish's
envelope. The lab runs on virtual time; sushy (blocking) runs in a thread."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sushy

from simulator.lab import Lab
from tests.surfaces.bmc_helpers import BOXES

MIXED = {**BOXES, "devices": [*BOXES["devices"], {"name": "sps-1", "kind": "sps", "model": "T-4", "version": "6.0.3"}]}


@pytest.fixture
async def lab(tmp_path):
    async with Lab(MIXED, state_dir=tmp_path / "state", virtual_time=True, seed=3) as running:
        yield running


def redfish_of(lab: Lab, name: str) -> dict:
    return lab.device_endpoints(name)["bmc"]["redfish"]


def _on_system(redfish: dict, ca: str, use: Callable[[Any], Any]) -> Any:
    """`use` of the box's sushy System, in a session sushy opens and closes (it reads the service
    and logs out at once, blocking: off the lab's loop, which serves it)."""
    auth = sushy.auth.SessionOrBasicAuth(redfish["username"], redfish["password"])
    conn = sushy.Sushy(redfish["url"] + "/redfish/v1", auth=auth, verify=ca)
    try:
        return use(conn.get_system(redfish["system"]))
    finally:
        auth.close()


async def on_system(lab: Lab, name: str, use: Callable[[Any], Any]) -> Any:
    return await asyncio.to_thread(_on_system, redfish_of(lab, name), str(lab.ca_path), use)


def client(lab: Lab, **options) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=redfish_of(lab, "sf3110")["url"], verify=ssl.create_default_context(cafile=lab.ca_path), timeout=10, **options)


async def power_state(lab: Lab, name: str) -> str:
    return await on_system(lab, name, lambda system: system.power_state)


async def reset(lab: Lab, name: str, kind: sushy.ResetType) -> None:
    await on_system(lab, name, lambda system: system.reset_system(kind))


@pytest.mark.parametrize("name", ["sf3110", "fpr4k-1", "sps-1"])
async def test_sushy_power_state_and_reset(lab, name):
    device = lab.devices[name]
    await lab.clock.run_until(lambda: all(d.services_up for d in lab.devices.values()))
    assert await power_state(lab, name) == sushy.PowerState.ON
    allowed = await on_system(lab, name, lambda system: system.get_allowed_reset_system_values())
    assert {v.value for v in allowed} == {"On", "ForceOn", "ForceOff", "GracefulShutdown", "GracefulRestart",
                                          "ForceRestart", "PowerCycle", "Nmi"}
    await reset(lab, name, sushy.ResetType.FORCE_OFF)
    assert device.state == "off"
    assert await power_state(lab, name) == sushy.PowerState.OFF
    await reset(lab, name, sushy.ResetType.ON)
    assert await power_state(lab, name) == sushy.PowerState.POWERING_ON
    await lab.clock.advance(5)
    assert await power_state(lab, name) == sushy.PowerState.ON
    assert await lab.clock.run_until(lambda: device.services_up)
    events = [(e["surface"], e["action"]) for e in lab.journal.events if e["kind"] == "bmc.power"]
    assert events == [("redfish", "off"), ("redfish", "on")]


async def test_graceful_shutdown_shows_powering_off_then_off(lab):
    sps = lab.devices["sps-1"]
    await reset(lab, "sps-1", sushy.ResetType.GRACEFUL_SHUTDOWN)
    assert await power_state(lab, "sps-1") == sushy.PowerState.POWERING_OFF
    assert await lab.clock.run_until(lambda: sps.state == "off")
    assert await power_state(lab, "sps-1") == sushy.PowerState.OFF
    # GracefulRestart of a running FTD is its reboot; a cycle of a box that is off is refused (409).
    ftd = lab.devices["sf3110"]
    await lab.clock.run_until(lambda: ftd.state == "online")
    await reset(lab, "sf3110", sushy.ResetType.GRACEFUL_RESTART)
    assert ftd.state == "shutdown"
    with pytest.raises(sushy.exceptions.HTTPError, match="OperationNotAllowed"):
        await reset(lab, "sps-1", sushy.ResetType.POWER_CYCLE)


async def test_service_root_collection_and_auth(lab):
    r = redfish_of(lab, "sf3110")
    async with client(lab) as anonymous:
        root = (await anonymous.get("/redfish/v1/")).json()
        assert root["Systems"] == {"@odata.id": "/redfish/v1/Systems"}
        assert (await anonymous.get("/redfish")).json() == {"v1": "/redfish/v1/"}
        denied = await anonymous.get("/redfish/v1/Systems")
        assert denied.status_code == 401 and denied.headers["WWW-Authenticate"].startswith("Basic")
        assert denied.json()["error"]["code"] == "Base.1.8.NoValidSession"
        wrong = await anonymous.get("/redfish/v1/Systems", auth=("admin", "nope"))
        assert wrong.status_code == 401
    async with client(lab, auth=(r["username"], r["password"])) as api:
        members = (await api.get("/redfish/v1/Systems")).json()
        assert {m["@odata.id"] for m in members["Members"]} == {
            "/redfish/v1/Systems/sf3110", "/redfish/v1/Systems/fpr4k-1", "/redfish/v1/Systems/sps-1"}
        assert members["Members@odata.count"] == 3
        system = (await api.get(r["system"])).json()
        assert system["Id"] == "sf3110" and system["Model"] == "SF-3110" and system["PowerState"] == "On"
        missing = await api.get("/redfish/v1/Systems/ftdv")           # a VM has no BMC
        assert missing.status_code == 404
        assert missing.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"] == "Base.1.8.ResourceNotFound"


async def test_sessions(lab):
    r = redfish_of(lab, "sf3110")
    async with client(lab) as api:
        login = await api.post("/redfish/v1/SessionService/Sessions",
                               json={"UserName": r["username"], "Password": r["password"]})
        assert login.status_code == 201
        token, location = login.headers["X-Auth-Token"], login.headers["Location"]
        assert (await api.get(r["system"], headers={"X-Auth-Token": token})).status_code == 200
        assert (await api.delete(location, headers={"X-Auth-Token": token})).status_code == 204
        assert (await api.get(r["system"], headers={"X-Auth-Token": token})).status_code == 401
        bad = await api.post("/redfish/v1/SessionService/Sessions", json={"UserName": "admin", "Password": "x"})
        assert bad.status_code == 401


async def test_bad_requests_get_redfish_errors(lab):
    r = redfish_of(lab, "sf3110")
    target = r["system"] + "/Actions/ComputerSystem.Reset"
    async with client(lab, auth=(r["username"], r["password"])) as api:
        for body, status, message in [
            ({}, 400, "ActionParameterMissing"),
            ({"ResetType": "Explode"}, 400, "ActionParameterNotSupported"),
            ({"ResetType": "Nmi"}, 400, "ActionNotSupported"),
        ]:
            answer = await api.post(target, json=body)
            assert (answer.status_code, answer.json()["error"]["code"]) == (status, f"Base.1.8.{message}")
        answer = await api.post(target, content=b"{not json", headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "Base.1.8.MalformedJSON"
        answer = await api.patch(r["system"], json={"PowerState": "Off"})
        assert answer.status_code == 400 and "PowerState" in answer.json()["error"]["message"]
        assert (await api.delete(r["system"])).status_code == 405
        # The boot override: PATCH Boot, seen in the system (and by IPMI's boot device).
        assert (await api.patch(r["system"], json={"Boot": {"BootSourceOverrideTarget": "Pxe"}})).status_code == 204
        boot = (await api.get(r["system"])).json()["Boot"]
        assert boot["BootSourceOverrideTarget"] == "Pxe" and boot["BootSourceOverrideEnabled"] == "Continuous"
        assert lab.bmc is not None and lab.bmc.boxes["sf3110"].boot_device == "network"
    assert lab.devices["sf3110"].state != "off"


async def test_endpoints_file_has_each_boxs_bmc(lab, tmp_path):
    path = tmp_path / "endpoints.json"
    lab.write_endpoints(path)
    devices = {d["name"]: d for d in json.loads(path.read_text())["devices"]}
    assert set(devices["sps-1"]["bmc"]) == {"ipmi", "redfish"}
    assert devices["sps-1"]["bmc"]["redfish"]["system"] == "/redfish/v1/Systems/sps-1"
    assert "bmc" not in devices["ftdv"] and "bmc" not in devices["ftd-ld"]

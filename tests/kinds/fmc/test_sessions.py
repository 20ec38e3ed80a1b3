"""The control API's `POST /api/devices/{name}/sessions/expire`: every REST
session of a device ends at once, on the wall-clock default too, so tests of
expiry need not wait 30 minutes: the FMC's clients meet its 401 and log in
again (fireREST), or report it (fmcapi); an FTD's FDM tokens and a chassis'
FXOS tokens end the same way."""

from __future__ import annotations

import logging

import httpx
import pytest

PLATFORM = "/api/fmc_platform/v1"
PROFILE = {"lab": "fmc-sessions", "devices": [
    {"name": "fmc", "kind": "fmc", "model": "FMCv", "version": "7.6.0-113"},
    {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
    {"name": "local-1", "model": "FTDv", "version": "7.4.1-172"},
    {"name": "chassis", "kind": "fxos", "model": "FPR-4145", "version": "2.14(1.131)"}]}


@pytest.fixture
def lab(lab_runner):
    return lab_runner(PROFILE)


def _expire(lab, device: str) -> httpx.Response:
    return httpx.post(f"{lab.lab.control.url}/api/devices/{device}/sessions/expire")


def test_expired_fmc_tokens_answer_the_401_clients_recognise(lab):
    with httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False) as client:
        tokens = [client.post(f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers
                  for _ in range(2)]
        answer = _expire(lab, "fmc")
        assert answer.status_code == 200 and answer.json() == {"device": "fmc", "expired": 2}
        for headers in tokens:
            stale = client.get(f"{PLATFORM}/info/serverversion",
                               headers={"X-auth-access-token": headers["X-auth-access-token"]})
            assert stale.status_code == 401 and "Access token invalid" in stale.text
            # Its refresh token died with it: the client must log in again.
            refresh = client.post(f"{PLATFORM}/auth/refreshtoken", headers={
                "X-auth-access-token": headers["X-auth-access-token"],
                "X-auth-refresh-token": headers["X-auth-refresh-token"]})
            assert refresh.status_code == 401 and "Invalid refresh token" in refresh.text
        fresh = client.post(f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers
        assert client.get(f"{PLATFORM}/info/serverversion",
                          headers={"X-auth-access-token": fresh["X-auth-access-token"]}).status_code == 200


def test_firerest_logs_in_again_and_fmcapi_meets_the_401(lab, caplog):
    firerest = pytest.importorskip("fireREST")
    fmcapi = pytest.importorskip("fmcapi")
    host = lab.endpoint("fmc")["https"]["url"].removeprefix("https://")
    fmc = firerest.FMC(hostname=host, username="admin", password="Admin123")
    first = fmc.conn.headers["X-auth-access-token"]
    with fmcapi.FMC(host=host, username="admin", password="Admin123", autodeploy=False,
                    logging_level="CRITICAL") as api:
        assert fmcapi.DeviceRecords(fmc=api, name="ftd-1").get()["name"] == "ftd-1"
        assert _expire(lab, "fmc").json()["expired"] == 2
        # fireREST: the 401 "Access token invalid" → refreshtoken refused → a new login, transparently.
        assert [d["name"] for d in fmc.device.devicerecord.get()] == ["ftd-1"]
        assert fmc.conn.headers["X-auth-access-token"] != first
        # fmcapi renews only by its own clock: its next call meets the FMC's 401, logs it, gets nothing.
        with caplog.at_level(logging.WARNING):
            assert api.send_to_api(method="get", url=fmcapi.DeviceRecords(fmc=api).URL) is None
        assert "Received HTTP Code 401 from FMC" in caplog.text


def test_fdm_and_fxos_sessions_end_too(lab):
    url = lab.endpoint("local-1")["https"]["url"]
    with httpx.Client(base_url=url, verify=False) as client:
        token = client.post("/api/fdm/latest/fdm/token", json={
            "grant_type": "password", "username": "admin", "password": "Admin123"}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/fdm/latest/operational/systeminfo/default", headers=auth).status_code == 200
        assert _expire(lab, "local-1").json() == {"device": "local-1", "expired": 1}
        assert client.get("/api/fdm/latest/operational/systeminfo/default", headers=auth).status_code == 401
    with httpx.Client(base_url=lab.endpoint("chassis")["https"]["url"], verify=False) as client:
        client.headers["TOKEN"] = client.post("/api/login", headers={
            "USERNAME": "admin", "PASSWORD": "Admin123"}).json()["token"]
        assert client.get("/api/sys/firmware/distrib").status_code == 200
        assert _expire(lab, "chassis").json() == {"device": "chassis", "expired": 1}
        dead = client.get("/api/sys/firmware/distrib")          # the chassis' own answer to a dead token
        assert dead.status_code == 400 and "Authorization required" in dead.text
    missing = _expire(lab, "nope")
    assert missing.status_code == 404 and "no device" in missing.json()["error"]

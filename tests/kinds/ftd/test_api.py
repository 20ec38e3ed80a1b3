"""The FDM REST API driven over real HTTPS (httpx), lab on virtual time: the
Device Manager upgrade procedure of seed 000, step by step, with the
reboot timeline of the reference capture, and the API's errors."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from tests.conftest import connect, open_terminal, ssh_port

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
API = "/api/fdm/latest"
NOT_UPGRADABLE_TEXT = "You must deploy all uncommited changes before starting a system upgrade."


def https_url(lab) -> str:
    return lab.endpoints()["devices"][0]["https"]["url"]


@pytest.fixture
async def api(lab):
    """An httpx client on the device, logged in (password grant)."""
    async with httpx.AsyncClient(base_url=https_url(lab), verify=False, timeout=10) as client:
        await login(client)
        yield client


async def login(client: httpx.AsyncClient, password: str = "Admin123") -> dict:
    r = await client.post(f"{API}/fdm/token", json={"grant_type": "password", "username": "admin",
                                                     "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    client.headers["Authorization"] = f"Bearer {body['access_token']}"
    return body


async def upload_package(client: httpx.AsyncClient, path: Path) -> httpx.Response:
    with path.open("rb") as fh:
        return await client.post(f"{API}/action/uploadupgrade",
                                 files={"fileToUpload": (path.name, fh, "application/octet-stream")})


async def poll(lab, client: httpx.AsyncClient, path: str, done, step: float = 5, limit: float = 3600) -> dict:
    waited = 0.0
    while True:
        r = await client.get(path)
        assert r.status_code == 200, r.text
        if done(r.json()):
            return r.json()
        assert waited < limit, r.json()
        await lab.clock.advance(step)
        await lab.settle()
        waited += step


def messages(r: httpx.Response) -> list[str]:
    body = r.json()
    assert body["error"]["severity"] == "ERROR" and body["error"]["key"] in ("General", "Validation")
    return [m["description"] for m in body["error"]["messages"]]


async def test_discovery_token_and_auth_required(lab):
    async with httpx.AsyncClient(base_url=https_url(lab), verify=False) as client:
        r = await client.get("/api/versions")
        assert r.json() == {"supportedVersions": ["v6", "latest"]}
        r = await client.get(f"{API}/operational/systeminfo/default")
        assert r.status_code == 401 and messages(r)
        r = await client.post(f"{API}/fdm/token", json={"grant_type": "password", "username": "admin",
                                                         "password": "nope"})
        assert r.status_code == 400 and r.json()["status_code"] == 400 and r.json()["message"]
        token = await login(client)
        assert token["token_type"] == "Bearer" and token["expires_in"] == 1800
        assert token["refresh_expires_in"] == 2400
        info = (await client.get("/api/fdm/v6/operational/systeminfo/default")).json()
        assert info["softwareVersion"] == "7.4.1-172" and info["type"] == "systeminformation"
        assert info["databaseInfo"]["buildVersion"] == "7.4.1-172"      # community.network's FDM modules read it
        assert info["serialNumber"] == lab.devices["ftd-1"].serial
        assert (await client.get("/api/fdm/v9/operational/systeminfo/default")).status_code == 404


async def test_lab_ca_verifies_the_device_certificate(lab):
    entry = lab.endpoints()["devices"][0]["https"]
    assert Path(entry["ca"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=entry["ca"])) as client:
        assert (await client.get(entry["url"] + "/api/versions")).status_code == 200


async def test_token_lifetimes_refresh_revoke_and_session_limit(lab):
    async with httpx.AsyncClient(base_url=https_url(lab), verify=False) as client:
        first = await login(client)
        url = f"{API}/operational/upgradestatus"
        await lab.clock.advance(1799)
        assert (await client.get(url)).status_code == 200
        await lab.clock.advance(2)
        assert (await client.get(url)).status_code == 401          # access token expired at 30 min
        r = await client.post(f"{API}/fdm/token", json={"grant_type": "refresh_token",
                                                         "refresh_token": first["refresh_token"]})
        assert r.status_code == 200
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        assert (await client.get(url)).status_code == 200
        refreshed = r.json()
        await lab.clock.advance(2401)
        r = await client.post(f"{API}/fdm/token", json={"grant_type": "refresh_token",
                                                         "refresh_token": refreshed["refresh_token"]})
        assert r.status_code == 400                                  # refresh token expired at 40 min

        # Revoke (logout as FTDAnsible does it): the session's tokens stop working.
        session = await login(client)
        r = await client.post(f"{API}/fdm/token", json={"grant_type": "revoke_token",
                                                         "access_token": session["access_token"],
                                                         "token_to_revoke": session["refresh_token"]})
        assert r.status_code == 200
        assert (await client.get(url)).status_code == 401

        # Five sessions at most: the sixth login expires the oldest.
        tokens = [await login(client) for _ in range(6)]
        for i, token in enumerate(tokens):
            r = await client.get(url, headers={"Authorization": f"Bearer {token['access_token']}"})
            assert r.status_code == (401 if i == 0 else 200)

        # A custom token lives as long as asked.
        r = await client.post(f"{API}/fdm/token", json={
            "grant_type": "custom_token", "access_token": tokens[-1]["access_token"], "desired_expires_in": 86400,
            "desired_refresh_expires_in": 90000, "desired_subject": "automation", "desired_refresh_count": 3})
        assert r.status_code == 200 and r.json()["expires_in"] == 86400
        custom = r.json()["access_token"]
        await lab.clock.advance(3600)
        assert (await client.get(url, headers={"Authorization": f"Bearer {custom}"})).status_code == 200
        r = await client.post(f"{API}/fdm/token", json={"grant_type": "sso"})
        assert r.status_code == 400


async def test_fdm_upgrade_procedure_with_reboot_timeline(lab, api, packages):
    """Seed 000 chapter 2 through the API: upload, readiness, deploy pending
    changes, upgrade now with automatic cancel, watch, log in again, verify, revert."""
    device = lab.devices["ftd-1"]
    package = packages(UPGRADE_76)

    r = await upload_package(api, package)
    assert r.status_code == 200
    assert r.json() == {"version": r.json()["version"], "name": f"/var/sf/updates/{UPGRADE_76}",
                        "fileName": f"/var/sf/updates/{UPGRADE_76}", "id": UPGRADE_76, "type": "fileuploadstatus"}
    files = (await api.get(f"{API}/managedentity/upgradefiles")).json()
    assert files["paging"]["count"] == 1
    upgrade_file = files["items"][0]
    assert upgrade_file["upgradeFileName"] == UPGRADE_76 and upgrade_file["updateVersion"] == "7.6.0-113"
    assert upgrade_file["fileSize"] == package.stat().st_size and upgrade_file["rebootRequired"] is True
    assert (lab.store.device_fs("ftd-1") / "var/sf/updates" / UPGRADE_76).read_bytes() == package.read_bytes()
    ref = {"id": upgrade_file["id"], "type": "upgradefile"}

    r = await api.post(f"{API}/action/upgradereadinesscheck", json={"upgradeFile": ref,
                                                                    "type": "upgradereadinesscheck"})
    assert r.status_code == 200
    status = (await api.get(f"{API}/operational/upgradereadinesscheckstatus")).json()["items"][0]
    assert status["state"] == "IN_PROGRESS" and status["totalScripts"] == 32
    status = await poll(lab, api, f"{API}/operational/upgradereadinesscheckstatus/default",
                        lambda s: s["state"] != "IN_PROGRESS", step=2)
    assert status["state"] == "SUCCESS" and status["progressPercent"] == 100
    assert status["targetVersion"] == "7.6.0-113"

    # A pending change blocks the upgrade with the device's own sentence.
    r = await api.post(f"{API}/object/networks", json={"name": "mgmt-net", "subType": "NETWORK",
                                                       "value": "10.1.0.0/24", "type": "networkobject"})
    assert r.status_code == 200
    r = await api.post(f"{API}/action/upgrade")
    assert r.status_code == 422 and messages(r) == [NOT_UPGRADABLE_TEXT]
    assert device.job is None
    pending = (await api.get(f"{API}/operational/pendingchanges")).json()["items"]
    assert [(p["entityName"], p["entityType"]) for p in pending] == [("mgmt-net", "networkobject")]
    for wanted, names in (("name:mgmt-net", ["mgmt-net"]), ("fts~MGMT", ["mgmt-net"]), ("fts~10.1.0", ["mgmt-net"]),
                          ("name:mgmt", []), ("fts~nothing", [])):        # fts~: full-text search, 6.4 and later
        found = (await api.get(f"{API}/object/networks", params={"filter": wanted})).json()["items"]
        assert [n["name"] for n in found] == names, wanted
    deployment = (await api.post(f"{API}/operational/deploy")).json()
    assert deployment["endTime"] == -1 and deployment["state"] in ("QUEUED", "DEPLOYING")
    done = await poll(lab, api, f"{API}/operational/deploy/{deployment['id']}", lambda d: d["endTime"] != -1)
    assert done["state"] == "DEPLOYED"
    assert (await api.get(f"{API}/operational/pendingchanges")).json()["items"] == []

    # Upgrade Now, automatic cancel on failure: the call returns at once.
    r = await api.post(f"{API}/action/upgrade", params={"cancelOnFailure": "true"},
                       json={"upgradeFile": ref, "type": "upgradeimmediate"})
    assert r.status_code == 200
    status = (await api.get(f"{API}/operational/upgradestatus")).json()
    assert status["state"] == "IN_PROGRESS" and status["updateType"] == "major"
    assert status["baseVersion"] == "7.4.1-172" and status["targetVersion"] == "7.6.0-113"
    assert status["cancelOnFailure"] is True and status["canCancel"] is True and status["canRetry"] is False
    assert status["timeRemainingInSeconds"] > 600
    r = await api.post(f"{API}/action/upgrade")
    assert r.status_code == 422                                      # one upgrade at a time

    # The same job is what the CLI shows.
    async with await connect(ssh_port(lab)) as conn:
        out = (await conn.run("show upgrade status detail", check=True)).stdout
    assert UPGRADE_76 in out and "7.6.0-113" in out

    # Watch through the reboot with fresh connections, as a poller does.
    old_token = api.headers["Authorization"]
    seen: list[str] = []
    percents: list[int] = []
    async with httpx.AsyncClient(base_url=https_url(lab), verify=False, timeout=5,
                                 limits=httpx.Limits(max_keepalive_connections=0)) as poller:
        poller.headers["Authorization"] = old_token
        for _ in range(2000):
            try:
                r = await poller.get(f"{API}/operational/upgradestatus")
                outcome = str(r.status_code)
            except httpx.ConnectError:
                outcome = "refused"
            if outcome == "200":
                percents.append(r.json()["progressPercent"])
            if not seen or seen[-1] != outcome:
                seen.append(outcome)
            if outcome == "401":
                break
            await lab.clock.advance(10)
            await lab.settle()
    # Real capture: 503 at the reboot, refused while it boots, 503 while the
    # web server starts, then the API again; tokens from before are void.
    assert seen == ["200", "503", "refused", "503", "401"], seen
    assert percents == sorted(percents) and percents[0] < 20 and percents[-1] >= 98

    await login(api)
    status = (await api.get(f"{API}/operational/upgradestatus/default")).json()
    assert status["state"] == "COMPLETED" and status["progressPercent"] == 100
    info = (await api.get(f"{API}/operational/systeminfo/default")).json()
    assert info["softwareVersion"] == "7.6.0-113" and info["applianceUuid"] == device.uuid
    assert (await api.get(f"{API}/managedentity/upgradefiles")).json()["items"] == []
    revert = (await api.get(f"{API}/operational/upgraderevertinfo/default")).json()
    assert revert["revertVersion"] == "7.4.1-172" and revert["spaceUsedByRevert"] > 0

    # The first deployment after the upgrade restarts Snort.
    r = await api.put(f"{API}/devicesettings/default/devicehostnames/{device.hostname_id}",
                      json={"hostname": "ftd-upgraded", "type": "devicehostname"})
    assert r.status_code == 200
    deployment = (await api.post(f"{API}/operational/deploy")).json()
    await poll(lab, api, f"{API}/operational/deploy/{deployment['id']}", lambda d: d["state"] == "DEPLOYED")
    assert [e for e in lab.journal.select(device="ftd-1", kind="snort.restart")]
    assert device.hostname == "ftd-upgraded"
    jobs = (await api.get(f"{API}/jobs/deployments")).json()["items"]
    assert [j["status"] for j in jobs] == ["SUCCESS", "SUCCESS"]

    # Revert: back to 7.4.1, post-upgrade configuration gone.
    r = await api.post(f"{API}/action/revertupgrade", json={})
    assert r.status_code == 200
    await lab.clock.run_until(lambda: device.job.state != "IN_PROGRESS" and device.state == "online")
    await lab.settle()
    await login(api)
    info = (await api.get(f"{API}/operational/systeminfo/default")).json()
    assert info["softwareVersion"] == "7.4.1-172"
    hostnames = (await api.get(f"{API}/devicesettings/default/devicehostnames")).json()["items"]
    assert hostnames[0]["hostname"] == "ftd-1"
    assert (await api.get(f"{API}/operational/upgraderevertinfo/default")).status_code == 404


async def test_failed_upgrade_auto_cancels_or_waits_for_retry(lab, api, packages):
    device = lab.devices["ftd-1"]
    await upload_package(api, packages(UPGRADE_76))
    lab.faults.add("upgrade.stage:500_rpms", "fail", device="ftd-1")
    assert (await api.post(f"{API}/action/upgrade", params={"cancelOnFailure": "true"})).status_code == 204
    await lab.clock.run_until(lambda: device.job_phase == "done")
    await lab.settle()
    await login(api)
    status = (await api.get(f"{API}/operational/upgradestatus")).json()
    assert status["state"] == "FAILED" and status["detailedFailure"] and status["canRetry"] is False
    assert (await api.get(f"{API}/operational/systeminfo/default")).json()["softwareVersion"] == "7.4.1-172"

    # Without automatic cancel the device stays in maintenance mode: retry or cancel.
    await upload_package(api, packages(UPGRADE_76))
    lab.faults.add("upgrade.stage:500_rpms", "fail", device="ftd-1")
    assert (await api.post(f"{API}/action/upgrade", params={"cancelOnFailure": "false"})).status_code == 204
    await lab.clock.run_until(lambda: device.state == "upgrade_failed")
    status = (await api.get(f"{API}/operational/upgradestatus")).json()
    assert status["state"] == "FAILED" and status["canRetry"] is True and status["canCancel"] is True
    assert "500_rpms" in status["detailedFailure"] or status["message"]
    r = await api.post(f"{API}/action/retryupgrade")
    assert r.status_code == 200
    assert (await api.get(f"{API}/operational/upgradestatus")).json()["state"] == "IN_PROGRESS"
    await lab.clock.run_until(lambda: device.job.state == "COMPLETED")
    assert device.version == "7.6.0-113"


async def test_cancel_needs_force_while_running(lab, api, packages):
    device = lab.devices["ftd-1"]
    await upload_package(api, packages(UPGRADE_76))
    await api.post(f"{API}/action/upgrade")
    await lab.clock.advance(120)
    r = await api.post(f"{API}/action/cancelupgrade")
    assert r.status_code == 422 and device.job.state == "IN_PROGRESS"
    r = await api.post(f"{API}/action/cancelupgrade", params={"force": "true"})
    assert r.status_code == 200
    await lab.clock.run_until(lambda: device.job_phase == "done" and device.state == "online")
    await lab.settle()
    await login(api)
    status = (await api.get(f"{API}/operational/upgradestatus")).json()
    assert status["state"] == "CANCELLED" and device.version == "7.4.1-172"


async def test_hotfix_leaves_software_version(lab, api, packages):
    device = lab.devices["ftd-1"]
    await upload_package(api, packages("Cisco_FTD_Hotfix_AA-7.4.1.1-3.sh.REL.tar"))
    assert (await api.post(f"{API}/action/upgrade")).status_code == 204
    r = await api.post(f"{API}/action/cancelupgrade", params={"force": "true"})
    assert r.status_code == 422 and "patches and hotfixes" in messages(r)[0]    # no cancel for a hotfix
    await lab.clock.run_until(lambda: device.job_phase == "done" and device.state == "online")
    await lab.settle()
    await login(api)
    status = (await api.get(f"{API}/operational/upgradestatus")).json()
    assert status["state"] == "COMPLETED" and status["updateType"] == "hotfix"
    info = (await api.get(f"{API}/operational/systeminfo/default")).json()
    assert info["softwareVersion"] == "7.4.1-172"


async def test_upgrade_started_over_ssh_is_seen_over_rest(lab, api, packages):
    package = packages(UPGRADE_76)
    await upload_package(api, package)
    term = await open_terminal(ssh_port(lab))
    await term.cmd("expert", prompt=r"admin@ftd-1:~\$ $")
    term.proc.stdin.write(f"sudo install_update.pl --detach /var/sf/updates/{UPGRADE_76}\r")
    await term.read_until("Password: ")
    assert "install_update.pl begins" in await term.cmd("Admin123", prompt=r"\$ $")
    await term.close()
    await lab.clock.advance(300)
    status = (await api.get(f"{API}/operational/upgradestatus")).json()
    assert status["state"] == "IN_PROGRESS" and status["upgradePackageFilename"] == UPGRADE_76
    assert status["cancelOnFailure"] is True and 0 < status["progressPercent"] < 100


async def test_bad_requests_get_fdm_errors_and_change_nothing(lab, api, packages):
    device = lab.devices["ftd-1"]
    before = device.snapshot()
    cases = [
        ("post", f"{API}/object/networks", {"content": b'{"name": "x",'}, 400),
        ("post", f"{API}/object/networks", {"json": {"name": "x"}}, 422),
        ("post", f"{API}/object/networks", {"json": {"name": 5, "subType": "HOST", "value": "1.1.1.1"}}, 422),
        ("post", f"{API}/object/networks", {"json": {"name": "x", "subType": "HOST", "value": "999.1.1.1"}}, 422),
        ("post", f"{API}/object/networks", {"json": ["not", "an", "object"]}, 422),
        ("get", f"{API}/object/networks/no-such-id", {}, 404),
        ("get", f"{API}/managedentity/upgradefiles/no-such-id", {}, 404),
        ("delete", f"{API}/managedentity/upgradefiles/no-such-id", {}, 404),
        ("get", f"{API}/operational/deploy/no-such-id", {}, 404),
        ("get", f"{API}/operational/systeminfo/other", {}, 404),
        ("post", f"{API}/action/upgrade", {}, 422),                        # no package
        ("post", f"{API}/action/upgradereadinesscheck", {}, 422),
        ("post", f"{API}/action/revertupgrade", {}, 422),                  # nothing to revert to
        ("post", f"{API}/action/cancelupgrade", {}, 422),
        ("post", f"{API}/action/retryupgrade", {}, 422),
        ("post", f"{API}/action/upgrade", {"params": {"cancelOnFailure": "maybe"}}, 422),
        ("post", f"{API}/action/uploadupgrade", {"json": {"file": "x"}}, 422),
        ("put", f"{API}/devicesettings/default/devicehostnames/{device.hostname_id}", {"json": {"hostname": ""}}, 422),
        ("get", f"{API}/no/such/path", {}, 404),
        ("patch", f"{API}/operational/upgradestatus", {}, 405),
    ]
    for method, path, kwargs, status in cases:
        r = await api.request(method.upper(), path, **kwargs)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        assert messages(r), r.text
    assert device.snapshot() == before

    r = await api.post(f"{API}/object/networks", json={"name": "a", "subType": "HOST", "value": "10.0.0.1"})
    r = await api.post(f"{API}/object/networks", json={"name": "a", "subType": "HOST", "value": "10.0.0.2"})
    assert r.status_code == 422 and messages(r) == ["Validation failed due to a duplicate name"]


async def test_upload_replaces_the_package_and_delete_removes_it(lab, api, packages):
    folder = lab.store.device_fs("ftd-1") / "var/sf/updates"
    await upload_package(api, packages(UPGRADE_76))
    other = "Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar"
    await upload_package(api, packages(other))
    files = (await api.get(f"{API}/managedentity/upgradefiles")).json()["items"]
    assert [f["upgradeFileName"] for f in files] == [other]
    assert sorted(p.name for p in folder.iterdir()) == [other]
    r = await api.delete(f"{API}/managedentity/upgradefiles/{files[0]['id']}")
    assert r.status_code == 204 and list(folder.iterdir()) == []
    assert lab.devices["ftd-1"].package is None

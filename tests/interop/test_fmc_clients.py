"""fmcapi (PyPI, unmodified) against the lab's FMC over real HTTPS: login,
server version, device records, and a token refresh when its own clock says
the token is old, and its refreshtoken path three times."""

from __future__ import annotations

import datetime

import pytest
import yaml

from simulator.profile import PROFILES_DIR

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


def test_firerest_reads_the_fmc_refreshes_an_expired_token_and_upgrades_a_device(lab_runner):
    """fireREST (PyPI, unmodified): login, version gate, paged device records, HA
    pairs; an access token expired on the lab clock is refreshed on its 401;
    then `update.upgrade` and `job.taskstatus` to COMPLETED."""
    firerest = pytest.importorskip("fireREST")
    profile = yaml.safe_load((PROFILES_DIR / "fmc-managed.yaml").read_text())
    profile["devices"][0].update(token_clock="lab", upgrade_packages=["Cisco_FTD_SSP-FP1K_Upgrade-7.4.2-172.sh.REL.tar"])
    lab = lab_runner(profile)
    fmc = firerest.FMC(hostname=lab.endpoint("fmc")["https"]["url"].removeprefix("https://"),
                       username="admin", password="Admin123")
    assert str(fmc.version) == "7.6.0" and fmc.domain["name"] == "Global"
    devices = {d["name"]: d for d in fmc.device.devicerecord.get()}
    assert len(devices) == 7 and devices["ftd-4k-a"]["metadata"]["chassisData"]["securityModuleNo"] == "1"
    assert {p["name"] for p in fmc.devicehapair.ftdhapair.get()} == {"ftd-4k-ha", "ftdv-ha"}
    first = fmc.conn.headers["X-auth-access-token"]
    lab.call(lab.lab.clock.advance(31 * 60))          # the access token is dead; its refresh token is not
    package = next(p for p in fmc.update.upgradepackage.get() if "7.4.2-172" in p["name"])
    assert fmc.conn.headers["X-auth-access-token"] != first and fmc.conn.refresh_counter == 1
    target = devices["fpr1120-1"]
    task = fmc.update.upgrade(data={"upgradePackage": {"id": package["id"], "type": "UpgradePackage"},
                                    "targets": [{"id": target["id"], "type": "Device", "name": target["name"]}],
                                    "readinessCheckOnly": False, "enableUpgradeRevert": True,
                                    "autoUpgradeCancel": True}).json()["metadata"]["task"]
    lab.wait_until(lambda running: running.device("fmc").tasks[task["id"]].done, timeout=120)
    status = fmc.job.taskstatus.get(uuid=task["id"])
    assert status["status"] == "COMPLETED", status
    assert fmc.device.devicerecord.get(uuid=target["id"])["sw_version"] == "7.4.2"


def test_firerest_waits_out_a_429_and_goes_on(lab_runner, caplog):
    """fireREST takes FMC's 429 as its RateLimitException and tries again 10 s later
    (fmcapi sleeps 30 s): here the 429 of the connection limit, its other connections
    closed a second later. (The 120-a-minute limit's window is 60 wall seconds, longer
    than fireREST's retries wait; its 429 and Retry-After are tested in kinds/fmc/test_api.py.)"""
    import logging
    import socket
    import ssl
    import threading
    import time

    firerest = pytest.importorskip("fireREST")
    lab = lab_runner("fmc-managed")
    url = lab.endpoint("fmc")["https"]["url"]
    fmc = firerest.FMC(hostname=url.removeprefix("https://"), username="admin", password="Admin123")
    host, port = url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    held = [context.wrap_socket(socket.create_connection((host, int(port)))) for _ in range(10)]
    time.sleep(0.2)                                       # wall time: the server has taken them in
    threading.Timer(1.0, lambda: [s.close() for s in held]).start()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        devices = fmc.device.devicerecord.get()
    assert len(devices) == 7 and 10 <= time.monotonic() - started < 20
    assert "Limit of 10 simultaneous connections per client exceeded., retrying in 10 seconds" in caplog.text


def test_the_error_envelope_as_the_clients_read_it(lab_runner):
    """fireREST raises its exception for the status with the envelope's first description;
    fmcapi logs the envelope and keeps it as `error_response`. Here the seed 001
    FMC-first refusal, a missing record (404), a bad password (401)."""
    firerest = pytest.importorskip("fireREST")
    from fireREST import exceptions

    profile = yaml.safe_load((PROFILES_DIR / "fmc-managed.yaml").read_text())
    profile["devices"][0]["upgrade_packages"] = ["Cisco_FTD_Upgrade-7.7.0-89.sh.REL.tar"]
    lab = lab_runner(profile)
    host = lab.endpoint("fmc")["https"]["url"].removeprefix("https://")
    with pytest.raises(exceptions.AuthError, match="User authentication failed"):
        firerest.FMC(hostname=host, username="admin", password="wrong")
    fmc = firerest.FMC(hostname=host, username="admin", password="Admin123")
    with pytest.raises(exceptions.ResourceNotFoundError) as missing:
        fmc.device.devicerecord.get(uuid="00000000-0000-0000-0000-000000000000")
    assert str(missing.value)
    package = fmc.update.upgradepackage.get()[0]
    device = next(d for d in fmc.device.devicerecord.get() if d["name"] == "ftdv-a")
    body = {"upgradePackage": {"id": package["id"], "type": "UpgradePackage"},
            "targets": [{"id": device["id"], "type": "Device", "name": "ftdv-a"}], "readinessCheckOnly": True}
    past = "You cannot upgrade a device past the management center to a newer major or maintenance version."
    with pytest.raises(exceptions.GenericApiError) as refused:
        fmc.update.upgrade(data=body)
    assert str(refused.value).startswith(past)

    with fmcapi.FMC(host=host, username="admin", password="Admin123", autodeploy=False,
                    logging_level="CRITICAL") as session:
        upgrade = fmcapi.Upgrades(fmc=session, readinessCheckOnly=True)
        upgrade.upgrade_package(package["name"])
        upgrade.devices(["ftdv-a"])
        assert upgrade.post() is None
        error = session.error_response["error"]
        assert error["severity"] == "ERROR" and error["messages"][0]["description"].startswith(past)
    assert lab.run(lambda: (lab.lab.device("ftdv-a").version, lab.lab.device("fmc").tasks)) == ("7.4.2-172", {})

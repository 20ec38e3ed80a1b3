"""The SPS REST API over real HTTPS (httpx) on virtual time: the session
cookie, the firmware slots, the standalone procedure S1-S6 of sps.md 2.1, a
failed upgrade test blocking the upgrade, safeguard-ps's upgrade sequence
(sps.md 4.5) with the raw ISO body, and an upgrade that fails and reverts."""

from __future__ import annotations

import http.client
import re
import ssl

import httpx
import pytest

from simulator.kinds.sps.packages import make_iso
from tests.kinds.sps.conftest import error_type, logged_in

TARGET = "7.0.2.1"
ISO = "sps-7.0.2.1-lts-firmware.iso"


def _profile(**options) -> dict:
    return {"lab": "sps-test", "devices": [
        {"name": "sps-1", "kind": "sps", "model": "T-4", "version": "6.0.3", **options}]}


@pytest.fixture
def iso(tmp_path):
    return make_iso(ISO, tmp_path / "iso")


def _upload(api: httpx.Client, iso) -> httpx.Response:
    with iso.open("rb") as fh:
        return api.post("/api/upload/firmware", files={"firmware": (iso.name, fh, "application/x-iso9660-image")})


def test_the_control_api_ends_every_session_at_once(sps_lab):
    """`POST /api/devices/{name}/sessions/expire`: a test of the 20-minute expiry need not wait."""
    with logged_in(sps_lab) as api:
        assert api.get("/api/info").status_code == 200
        answer = httpx.post(f"{sps_lab.lab.control.url}/api/devices/sps-1/sessions/expire")
        assert answer.status_code == 200 and answer.json() == {"device": "sps-1", "expired": 1}
        stale = api.get("/api/info")
        assert stale.status_code == 401 and error_type(stale) == "AuthenticationFailure"


def test_basic_login_sets_a_session_cookie_and_nothing_answers_without_it(sps_lab):
    https = sps_lab.endpoint("sps-1")["https"]
    assert https["username"] == "admin" and sps_lab.endpoint("sps-1")["ssh"]["username"] == "root"
    with httpx.Client(base_url=https["url"], verify=False) as client:
        assert client.get("/api/authentication/login_methods").json()["login_methods"] == ["local"]
        assert error_type(client.get("/api/info")) == "AuthenticationFailure"
        bad = client.get("/api/authentication", auth=("admin", "wrong"))
        assert bad.status_code == 401 and "session_id" not in bad.cookies
        good = client.get("/api/authentication", auth=("admin", "Admin123"))
        assert good.status_code == 200 and re.fullmatch(r"[0-9a-f]{40}", good.cookies["session_id"])
        info = client.get("/api/info").json()
        assert info["key"] == "info" and info["body"]["firmware_version"] == "6.0.3"
        assert info["meta"] == {"href": "/api/info", "parent": "/api"}


def test_a_session_ends_after_20_idle_minutes_on_the_lab_clock(lab_runner):
    lab = lab_runner(_profile(session_clock="lab"))
    with logged_in(lab) as api:
        assert api.get("/api/info").status_code == 200
        lab.call(lab.lab.clock.advance(19 * 60))
        assert api.get("/api/info").status_code == 200       # use restarts the 20 minutes
        lab.call(lab.lab.clock.advance(20 * 60))
        assert error_type(api.get("/api/info")) == "AuthenticationFailure"


def test_standalone_procedure_s1_to_s6(sps_lab, iso):
    with logged_in(sps_lab) as api:
        # S1 Firmwares: one slot holds the running firmware, four are empty.
        slots = api.get("/api/firmware/slots").json()
        assert [item["key"] for item in slots["items"]] == ["1", "2", "3", "4", "5"]
        assert slots["items"][0]["body"]["current"] is True and slots["items"][1]["body"] == {}
        assert slots["meta"]["current_slot"] == "1" and slots["meta"]["number_of_empty_slots"] == 4
        # S2 Upload: the new slot, not current, not after reboot; its upgrade notes.
        uploaded = _upload(api, iso)
        assert uploaded.status_code == 200, uploaded.text
        body = uploaded.json()
        assert body["key"] == "2" and body["meta"]["slot"] == "/api/firmware/slots/2"
        assert body["body"]["version"] == TARGET and body["body"]["current"] is False
        assert body["body"]["after_reboot"] is False and body["meta"]["number_of_empty_slots"] == 3
        assert "7.0.2.1 LTS" in api.get("/api/firmware/slots/2").json()["body"]["upgrade_notes"]
        # S3 Test.
        tested = api.post("/api/firmware/test", json={"slot_id": 2})
        assert tested.status_code == 200 and tested.json()["body"]["test_summary"].startswith("Upgrade is allowed;")
        # S4 After reboot (no public REST call: the simulator's own route).
        assert api.post("/api/_simulator/firmware/after_reboot", json={"slot_id": 2}).status_code == 200
        assert api.get("/api/firmware/slots").json()["meta"]["slot_after_reboot"] == "2"
        # S5 System control > This node > Reboot: the web UI and API go away while it boots.
        assert api.post("/api/_simulator/system_control/this_node/reboot", json={}).status_code == 200
        sps_lab.wait_for_state("sps-1", "online")
        # S6 The new version; the session survived the reboot.
        assert api.get("/api/info").json()["body"]["firmware_version"] == TARGET
        meta = api.get("/api/firmware/slots").json()["meta"]
        assert meta["current_slot"] == "2" == meta["slot_after_reboot"]
    states = [e["state"] for e in sps_lab.events("state", "sps-1")]
    assert states[-4:] == ["shutting_down", "booting", "upgrading", "online"]
    assert sps_lab.endpoint("sps-1")["version"] == TARGET


def test_a_failed_test_blocks_the_upgrade(lab_runner, iso):
    lab = lab_runner(_profile(config_issues=["Plugin 'legacy-mfa' is not supported"], free_storage_mb=512))
    with logged_in(lab) as api:
        assert _upload(api, iso).status_code == 200
        tested = api.post("/api/firmware/test", json={"slot_id": 2})
        assert tested.status_code == 400 and error_type(tested) == "FirmwareTestFailed"
        message = tested.json()["error"]["details"]["message"]
        assert "Plugin 'legacy-mfa' is not supported" in message and "512 MB free" in message
        upgrade = api.post("/api/firmware/upgrade", json={"slot_id": 2, "message": "go"})
        assert upgrade.status_code == 400 and error_type(upgrade) == "FirmwareTestFailed"
        meta = api.get("/api/firmware/slots").json()["meta"]
        assert meta["current_slot"] == "1" == meta["slot_after_reboot"]
    assert lab.state("sps-1") == "online" and lab.endpoint("sps-1")["version"] == "6.0.3"


def test_the_upgrade_policy_refuses_a_release_it_cannot_reach(sps_lab, tmp_path):
    with logged_in(sps_lab) as api:
        assert _upload(api, make_iso("sps-7.5.1-firmware.iso", tmp_path)).status_code == 200
        tested = api.post("/api/firmware/test", json={"slot_id": 2})
        assert error_type(tested) == "FirmwareTestFailed" and "upgrade policy" in tested.text


def test_safeguard_ps_upgrade_sequence_with_the_raw_iso_body(sps_lab, iso):
    """Install-SafeguardSpsUpgrade step by step (sps.md 4.5)."""
    with logged_in(sps_lab) as api:
        # 1. already there?
        assert api.get("/api/info").json()["body"]["firmware_version"] != TARGET
        # 2. the ISO as the body (Import-SafeguardSpsFirmware -InFile ... application/x-iso9660-image)
        uploaded = api.post("/api/upload/firmware", content=iso.read_bytes(),
                            headers={"Content-Type": "application/x-iso9660-image"})
        assert uploaded.status_code == 200 and uploaded.json()["body"]["version"] == TARGET
        # 3. the slot whose version is the target (by its key: the client's 0-based index is off by one)
        items = api.get("/api/firmware/slots").json()["items"]
        slot = next(item["key"] for item in items if item["body"].get("version", "").lower() == TARGET)
        # 4. the test's summary starts with "Upgrade is allowed;" (Test-SafeguardSpsFirmware)
        summary = api.post("/api/firmware/test", json={"slot_id": int(slot)}).json()["body"]["test_summary"]
        assert summary.startswith("Upgrade is allowed;")
        # 5. the upgrade answers, then SPS reboots by itself
        upgrade = api.post("/api/firmware/upgrade", json={"slot_id": int(slot),
                                                          "message": f"Upgrading SPS firmware to {TARGET}"})
        assert upgrade.status_code == 200
        assert upgrade.json() == {"body": {"test_summary": "HA check started\nHA check finished"}, "key": slot,
                                  "meta": {"href": "/api/firmware/upgrade", "parent": "/api/firmware",
                                           "slot": f"/api/firmware/slots/{slot}"}}
        if sps_lab.state("sps-1") != "online":
            with pytest.raises(httpx.TransportError):
                api.get("/api/info")
        # 6. poll /api/info until the new version answers
        sps_lab.wait_for_state("sps-1", "online")
        assert api.get("/api/info").json()["body"]["firmware_version"] == TARGET
    sps_lab.assert_event("upgrade.finished", "sps-1", version=TARGET)


def test_an_upgrade_that_fails_reverts_to_the_old_slot(sps_lab, iso):
    sps_lab.add_fault("upgrade.stage:firmware", "fail", "sps-1", message="configuration conversion failed")
    with logged_in(sps_lab) as api:
        assert _upload(api, iso).status_code == 200
        assert api.post("/api/firmware/upgrade", json={"slot_id": 2, "message": None}).status_code == 200
        sps_lab.wait_for_state("sps-1", "online")
        assert api.get("/api/info").json()["body"]["firmware_version"] == "6.0.3"
        slots = api.get("/api/firmware/slots").json()
        assert slots["meta"]["current_slot"] == "1" == slots["meta"]["slot_after_reboot"]
        assert slots["items"][1]["body"]["version"] == TARGET
    states = [e["state"] for e in sps_lab.events("state", "sps-1")]
    assert states[-3:] == ["upgrading", "reverting", "online"]
    sps_lab.assert_event("upgrade.reverted", "sps-1", version="6.0.3")


def test_slots_refuse_deleting_the_current_and_after_reboot_firmware(sps_lab, iso, tmp_path):
    with logged_in(sps_lab) as api:
        assert error_type(api.delete("/api/firmware/slots/1")) == "InvalidRequest"
        assert error_type(api.delete("/api/firmware/slots/3")) == "ResourceNotFound"
        assert error_type(api.get("/api/firmware/slots/9")) == "ResourceNotFound"
        assert _upload(api, iso).status_code == 200
        api.post("/api/_simulator/firmware/after_reboot", json={"slot_id": 2})
        refused = api.delete("/api/firmware/slots/2")
        assert refused.status_code == 400 and "after reboot" in refused.text
        api.post("/api/_simulator/firmware/after_reboot", json={"slot_id": 1})
        assert api.delete("/api/firmware/slots/2").status_code == 200
        assert api.get("/api/firmware/slots/2").json()["body"] == {}


def test_bad_requests_get_the_documented_errors(sps_lab, tmp_path):
    with logged_in(sps_lab) as api:
        assert error_type(api.post("/api/firmware/test", json={})) == "IncompleteRequestBodyError"
        assert error_type(api.post("/api/firmware/upgrade", json={"slot_id": 4})) == "ResourceNotFound"
        unsigned = make_iso(ISO, tmp_path / "unsigned", unsigned=True)
        refused = _upload(api, unsigned)
        assert refused.status_code == 400 and "signature" in refused.text
        corrupt = make_iso(ISO, tmp_path / "corrupt", corrupt=True)
        assert "damaged" in _upload(api, corrupt).text
        assert not list((sps_lab.lab.store.device_fs("sps-1") / "opt/firmware").glob(".upload-*"))
        cookie = api.cookies["session_id"]
    # A POST without a body or Content-Length: 411 (sps.md 4.1).
    url = httpx.URL(sps_lab.endpoint("sps-1")["https"]["url"])
    conn = http.client.HTTPSConnection(url.host, url.port, context=ssl._create_unverified_context())
    conn.putrequest("POST", "/api/firmware/test")
    conn.putheader("Cookie", f"session_id={cookie}")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 411 and b"LengthRequired" in response.read()
    conn.close()

"""An SPS HA pair (profile sps-ha) over real HTTPS (httpx) on virtual time:
seed 004's procedure H1-H11 through REST, the control API's power-on standing
for IPMI in H9 (statuses HA -> Degraded -> Degraded Sync -> HA), and what the
admin guide's ordering rules prevent when they are broken (sps.md 2.2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from simulator.kinds.sps.packages import make_iso
from simulator.pytest_plugin import Sim

TARGET = "7.0.2.1"
OLD = "6.0.3"
HA = "/api/_simulator/high_availability"


@pytest.fixture
def ha_lab(lab_runner):
    return lab_runner("sps-ha")


@pytest.fixture
def iso(tmp_path):
    return make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path / "iso")


@contextmanager
def _client(lab, node: str = "sps-a") -> Iterator[httpx.Client]:
    https = lab.endpoint(node)["https"]
    with httpx.Client(base_url=https["url"], verify=False) as client:
        assert client.get("/api/authentication", auth=(https["username"], https["password"])).status_code == 200
        yield client


def _control(lab, path: str, **body) -> None:
    response = httpx.post(f"{lab.lab.control.url}/api/{path}", json=body)
    assert response.status_code == 200, response.text


def _power_on(lab, node: str) -> None:
    """`simulator power on NODE` through the control API (IPMI's stand-in)."""
    _control(lab, f"devices/{node}/power", action="on")


def _ha(api: httpx.Client) -> dict:
    return api.get(HA).json()["body"]


def _statuses(lab) -> list[str]:
    return [e["state"] for e in lab.events("ha.state")]


def _stage(api: httpx.Client, lab, iso) -> None:
    """H1-H5: upload, test, After reboot on the master; wait until the slave has it too."""
    with iso.open("rb") as fh:
        uploaded = api.post("/api/upload/firmware", files={"firmware": (iso.name, fh)})
    assert uploaded.status_code == 200 and uploaded.json()["body"]["version"] == TARGET
    assert api.post("/api/firmware/test", json={"slot_id": 2}).json()["body"]["test_summary"].startswith(
        "Upgrade is allowed;")
    assert api.post("/api/_simulator/firmware/after_reboot", json={"slot_id": 2}).status_code == 200
    lab.wait_until(lambda lab: bool(Sim.events(lab, "firmware", "sps-b", action="replicated", version=TARGET)))
    other = _ha(api)["other_node"]
    assert other["firmware_version"] == OLD and other["firmware_after_reboot"] == TARGET


def test_ha_upgrade_h1_to_h11(ha_lab, iso):
    with _client(ha_lab) as api:
        ha = _ha(api)
        assert ha["status"] == "HA" and ha["heartbeat"] == "up" and ha["this_node"]["ha_role"] == "master"
        assert ha["other_node"]["ha_role"] == "slave" and ha["other_node"]["firmware_version"] == OLD
        _stage(api, ha_lab, iso)                                               # H1-H5
        # H6 Other node > Shutdown: the secondary goes dark, the pair is Degraded.
        assert api.post("/api/_simulator/system_control/other_node/shutdown", json={}).status_code == 200
        ha_lab.wait_for_state("sps-b", "off")
        assert _ha(api)["status"] == "Degraded"
        # H7 This node > Reboot: the primary boots 7.0.2.1 LTS; no takeover (the secondary is off).
        assert api.post("/api/_simulator/system_control/this_node/reboot", json={}).status_code == 200
        ha_lab.wait_for_state("sps-a", "online")
        # H8 the primary's version; still Degraded.
        assert api.get("/api/info").json()["body"]["firmware_version"] == TARGET
        assert _ha(api)["status"] == "Degraded"
        # H9 power the secondary on (IPMI): it boots the new firmware and syncs, Heartbeat unavailable.
        _power_on(ha_lab, "sps-b")
        ha_lab.wait_until(lambda lab: lab.pairs["sps-cluster"].state == "Degraded Sync")
        syncing = _ha(api)
        assert syncing["status"] == "Degraded Sync" and syncing["heartbeat"] == "unavailable"
        assert syncing["drbd"] == "Sync source"
        ha_lab.wait_until(lambda lab: lab.pairs["sps-cluster"].state == "HA")
        # H10 connected, same firmware versions.
        ha = _ha(api)
        assert ha["status"] == "HA" and ha["same_versions"] is True
        assert ha["other_node"]["firmware_version"] == TARGET == ha["this_node"]["firmware_version"]
        # H11 Activate Slave: the secondary becomes the master, the pair stays HA.
        assert api.post(f"{HA}/activate_slave", json={}).status_code == 200
    with _client(ha_lab, "sps-b") as api:
        ha = _ha(api)
        assert ha["status"] == "HA" and ha["this_node"]["ha_role"] == "master"
        assert api.get("/api/info").json()["body"]["firmware_version"] == TARGET
    assert _statuses(ha_lab) == ["HA", "Degraded", "Degraded Sync", "HA"]
    takeovers = ha_lab.events("ha.takeover")
    assert [(e["master"], e["reason"]) for e in takeovers] == [("sps-b", "activate_slave")]


def test_the_secondary_powered_on_before_the_primary_is_back_takes_over(ha_lab, iso):
    with _client(ha_lab) as api:
        _stage(api, ha_lab, iso)
        api.post("/api/_simulator/system_control/other_node/shutdown", json={})
        ha_lab.wait_for_state("sps-b", "off")
        _control(ha_lab, "clock/pause")            # a person at the keyboard: no simulated time passes
        api.post("/api/_simulator/system_control/this_node/reboot", json={})
    _power_on(ha_lab, "sps-b")                     # too early: the primary is still booting
    _control(ha_lab, "clock/resume")
    ha_lab.wait_until(lambda lab: lab.pairs["sps-cluster"].state == "HA")
    takeover = ha_lab.assert_event("ha.takeover", master="sps-b")
    assert takeover["reason"] == "peer_absent"
    with _client(ha_lab, "sps-b") as api:          # the secondary serves the web UI; the primary is its slave
        ha = _ha(api)
        assert ha["this_node"]["ha_role"] == "master" and ha["other_node"]["name"] == "sps-a"
    with pytest.raises(httpx.TransportError):
        with _client(ha_lab, "sps-a"):
            pass


def test_rebooting_the_master_while_the_slave_runs_hands_over_to_an_old_version(ha_lab, iso):
    """H6 skipped: the in-sync slave takes over on 6.0.3; the primary comes back on 7.0.2.1 LTS,
    does not sync with a master of another version, and the pair stays Degraded."""
    with _client(ha_lab) as api:
        _stage(api, ha_lab, iso)
        api.post("/api/_simulator/system_control/this_node/reboot", json={})
    ha_lab.wait_for_state("sps-a", "online")
    assert ha_lab.assert_event("ha.takeover", master="sps-b")["reason"] == "master_down"
    with _client(ha_lab, "sps-b") as api:
        ha = _ha(api)
        assert ha["status"] == "Degraded" and ha["same_versions"] is False
        assert ha["this_node"]["firmware_version"] == OLD and ha["other_node"]["firmware_version"] == TARGET
        # the fix: reboot this node too (its After reboot is the replicated 7.0.2.1 LTS)
        api.post("/api/_simulator/system_control/this_node/reboot", json={})
    ha_lab.wait_until(lambda lab: lab.pairs["sps-cluster"].state == "HA")
    assert "HA" != _statuses(ha_lab)[-2]


def test_ha_actions_refuse_what_the_status_does_not_allow(ha_lab):
    with _client(ha_lab) as api:
        api.post("/api/_simulator/system_control/other_node/shutdown", json={})
        ha_lab.wait_for_state("sps-b", "off")
        refused = api.post(f"{HA}/activate_slave", json={})
        assert refused.status_code == 400 and "Degraded" in refused.json()["error"]["details"]["message"]
        again = api.post("/api/_simulator/system_control/other_node/reboot", json={})
        assert again.status_code == 503 and "not running" in again.text
        assert api.post(f"{HA}/join", json={}).status_code == 400


def test_join_ha_turns_a_half_pair_into_ha(lab_runner):
    lab = lab_runner({"lab": "half", "devices": [
        {"name": "sps-a", "kind": "sps", "model": "T-1", "version": OLD},
        {"name": "sps-b", "kind": "sps", "model": "T-1", "version": OLD}],
        "ha_pairs": [{"name": "pair", "primary": "sps-a", "secondary": "sps-b", "secondary_mode": "standalone"}]})
    with _client(lab) as api:
        assert _ha(api)["status"] == "Half" and _ha(api)["other_node"]["node_ha_state"] == "standalone"
        assert api.post(f"{HA}/join", json={}).status_code == 200
        lab.wait_until(lambda lab: lab.pairs["pair"].state == "HA")
    assert _statuses(lab) == ["Half", "Degraded Sync", "HA"]


def test_a_cut_ha_link_makes_a_split_brain_that_does_not_sync(ha_lab):
    """SPS-ADMIN "Recovering from a split brain situation": both nodes go active while the link
    is cut; once it is back SPS detects the split brain, keeps the former master active, the
    other as backup, and syncs nothing (here: until the backup is reimaged)."""
    ha_lab.run(lambda: ha_lab.lab.set_link("sps-cluster", False))
    for node in ("sps-a", "sps-b"):                        # both serve: both are active
        with _client(ha_lab, node) as api:
            ha = _ha(api)
            assert ha["this_node"]["ha_role"] == "master" and ha["status"] == "Degraded"
    assert ha_lab.assert_event("ha.takeover", master="sps-b")["reason"] == "link_lost"
    ha_lab.run(lambda: ha_lab.lab.set_link("sps-cluster", True))
    ha_lab.assert_event("ha.split_brain", "sps-b", state="detected", log="Split-Brain detected, dropping connection!")
    _control(ha_lab, "clock/advance", seconds=3600)       # no sync, however long
    with _client(ha_lab, "sps-a") as api:
        ha = _ha(api)
        assert (ha["status"], ha["drbd"], ha["other_node"]["ha_role"]) == ("Split brain", "Disconnected", "slave")
    with pytest.raises(httpx.TransportError):
        with _client(ha_lab, "sps-b"):
            pass
    _control(ha_lab, "devices/sps-b/reimage")
    ha_lab.wait_until(lambda lab: lab.pairs["sps-cluster"].state == "HA")
    assert _statuses(ha_lab)[-4:] == ["Split brain", "Degraded", "Degraded Sync", "HA"]

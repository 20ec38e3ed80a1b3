"""The central-management search cluster (profile sps-search-cluster) over
real HTTPS on virtual time: seed 004's order (Search Minions first, then the
Search Master) ends healthy; the master first gives the critical index error,
which the control API's reimage of the master clears (sps.md 2.3, 4.7)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from simulator.kinds.sps.packages import make_iso
from simulator.profile import ProfileError, load

TARGET = "7.0.2.1"


@pytest.fixture
def cluster_lab(lab_runner):
    return lab_runner("sps-search-cluster")


@pytest.fixture
def iso(tmp_path):
    return make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path / "iso")


@contextmanager
def _client(lab, node: str) -> Iterator[httpx.Client]:
    https = lab.endpoint(node)["https"]
    with httpx.Client(base_url=https["url"], verify=False) as client:
        assert client.get("/api/authentication", auth=(https["username"], https["password"])).status_code == 200
        yield client


def _upgrade(lab, node: str, iso) -> None:
    """Upload, test and upgrade through REST; wait for the node to come back."""
    with _client(lab, node) as api:
        slot = api.post("/api/upload/firmware", content=iso.read_bytes(),
                        headers={"Content-Type": "application/x-iso9660-image"}).json()["key"]
        assert api.post("/api/firmware/upgrade", json={"slot_id": int(slot), "message": None}).status_code == 200
    lab.wait_until(lambda lab: bool(lab.journal.select(node, "upgrade.finished")))
    lab.wait_for_state(node, "online")


def _status(lab) -> list[dict]:
    with _client(lab, "cm-1") as api:
        return api.get("/api/cluster/status").json()["items"]


def _indexer(lab) -> dict:
    with _client(lab, "cm-1") as api:
        return api.get("/api/health_status").json()["health_status"]["indexer"]


def test_the_cluster_lists_its_nodes_and_roles_on_the_central_management_node(cluster_lab):
    with _client(cluster_lab, "cm-1") as api:
        assert [i["key"] for i in api.get("/api/cluster").json()["items"]] == ["nodes", "promote", "status"]
        nodes = {n["body"]["address"]: n["body"]["roles"] for n in api.get("/api/cluster/nodes").json()["items"]}
    assert nodes == {"cm-1": ["central-management", "search-master"],
                     "minion-1": ["managed-host", "search-minion"], "minion-2": ["managed-host", "search-minion"],
                     "host-1": ["managed-host", "search-local"]}
    with _client(cluster_lab, "minion-1") as api:
        assert api.get("/api/cluster/status").json()["error"]["type"] == "ResourceNotFound"
    health = _status(cluster_lab)[0]["health_status"]
    assert health["indexer"]["status"] == "ok" and health["firmware"]["integrity"] == {"boot": "OK", "core": "OK"}


def test_minions_first_then_the_master_ends_healthy(cluster_lab, iso):
    for node in ("minion-1", "minion-2", "host-1"):
        _upgrade(cluster_lab, node, iso)
    warnings = _status(cluster_lab)[0]["configuration_sync"]["issues"]["warnings"]
    assert "All nodes in a cluster must run the same version" in warnings[0]["message"]
    _upgrade(cluster_lab, "cm-1", iso)
    status = _status(cluster_lab)
    assert {n["firmware_version"] for n in status} == {TARGET}
    assert all(not n["configuration_sync"]["issues"]["warnings"] for n in status)
    assert _indexer(cluster_lab)["status"] == "ok"
    assert not cluster_lab.events("search.index_error")


def test_the_master_first_gives_the_critical_index_error_until_reimaged(cluster_lab, iso):
    _upgrade(cluster_lab, "cm-1", iso)
    indexer = _indexer(cluster_lab)
    assert indexer["status"] == "critical" and "minion-1, minion-2" in indexer["message"]
    assert "invalid schema mapping" in indexer["message"]
    for node in ("minion-1", "minion-2"):
        _upgrade(cluster_lab, node, iso)
    assert _indexer(cluster_lab)["status"] == "critical"      # upgrading the minions afterwards does not help
    reimaged = httpx.post(f"{cluster_lab.lab.control.url}/api/devices/cm-1/reimage", json={"version": TARGET})
    assert reimaged.status_code == 200, reimaged.text
    cluster_lab.wait_for_state("cm-1", "online")
    assert _indexer(cluster_lab)["status"] == "ok"


def test_a_profile_with_two_search_masters_is_refused():
    with pytest.raises(ProfileError, match="search-master is held by a, b"):
        load({"lab": "x", "devices": [
            {"name": n, "kind": "sps", "model": "T-4", "version": "6.0.3",
             "cluster_roles": ["managed-host", "search-master"]} for n in ("a", "b")]})
    with pytest.raises(ProfileError, match="exactly one of search-master"):
        load({"lab": "x", "devices": [{"name": "a", "kind": "sps", "model": "T-4", "version": "6.0.3",
                                       "cluster_roles": ["managed-host"]}]})


def _node_ids(api: httpx.Client) -> dict[str, str]:
    return {n["body"]["address"]: n["key"] for n in api.get("/api/cluster/nodes").json()["items"]}


def test_roles_are_assigned_on_the_central_management_node(cluster_lab):
    with _client(cluster_lab, "cm-1") as api:
        ids = _node_ids(api)
        assigned = api.put(f"/api/cluster/nodes/{ids['host-1']}", json={"roles": ["managed-host", "search-minion"]})
        assert assigned.status_code == 200, assigned.text
        assert assigned.json()["body"] == {"address": "host-1", "roles": ["managed-host", "search-minion"]}
        assert assigned.json()["meta"]["remaining_seconds"] == 28800
        assert api.get("/api/transaction").json()["transaction"]["status"] == "open"
        assert api.get(f"/api/cluster/nodes/{ids['host-1']}").json()["body"]["roles"][1] == "search-minion"

        def refused(node: str, body: dict) -> dict:
            answer = api.put(f"/api/cluster/nodes/{ids.get(node, node)}", json=body)
            assert answer.status_code in (400, 404), answer.text
            return answer.json()["error"]
        assert "search-master already (cm-1)" in refused("host-1", {"roles": ["managed-host", "search-master"]})[
            "details"]["message"]
        assert "only by promoting" in refused("host-1", {"roles": ["central-management", "search-local"]})[
            "details"]["message"]
        assert "exactly one search role" in refused("host-1", {"roles": ["managed-host"]})["details"]["message"]
        assert refused("host-1", {"roles": ["manager"]})["type"] == "InvalidRequest"
        assert refused("host-1", {})["type"] == "IncompleteRequestBodyError"
        assert refused("no-such-node", {"roles": ["search-local"]})["type"] == "ResourceNotFound"
        again = api.post("/api/cluster/promote", json={})
        assert again.status_code == 400 and "already has a Central Management node (cm-1)" in again.text
    with _client(cluster_lab, "minion-1") as api:
        assert api.put(f"/api/cluster/nodes/{ids['host-1']}", json={"roles": ["search-local"]}).json()[
            "error"]["type"] == "ResourceNotFound"


def test_a_promoted_node_is_central_management_across_a_restart(tmp_path):
    from simulator.pytest_plugin import RunningLab
    lab = RunningLab("sps-standalone", tmp_path / "state", None)
    try:
        with _client(lab, "sps-1") as api:
            assert api.get("/api/cluster/nodes").json()["error"]["type"] == "ResourceNotFound"
            promoted = api.post("/api/cluster/promote", json={})
            assert promoted.status_code == 200, promoted.text
            body = promoted.json()
            assert body["body"] == {"address": "sps-1", "roles": ["central-management"]}
            assert body["meta"]["href"] == f"/api/cluster/nodes/{body['key']}"
            assert body["meta"]["parent"] == "/api/cluster/nodes"
    finally:
        lab.stop()
    lab = RunningLab("sps-standalone", tmp_path / "state", None)
    try:
        with _client(lab, "sps-1") as api:
            assert _node_ids(api) == {"sps-1": body["key"]}
    finally:
        lab.stop()

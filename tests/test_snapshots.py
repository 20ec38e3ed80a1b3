"""Snapshots of a lab and restoring them (simulator/snapshots.py), through the
surfaces a user sees: the FDM REST API, the SSH CLI, the traffic probe, the
control API and `simulator snapshot`, on virtual time. The acceptance case: an
FTD HA pair in the middle of its standby's upgrade, saved, run to the end, put
back, and run to the same end again."""

from __future__ import annotations

import asyncio
import json
import re

import asyncssh
import httpx
import pytest

from simulator.cli import main as cli
from simulator.lab import Lab
from tests.conftest import connect, open_terminal

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
API = "/api/fdm/latest"


def ports(lab: Lab) -> dict:
    """Every port of the lab, as the endpoints document names them."""
    doc = lab.endpoints()
    found = {}
    for entry in doc["devices"] + doc.get("pairs", []):
        for key in ("ssh", "probe"):
            if key in entry:
                found[f"{entry['name']}.{key}"] = entry[key]["port"]
        if "https" in entry:
            found[f"{entry['name']}.https"] = entry["https"]["url"]
        if "console" in entry:
            found[f"{entry['name']}.console"] = entry["console"]["telnet"]["port"]
    return {**found, "control": doc["control"]["url"]}


async def fdm(lab: Lab, name: str) -> httpx.AsyncClient:
    url = lab.https.sites[name].url                 # type: ignore[union-attr]
    api = httpx.AsyncClient(base_url=url + API, verify=False, timeout=10)
    r = await api.post("/fdm/token", json={"grant_type": "password", "username": "admin", "password": "Admin123"})
    assert r.status_code == 200, r.text
    api.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return api


async def cli_out(lab: Lab, name: str, command: str) -> str:
    async with await connect(lab.ssh.endpoints[name].port) as conn:      # type: ignore[union-attr]
        return (await conn.run(command)).stdout


async def probe(lab: Lab, pair: str = "ftd-ha") -> dict | None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", lab.probes.probes[pair].port)  # type: ignore[union-attr]
    except OSError:
        return None
    line = await reader.readline()
    writer.close()
    return json.loads(line)


async def seen(lab: Lab) -> dict:
    """What a user sees of the pair mid-upgrade, through every surface."""
    b = await fdm(lab, "ftd-b")
    try:
        status = (await b.get("/operational/upgradestatus")).json()
        ha = (await b.get("/devices/default/operational/ha/status/default")).json()
    finally:
        await b.aclose()
    return {"upgrade": status,
            "ha": {k: ha.get(k) for k in ("nodeState", "peerNodeState", "haHealthStatus")},
            "version_b": re.findall(r"Version.*", await cli_out(lab, "ftd-b", "show version")),
            "failover_a": [line for line in (await cli_out(lab, "ftd-a", "show failover")).splitlines()
                           if "host:" in line or line.startswith("Failover")],
            "probe": await probe(lab), "state_b": lab.devices["ftd-b"].state,
            "job_b": lab.devices["ftd-b"].summary()["job"], "clock": lab.clock.now()}


def the_end(lab: Lab) -> dict:
    """Where the upgrade ended: versions, history (with times), the pair, traffic, the clock."""
    return {"versions": {n: d.version for n, d in lab.devices.items()},
            "states": {n: d.state for n, d in lab.devices.items()},
            "history": {n: d.snapshot()["history"] for n, d in lab.devices.items()},
            "pair": lab.pairs["ftd-ha"].status(), "traffic": lab.traffic["ftd-ha"].report(),
            "clock": lab.clock.now()}


async def run_to_end(lab: Lab) -> None:
    await lab.clock.run_until_idle()
    await lab.settle()


async def test_a_pair_mid_upgrade_goes_back_and_upgrades_to_the_same_end(tmp_path, packages):
    async with Lab("ftd-ha", state_dir=tmp_path / "state", virtual_time=True, seed=5) as lab:
        b_model = lab.devices["ftd-b"]
        b = await fdm(lab, "ftd-b")
        with packages(UPGRADE_76).open("rb") as fh:
            assert (await b.post("/action/uploadupgrade", files={"fileToUpload": (UPGRADE_76, fh)})).status_code == 200
        assert (await b.post("/action/upgrade", params={"cancelOnFailure": "true"})).status_code == 204
        await lab.clock.run_until(lambda: b_model.state == "upgrade_install" and b_model.job.stage >= 3)
        await lab.clock.advance(7)          # inside a stage: it goes on from here, not from the stage's start
        await lab.settle()
        before_ports = ports(lab)
        at_snapshot = await seen(lab)
        assert at_snapshot["state_b"] == "upgrade_install" and at_snapshot["probe"]["up"]
        assert at_snapshot["upgrade"]["state"] == "IN_PROGRESS" and at_snapshot["version_b"][0].endswith("7.4.1 (Build 172)")
        snapshot = lab.snapshot("mid-upgrade")
        assert snapshot.entry()["sim_time"] == round(at_snapshot["clock"], 3) and snapshot.name == "mid-upgrade"

        await run_to_end(lab)
        straight = the_end(lab)
        assert straight["versions"]["ftd-b"] == "7.6.0-113" and straight["states"]["ftd-b"] == "online"
        assert straight["clock"] > at_snapshot["clock"]

        # Sessions open at the restore: an interactive SSH shell and an FDM token.
        term = await open_terminal(lab.ssh.endpoints["ftd-b"].port)      # type: ignore[union-attr]
        restored = await lab.restore(snapshot.id)
        assert restored.id == snapshot.id
        with pytest.raises((EOFError, asyncssh.Error, ConnectionError)):
            await term.cmd("show version")
        assert (await b.get("/operational/upgradestatus")).status_code == 401      # tokens died with the sessions
        await b.aclose()

        assert ports(lab) == before_ports
        assert await seen(lab) == at_snapshot
        assert b_model.version == "7.4.1-172" and b_model.job.target_version == "7.6.0-113"
        restores = lab.journal.select(kind="lab.restored")
        assert len(restores) == 1 and restores[0]["id"] == snapshot.id

        await run_to_end(lab)
        assert the_end(lab) == straight         # the same end, at the same simulated time
        assert (await probe(lab))["lost_probes"] == 0


async def test_a_fired_fault_comes_back_unfired_and_the_clock_goes_back(lab, packages):
    control = httpx.AsyncClient(base_url=lab.control.url, timeout=10)
    ftd = lab.devices["ftd-1"]
    fault = (await control.post("/api/faults", json={"point": "upgrade.stage:300_os", "action": "fail",
                                                      "device": "ftd-1"})).json()
    api = await fdm(lab, "ftd-1")
    with packages(UPGRADE_76).open("rb") as fh:
        assert (await api.post("/action/uploadupgrade", files={"fileToUpload": (UPGRADE_76, fh)})).status_code == 200
    await api.aclose()
    r = await control.post("/api/snapshots", json={"name": "before"})
    assert r.status_code == 201 and r.json()["name"] == "before"
    sid, then = r.json()["id"], r.json()["sim_time"]

    ftd.start_upgrade()
    await lab.clock.run_until_idle()
    assert ftd.history[-1]["result"] == "FAILED" and ftd.version == "7.4.1-172"
    assert (await control.get(f"/api/faults/{fault['id']}")).json()["fired"] == 1
    assert (await control.get("/api/clock")).json()["now"] > then

    r = await control.post(f"/api/snapshots/{sid}/restore")
    assert r.status_code == 200 and r.json()["clock"]["now"] == then and r.json()["restored_in_ms"] >= 0
    again = (await control.get(f"/api/faults/{fault['id']}")).json()
    assert again["fired"] == 0 and again["fired_at"] == [] and ftd.history == [] and ftd.package is not None
    ftd.start_upgrade()                 # the same upgrade meets the same fault
    await lab.clock.run_until_idle()
    assert ftd.history[-1]["result"] == "FAILED"
    assert (await control.get(f"/api/faults/{fault['id']}")).json()["fired"] == 1
    await control.aclose()


async def test_snapshots_outlive_the_lab_and_bring_consumed_files_back(tmp_path, packages):
    state = tmp_path / "state"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True, seed=2) as lab:
        async with await connect(lab.ssh.endpoints["ftd-1"].port) as conn, conn.start_sftp_client() as sftp:  # type: ignore[union-attr]
            await sftp.put(str(packages(UPGRADE_76)), f"/var/sf/updates/{UPGRADE_76}")
        sid = lab.snapshot().id
        lab.devices["ftd-1"].start_upgrade()
        await lab.clock.run_until_idle()
        assert lab.devices["ftd-1"].version == "7.6.0-113"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True) as lab:
        assert [s.id for s in lab.snapshots()] == [sid] and lab.devices["ftd-1"].version == "7.6.0-113"
        port = lab.ssh.endpoints["ftd-1"].port      # type: ignore[union-attr]
        async with await connect(port) as conn, conn.start_sftp_client() as sftp:
            assert UPGRADE_76 not in await sftp.listdir("/var/sf/updates")      # consumed by the upgrade
        await lab.restore(sid)
        assert "Version 7.4.1" in await cli_out(lab, "ftd-1", "show version")
        async with await connect(port) as conn, conn.start_sftp_client() as sftp:
            assert UPGRADE_76 in await sftp.listdir("/var/sf/updates")
        lab.devices["ftd-1"].start_upgrade()          # the package is whole again: it installs
        await lab.clock.run_until_idle()
        assert lab.devices["ftd-1"].version == "7.6.0-113"
        lab.delete_snapshot(sid)
        assert lab.snapshots() == [] and not (state / "snapshots" / sid).exists()


async def test_bad_ids_and_bodies_are_refused_and_change_nothing(lab):
    async with httpx.AsyncClient(base_url=lab.control.url, timeout=10) as control:
        sid = (await control.post("/api/snapshots")).json()["id"]
        clock, seq = lab.clock.now(), lab.journal.last_seq
        for method, path in (("POST", "/api/snapshots/nope/restore"), ("POST", "/api/snapshots/99/restore"),
                             ("DELETE", "/api/snapshots/99"), ("GET", "/api/snapshots/0")):
            r = await control.request(method, path)
            assert r.status_code == 404 and "no snapshot" in r.json()["error"], (method, path, r.text)
        for body in ({"name": 5}, {"nme": "x"}, {"name": "x" * 201}):
            r = await control.post("/api/snapshots", json=body)
            assert r.status_code == 400 and r.json()["error"], body
        assert lab.clock.now() == clock and lab.journal.last_seq == seq
        assert [s["id"] for s in (await control.get("/api/snapshots")).json()["items"]] == [sid]


async def test_the_snapshot_command_line(lab):
    url = lab.control.url

    def run(*args: str) -> int:
        return cli(["snapshot", *args, "--url", url])

    assert await asyncio.to_thread(run, "save", "first") == 0
    assert await asyncio.to_thread(run, "ls") == 0
    assert await asyncio.to_thread(run, "restore", "1") == 0
    assert await asyncio.to_thread(run, "restore", "7") == 1        # an unknown id: the API's error, exit 1
    assert await asyncio.to_thread(run, "rm", "1") == 0
    assert lab.snapshots() == [] and [e["kind"] for e in lab.journal.select(kind="lab.")][-3:] == [
        "lab.snapshot", "lab.restored", "lab.snapshot_deleted"]


def test_a_restore_survives_kill_9(lab_process, tmp_path, packages):
    """The state directory says what the restore made of every device at once (restored.json):
    killed right after, the lab comes back restored."""
    state = tmp_path / "kept"
    endpoints, proc = lab_process("ftd-standalone", state_dir=state)
    ssh, control = endpoints["devices"][0]["ssh"], endpoints["control"]["url"]

    async def put() -> None:
        async with await connect(ssh["port"]) as conn, conn.start_sftp_client() as sftp:
            await sftp.put(str(packages(UPGRADE_76)), f"/var/sf/updates/{UPGRADE_76}")
    asyncio.run(put())
    sid = httpx.post(control + "/api/snapshots", json={"name": "with package"}).json()["id"]
    https = endpoints["devices"][0]["https"]
    with httpx.Client(base_url=https["url"] + API, verify=False, timeout=10) as api:
        token = api.post("/fdm/token", json={"grant_type": "password", "username": "admin",
                                             "password": "Admin123"}).json()["access_token"]
        assert api.post("/action/upgrade", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert httpx.post(control + "/api/clock/run", json={}, timeout=60).json()["reached"]
    assert httpx.get(control + "/api/devices/ftd-1").json()["version"] == "7.6.0-113"
    assert httpx.post(f"{control}/api/snapshots/{sid}/restore", timeout=60).status_code == 200
    proc.kill()
    proc.wait()

    endpoints, _ = lab_process("ftd-standalone", state_dir=state)
    control = endpoints["control"]["url"]
    device = httpx.get(control + "/api/devices/ftd-1").json()
    assert device["version"] == "7.4.1-172" and device["package"] == UPGRADE_76 and device["state"] == "online"
    assert [s["name"] for s in httpx.get(control + "/api/snapshots").json()["items"]] == ["with package"]

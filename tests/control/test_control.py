"""The control plane: fault plans (points, actions, triggers), the control
HTTP API and its OpenAPI description, the `simulator` subcommands used from
another terminal, and a lab that survives SIGKILL."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from simulator.control.server import ROUTES
from simulator.facts import read_yaml
from simulator.kinds.ftd.packages import make_package
from simulator.lab import Lab
from simulator.profile import ProfileError, load_fault_file
from tests.conftest import ROOT, connect, fdm_client, fdm_upgrade, open_terminal, ssh_port, upload

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


@pytest.fixture
async def control(lab):
    async with httpx.AsyncClient(base_url=lab.control.url, timeout=10) as client:
        yield client


def test_routes_and_openapi_description_agree():
    spec = read_yaml("control/openapi.yaml")
    described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    served = {(m, re.sub(r"{(\w+):[^}]+}", r"{\1}", p)) for m, p, _ in ROUTES}     # {id:\d+} is {id}
    assert described == served


async def test_devices_power_and_reimage_through_the_api(lab, control, packages):
    r = await control.get("/api/devices")
    assert [d["name"] for d in r.json()["items"]] == ["ftd-1"]
    assert (await control.get("/api/lab")).json()["clock"]["mode"] == "virtual"

    # A power loss mid-upgrade leaves the device unusable until reimaged.
    ftd = lab.devices["ftd-1"]
    await upload(ssh_port(lab), packages(UPGRADE_76))
    ftd.start_upgrade()
    await lab.clock.advance(400)
    r = await control.post("/api/devices/ftd-1/power", json={"action": "cycle"})
    assert r.status_code == 200 and r.json()["state"] == "boot_os"
    r = await control.post("/api/clock/run", json={"device": "ftd-1", "state": "unusable"})
    assert r.json()["reached"] is True
    assert (await control.get("/api/devices/ftd-1")).json()["state"] == "unusable"
    with pytest.raises(OSError):
        await connect(ssh_port(lab))
    r = await control.post("/api/devices/ftd-1/reimage", json={"version": "7.4.1-172"})
    assert r.status_code == 200
    r = await control.post("/api/clock/run", json={"device": "ftd-1", "state": "online"})
    assert r.json()["reached"] and ftd.version == "7.4.1-172" and ftd.package is None
    async with await connect(ssh_port(lab)) as conn:
        assert "Version 7.4.1" in (await conn.run("show version")).stdout

    # Bad input: clear errors, nothing changes.
    for method, path, body, status in [
        ("POST", "/api/devices/nope/power", {"action": "off"}, 404),
        ("POST", "/api/devices/ftd-1/power", {"action": "explode"}, 400),
        ("POST", "/api/devices/ftd-1/reimage", {"version": "banana"}, 400),
        ("POST", "/api/clock/advance", {"seconds": -5}, 400),
        ("POST", "/api/clock/advance", {"seconds": "soon"}, 400),
        ("POST", "/api/clock/scale", {"scale": 10}, 409),            # virtual lab
        ("POST", "/api/faults", {"point": "nowhere", "action": "fail"}, 400),
        ("POST", "/api/faults", {"point": "reboot", "action": "slow"}, 400),
        ("POST", "/api/faults", {"point": "reboot", "action": "fail", "device": "nope"}, 404),
        ("POST", "/api/faults", {"point": "https.request", "action": "status"}, 400),
        ("GET", "/api/faults/77", None, 404),
        ("DELETE", "/api/faults/x", None, 404),
        ("GET", "/api/events?after=x", None, 400),
        ("GET", "/api/nothing", None, 404),
    ]:
        r = await control.request(method, path, json=body)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"]
    r = await control.post("/api/faults", content=b"{nope")
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    assert ftd.state == "online" and lab.faults.faults == []


async def test_clock_control(lab, control):
    before = (await control.get("/api/clock")).json()
    r = await control.post("/api/clock/advance", json={"seconds": 3600})
    assert r.json()["now"] == pytest.approx(before["now"] + 3600)
    assert (await control.post("/api/clock/pause")).json()["paused"] is True
    assert (await control.post("/api/clock/resume")).json()["paused"] is False
    r = await control.post("/api/clock/run", json={})
    assert r.json()["reached"] is True


async def test_fault_plan_over_the_api_fails_a_stage_and_auto_cancel_restores(lab, control, packages):
    ftd = lab.devices["ftd-1"]
    r = await control.post("/api/faults", json={"point": "upgrade.stage:500_rpms", "action": "fail",
                                                "device": "ftd-1", "message": "rpm database corrupt"})
    assert r.status_code == 201 and r.json()["id"] == 1 and r.json()["fired"] == 0
    await upload(ssh_port(lab), packages(UPGRADE_76))
    ftd.start_upgrade(auto_cancel=True)
    await lab.clock.run_until(lambda: ftd.job_phase == "done" and ftd.state == "online")
    assert ftd.version == "7.4.1-172" and ftd.job.state == "FAILED" and "rpm database corrupt" in ftd.job.detail
    fault = (await control.get("/api/faults/1")).json()
    assert fault["fired"] == 1 and len(fault["fired_at"]) == 1
    events = (await control.get("/api/events", params={"kind": "fault", "device": "ftd-1"})).json()
    assert [e["point"] for e in events["items"] if e["kind"] == "fault"] == ["upgrade.stage:500_rpms"]
    assert (await control.delete("/api/faults/1")).status_code == 200
    assert (await control.get("/api/faults")).json()["items"] == []


async def test_hang_is_cancelled_from_the_cli(lab, packages):
    ftd = lab.devices["ftd-1"]
    lab.add_fault("upgrade.stage:300_os", "hang")
    await upload(ssh_port(lab), packages(UPGRADE_76))
    ftd.start_upgrade()
    await lab.clock.advance(3 * 3600)
    assert ftd.state == "upgrade_install" and ftd.job.script.startswith("300_os")    # stuck
    term = await open_terminal(ssh_port(lab))
    term.proc.stdin.write("upgrade cancel\r")
    out = await term.read_until(r"\n> $|YES|yes", timeout=5)
    if "YES" in out or "yes" in out:
        await term.cmd("YES")
    await term.close()
    await lab.clock.run_until(lambda: ftd.job_phase == "done" and ftd.state == "online")
    assert ftd.job.state == "CANCELLED" and ftd.version == "7.4.1-172"


async def test_triggers_percent_after_probability_and_timed_faults(lab, packages):
    ftd = lab.devices["ftd-1"]
    fault = lab.add_fault("upgrade.stage:*", "power_loss", percent=40)
    await upload(ssh_port(lab), packages(UPGRADE_76))
    ftd.start_upgrade()
    await lab.clock.run_until(lambda: ftd.state == "off")
    assert ftd.job.percent >= 40 and fault.fired == 1
    lab.reimage("ftd-1")
    await lab.clock.run_until(lambda: ftd.state == "online")
    await lab.settle()

    # after: the first two reboots pass, the third hangs in boot.
    lab.add_fault("boot", "hang", after=2)
    for _ in range(2):
        ftd.reboot()
        await lab.clock.run_until(lambda: ftd.state == "online")
    ftd.reboot()
    await lab.clock.advance(3600)
    assert ftd.state == "boot_os"
    lab.power("ftd-1", "cycle")
    await lab.clock.run_until(lambda: ftd.state == "online")

    # at: the power goes out 10 simulated minutes from now; the NTP offset at once.
    start = lab.clock.now() - lab.epoch
    lab.add_fault("power", "power_loss", device="ftd-1", at=start + 600)
    lab.add_fault("clock.ntp", "offset", device="ftd-1", seconds=45)
    await lab.clock.advance(599)
    assert ftd.state == "online" and ftd.clock_offset == 45
    await lab.settle()
    async with await connect(ssh_port(lab)) as conn:
        shown = (await conn.run("show time")).stdout
    assert time.strftime("%H:%M", time.gmtime(lab.clock.now() + 45)) in shown
    await lab.clock.advance(2)
    assert ftd.state == "off"


async def test_transfer_https_and_ssh_faults(lab, packages):
    ftd = lab.devices["ftd-1"]
    port = ssh_port(lab)
    lab.add_fault("package.transfer", "disk_full")
    with pytest.raises(Exception, match="No space left on device"):
        await upload(port, packages(UPGRADE_76))
    assert ftd.package is None
    lab.add_fault("package.transfer", "corrupt")
    await upload(port, packages(UPGRADE_76))
    assert ftd.package.problem == "corrupt"

    url = lab.endpoints()["devices"][0]["https"]["url"] + "/api/versions"
    lab.add_fault("https.request", "status", status=503, times=2)
    lab.add_fault("https.request", "reset", after=0)
    async with httpx.AsyncClient(verify=False) as client:
        assert [(await client.get(url)).status_code for _ in range(2)] == [503, 503]
        with pytest.raises(httpx.TransportError):
            await client.get(url)
        assert (await client.get(url)).status_code == 200

    lab.add_fault("ssh.login", "reset")
    with pytest.raises((OSError, Exception)):
        await connect(port)
    async with await connect(port) as conn:
        assert (await conn.run("show version")).exit_status == 0


def _journal(lab_dir) -> list[dict]:
    lines = (lab_dir / "journal.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "wall_time"} for line in lines]


async def test_same_seed_and_plan_give_the_same_journal(tmp_path, packages):
    package = packages(UPGRADE_76)
    plan = [{"point": "upgrade.stage:*", "action": "slow", "factor": 2.0, "probability": 0.5, "times": None},
            {"point": "upgrade.stage:500_rpms", "action": "fail", "probability": 0.7}]
    for run in ("a", "b"):
        async with Lab("ftd-standalone", state_dir=tmp_path / run, virtual_time=True, seed=11,
                       start_time=1_800_000_000.0) as lab:
            for spec in plan:
                lab.add_fault(**spec)
            await upload(ssh_port(lab), package)
            lab.devices["ftd-1"].start_upgrade(auto_cancel=False)
            await lab.clock.run_until_idle()
    assert _journal(tmp_path / "a") == _journal(tmp_path / "b")
    assert any(e["kind"] == "fault" for e in _journal(tmp_path / "a"))


def test_fault_files_and_profile_faults_are_validated(tmp_path):
    good = tmp_path / "plan.yaml"
    good.write_text(yaml.safe_dump([{"point": "upgrade.stage:300_os", "action": "fail"},
                                    {"point": "https.request", "action": "delay", "seconds": 5}]))
    assert [f.action for f in load_fault_file(good)] == ["fail", "delay"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"faults": [{"point": "reboot", "action": "fail", "when": 5}]}))
    with pytest.raises(ProfileError, match=r"bad.yaml: faults\[0\].when: unknown key"):
        load_fault_file(bad)
    profile = {"lab": "p", "devices": [{"name": "a", "model": "FTDv", "version": "7.4.1-172"}],
               "faults": [{"point": "reboot", "action": "hang", "device": "b"}]}
    with pytest.raises(ProfileError, match="names device 'b'"):
        Lab(profile, state_dir=tmp_path / "s")


async def test_profile_faults_persist_with_what_fired(tmp_path):
    profile = {"lab": "p", "devices": [{"name": "a", "model": "FTDv", "version": "7.4.1-172"}],
               "faults": [{"point": "reboot", "action": "hang", "device": "a"}]}
    async with Lab(profile, state_dir=tmp_path / "s", virtual_time=True) as lab:
        lab.devices["a"].reboot()
        await lab.clock.advance(60)
        assert lab.faults.faults[0].fired == 1
    async with Lab(profile, state_dir=tmp_path / "s", virtual_time=True) as lab:
        assert len(lab.faults.faults) == 1 and lab.faults.faults[0].fired == 1    # not re-added


async def test_control_needs_a_token_off_loopback(tmp_path):
    async with Lab("ftd-standalone", state_dir=tmp_path / "s", virtual_time=True, host="0.0.0.0") as lab:
        token = (tmp_path / "s" / "control.token").read_text().strip()
        url = f"http://127.0.0.1:{lab.control.port}/api/lab"
        async with httpx.AsyncClient() as client:
            r = await client.get(url)
            assert r.status_code == 401 and "control.token" in r.json()["error"]
            r = await client.get(url, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200


async def test_event_stream_delivers_new_events(lab, control):
    async with control.stream("GET", "/api/events/stream", params={"device": "ftd-1"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith(": subscribed")
        lab.power("ftd-1", "off")
        data = []
        async for line in lines:
            if line.startswith("data: "):
                data.append(json.loads(line[6:]))
            if len(data) == 2:
                break
    assert [(e["kind"], e.get("action") or e.get("state")) for e in data] == [("power", "off"), ("state", "off")]


def _cli(*args: str, state: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args, "--lab", state], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


@pytest.mark.clients
def test_cli_from_another_terminal(lab_process, tmp_path, packages):
    state = str(tmp_path / "state")
    endpoints, proc = lab_process("ftd-standalone", state_dir=tmp_path / "state")
    follower = subprocess.Popen([sys.executable, "-m", "simulator", "events", "--follow", "--last", "3",
                                 "--lab", state], stdout=subprocess.PIPE, cwd=ROOT)
    os.set_blocking(follower.stdout.fileno(), False)
    seen = ""

    def follow(until: str) -> str:
        nonlocal seen
        deadline = time.monotonic() + 15
        while until not in seen and time.monotonic() < deadline:
            seen += (follower.stdout.read() or b"").decode()
            time.sleep(0.05)
        return seen

    try:
        assert "lab.started" in follow("lab.started")          # the follower is attached
        out = _cli("fault", "add", "upgrade.stage:300_os", "fail", "--device", "ftd-1", state=state)
        assert out.returncode == 0 and "added fault 1" in out.stdout, out.stderr
        out = _cli("fault", "add", "reboot", "teleport", state=state)
        assert out.returncode == 1 and "does not apply at reboot" in out.stderr
        out = _cli("clock", "advance", "2h", state=state)
        assert out.returncode == 0 and "simulated time" in out.stdout, out.stderr
        out = _cli("power", "cycle", "ftd-1", state=state)
        assert out.returncode == 0 and "ftd-1: boot_os" in out.stdout
        out = _cli("status", state=state)
        assert "ftd-1" in out.stdout and "upgrade.stage:300_os" in out.stdout
        out = _cli("fault", "rm", "1", state=state)
        assert "removed fault 1" in out.stdout
        follow("fault.removed")
        assert "fault.added" in seen and "fault.removed" in seen and "power" in seen
    finally:
        follower.kill()
        follower.wait()


@pytest.mark.clients
def test_kill_9_mid_upgrade_then_up_again(lab_process, tmp_path):
    state = tmp_path / "state"
    endpoints, proc = lab_process("ftd-standalone", "--time-scale", "50", state_dir=state)
    https = endpoints["devices"][0]["https"]
    package = make_package(UPGRADE_76, tmp_path)
    with fdm_client(https) as api:
        fdm_upgrade(api, package)
        time.sleep(2)       # about 100 simulated seconds: the job runs its early stages
        assert api.get("/operational/upgradestatus").json()["state"] == "IN_PROGRESS"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = (state / "journal.jsonl").read_text().splitlines()
    assert all(json.loads(line)["kind"] for line in lines)          # every line whole
    snapshot = json.loads((state / "devices" / "ftd-1.json").read_text())
    assert snapshot["job"]["state"] == "IN_PROGRESS" and snapshot["package"]["filename"] == UPGRADE_76

    endpoints, proc = lab_process("ftd-standalone", state_dir=state)     # virtual time: runs to the end
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        snapshot = json.loads((state / "devices" / "ftd-1.json").read_text())
        if snapshot["job"]["state"] != "IN_PROGRESS" and snapshot["state"] == "online":
            break
        time.sleep(0.2)
    assert snapshot["version"] == "7.6.0-113" and snapshot["job"]["state"] == "COMPLETED", snapshot["state"]
    kinds = [json.loads(line)["kind"] for line in (state / "journal.jsonl").read_text().splitlines()]
    assert kinds.count("lab.started") == 2 and "upgrade.finished" in kinds

"""`simulator serve`: labs created, listed, used and deleted over HTTP; each
lab's control API under /labs/{id}/; refusals that leave nothing behind;
isolation between labs; TTL expiry; descriptors back to their baseline."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import aiohttp
import httpx
import psutil
from aiohttp import web

from simulator.facts import read_yaml
from simulator.server.app import LabServer
from simulator.server.hosting import Hosted, LabHost
from simulator.sockets import PortRange, default_range
from tests.conftest import ROOT, open_terminal
from tests.server.conftest import Served

INLINE = "lab: mini\ndevices:\n  - {name: fw, model: FPR-1120, version: 7.2.5-208}\n"


def create(served: Served, **body) -> dict:
    with served.client() as api:
        r = api.post("/labs", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def ports_of(lab: dict) -> set[int]:
    """Every port a lab's endpoints name (SSH, HTTPS, consoles, probes, its own control API)."""
    text = json.dumps(lab["endpoints"])
    found = re.findall(r'"port": (\d+)', text) + re.findall(r'"url": "https?://[^"/]+:(\d+)"', text)
    return {int(port) for port in found}


def fds(served: Served) -> int:
    """The server's open descriptors once steady (a client's closed connection closes on the server soon after)."""
    process = psutil.Process(served.proc.pid)
    last, deadline = -1, time.monotonic() + 5
    while (count := process.num_fds()) != last and time.monotonic() < deadline:
        last = count
        time.sleep(0.2)
    return count


def free_window(size: int) -> list[socket.socket]:
    """`size` consecutive ports bound (not listening), found above the kernel's ephemeral range,
    where no client's outgoing connection and no lab of the default range's first span lands."""
    low = default_range().spans[-1][0]
    for first in range(low, 65536 - size, size):
        held: list[socket.socket] = []
        try:
            for port in range(first, first + size):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return held
        except OSError:
            for sock in held:
                sock.close()
    raise RuntimeError(f"no {size} consecutive free ports above {low}")


def test_server_routes_and_openapi_description_agree(tmp_path):
    server = LabServer(LabHost(tmp_path, "127.0.0.1", PortRange([(40000, 40010)])), "127.0.0.1")
    served = {(r.method, r.resource.canonical) for r in server.runner.app.router.routes()
              if r.method != "HEAD" and not r.resource.canonical.startswith("/ui")}     # the dashboard's pages
    spec = read_yaml("server/openapi.yaml")
    described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    assert served - {("*", "/labs/{id}/{tail}")} == described


def test_create_list_get_and_delete_labs(served):
    ha = create(served, profile="ftd-ha", virtual_time=True, seed=3, name="trainee-1")
    mini = create(served, profile=INLINE, time_scale=100)
    assert ha["name"] == "trainee-1" and ha["profile"] == "ftd-ha" and ha["clock"]["mode"] == "virtual"
    assert mini["profile"] == "inline" and mini["clock"] == {**mini["clock"], "mode": "scaled", "scale": 100.0}
    assert ha["control_url"] == f"{served.url}/labs/{ha['id']}"
    assert [d["name"] for d in ha["endpoints"]["devices"]] == ["ftd-a", "ftd-b"]
    assert ports_of(ha).isdisjoint(ports_of(mini))
    with served.client() as api:
        page = api.get("/labs", params={"limit": 1}).json()
        assert (page["total"], page["next"], len(page["items"])) == (2, 1, 1)
        assert {lab["id"] for lab in api.get("/labs").json()["items"]} == {ha["id"], mini["id"]}
        assert api.get(f"/labs/{ha['id']}").json()["endpoints"]["control"]["url"] == ha["control_url"]
        lab = api.get(f"/labs/{ha['id']}/api/lab").json()
        assert lab["lab"] == "trainee-1" and lab["seed"] == 3
        assert served.lab_dirs() == sorted([ha["id"], mini["id"]])

        r = api.delete(f"/labs/{ha['id']}", params={"keep_state": "true"})
        assert r.status_code == 200 and r.json()["deleted"] is True
        assert (served.state_dir / "labs" / ha["id"] / "journal.jsonl").exists()
        assert "lab.stopped" in (served.state_dir / "labs" / ha["id"] / "journal.jsonl").read_text()
        assert api.get(f"/labs/{ha['id']}").status_code == 404
        assert api.get(f"/labs/{ha['id']}/api/lab").json() == {"error": f"no lab '{ha['id']}' on this server"}
        assert api.delete(f"/labs/{mini['id']}").status_code == 200
        assert served.lab_dirs() == [ha["id"]]           # kept by request; the other's state went with it
        assert api.get("/labs").json()["total"] == 0
    # the deleted labs' ports are free again
    for port in ports_of(ha) | ports_of(mini):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as a server binds
            assert sock.connect_ex(("127.0.0.1", port)) != 0, port


def test_refusals_leave_nothing_behind(serve):
    served = serve("--max-labs", "2")
    with served.client() as api:
        first = create(served, profile="ftd-standalone", virtual_time=True)
        api.get("/labs")
        baseline = fds(served)
        for body, status, said in [
            ({"profile": "ftd-nope"}, 400, "ftd-nope: no such profile (bundled profiles: "),
            ({"profile": "lab: x\ndevices: [\n"}, 400, "<profile>:"),
            ({"profile": INLINE.replace("FPR-1120", "FPR-9999")}, 400, "<profile>: devices[0].model: expected one of"),
            ({"profile": INLINE.replace("}", ", ssh_port: 40022}")}, 400, "remove fw.ssh_port 40022"),
            ({"profile": INLINE.replace("}", ", import_dir: /etc}").replace("FPR-1120", "ASAv").replace(
                "7.2.5-208", "9.19(1)").replace("{name", "{kind: asa, name")}, 400, "remove fw.import_dir"),
            ({"profile": "ssh_authorized_keys: /etc/passwd\n" + INLINE}, 400, "not a path"),
            ({"profile": "ftd-ha", "colour": "red"}, 400, "unknown field(s) colour"),
            ({"profile": "ftd-ha", "virtual_time": True, "time_scale": 5}, 400, "not both"),
            ({"profile": "ftd-ha", "ttl": -1}, 400, "`ttl` must be"),
        ]:
            r = api.post("/labs", json=body)
            assert r.status_code == status and said in r.json()["error"], (body, r.text)
        assert fds(served) == baseline and served.lab_dirs() == [first["id"]]
        create(served, profile=INLINE)
        baseline = fds(served)
        r = api.post("/labs", json={"profile": "ftd-ha"})
        assert r.status_code == 429 and "--max-labs" in r.json()["error"]
        assert api.get("/labs").json()["total"] == 2 and len(served.lab_dirs()) == 2 and fds(served) == baseline
        api.delete(f"/labs/{first['id']}")
        assert create(served, profile="ftd-ha")["name"] == "ftd-ha"     # room again


def test_descriptor_budget_is_507_and_a_failed_start_is_cleaned_up(serve, tmp_path):
    # A process allowed 400 descriptors: 256 kept for itself and its clients, then about 26 per FTD HA lab.
    served = serve(nofile=400)
    with served.client() as api:
        create(served, profile="ftd-ha")
        api.get("/labs")            # this client's connection open before counting
        baseline, dirs = fds(served), served.lab_dirs()
        big = "lab: big\ndevices:\n  - {name: 'fw-{n}', model: FTDv, version: 7.4.1-172, count: 40}\n"
        r = api.post("/labs", json={"profile": big})
        assert r.status_code == 507
        assert re.match(r"lab big needs about 2\d\d file descriptors and the server has \d+ of its 400 "
                        r"\(ulimit -n\) left beside its 1 labs", r.json()["error"])
        assert served.lab_dirs() == dirs and fds(served) == baseline

    # A lab whose start fails midway (its port range ran out) gives back every port it took.
    window = free_window(20)        # the server takes the first, a lab of ftd-ha ten more
    first, last = window[0].getsockname()[1], window[-1].getsockname()[1]
    for sock in window[:1] + window[16:]:
        sock.close()
    held = window[1:16]
    small = serve("--ports", f"{first}-{last}")
    with small.client() as api:
        api.get("/labs")
        before = fds(small)
        r = api.post("/labs", json={"profile": "ftd-ha"})
        assert r.status_code == 507 and "did not start: " in r.json()["error"]
        assert f"no free port left in the range {first}-{last}" in r.json()["error"]
        assert small.lab_dirs() == [] and api.get("/labs").json()["total"] == 0 and fds(small) == before
        for sock in held:
            sock.close()
        lab = create(small, profile="ftd-ha")      # the same ports, free now
        assert ports_of(lab) <= set(range(first, last + 1))


def test_labs_are_isolated(served):
    a = create(served, profile="ftd-ha", virtual_time=True)
    b = create(served, profile="ftd-ha", virtual_time=True)
    with served.client() as api:
        A, B = f"/labs/{a['id']}", f"/labs/{b['id']}"
        before = api.get(f"{B}/api/clock").json()
        assert api.post(f"{A}/api/faults", json={"point": "upgrade.stage:*", "action": "fail"}).status_code == 201
        api.post(f"{A}/api/clock/pause")
        api.post(f"{A}/api/clock/advance", json={"seconds": 86400})
        api.post(f"{A}/api/devices/ftd-a/power", json={"action": "off"})
        assert api.get(f"{A}/api/clock").json()["since_start"] >= 86400
        assert api.get(f"{B}/api/faults").json()["total"] == 0
        after = api.get(f"{B}/api/clock").json()
        assert after["paused"] is False and after["since_start"] - before["since_start"] < 3600
        assert api.get(f"{B}/api/devices/ftd-a").json()["state"] == "online"
        assert [e for e in api.get(f"{B}/api/events", params={"kind": "fault"}).json()["items"]] == []
        assert api.get(f"{A}/api/devices/ftd-a").json()["state"] == "off"


async def test_status_cli_and_ssh_against_a_served_lab(served):
    lab = create(served, profile="ftd-standalone", virtual_time=True)
    url = lab["control_url"]

    def cli(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "simulator", *args, "--url", url], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    assert re.search(r"ftd-1\s+FTDv\s+7\.4\.1-172\s+online", cli("status"))
    cli("fault", "add", "upgrade.stage:300_os", "fail", "--device", "ftd-1")
    assert "upgrade.stage:300_os" in cli("fault", "ls")
    cli("power", "cycle", "ftd-1")
    assert "fault.added" in cli("events", "--last", "50")

    with served.client() as api:
        r = api.post(f"/labs/{lab['id']}/api/clock/run", json={"device": "ftd-1", "state": "online"})
        assert r.json()["reached"] is True
    term = await open_terminal(lab["endpoints"]["devices"][0]["ssh"]["port"])
    try:
        assert "Cisco Firepower Threat Defense for VMware" in await term.cmd("show version")
    finally:
        await term.close()


def test_event_stream_through_the_server_keeps_its_lab_alive(served):
    lab = create(served, profile="ftd-standalone", virtual_time=True, ttl=1.5)
    with served.client() as api, api.stream("GET", f"/labs/{lab['id']}/api/events/stream",
                                             params={"kind": "power"}) as stream:
        lines = stream.iter_lines()
        assert next(lines) == ": subscribed"
        time.sleep(3.5)         # past two TTLs of wall time (the server looks every 0.2 s): the open stream is a use
        with served.client() as other:
            other.post(f"/labs/{lab['id']}/api/devices/ftd-1/power", json={"action": "off"})
            data = next(line for line in lines if line.startswith("data: "))
            assert json.loads(data[6:])["device"] == "ftd-1"
            assert other.delete(f"/labs/{lab['id']}").status_code == 200
        assert [line for line in lines if line.startswith("data: ")] == []     # the stream ends with its lab


def test_idle_labs_expire_and_used_ones_stay(served):
    idle = create(served, profile=INLINE, ttl=0.6)
    used = create(served, profile=INLINE, ttl=2)
    with served.client() as api:
        started = time.monotonic()
        while idle["id"] in (ids := {lab["id"] for lab in api.get("/labs").json()["items"]}) \
                or time.monotonic() - started < 5:          # a list renews none; run past two of the used one's TTLs
            assert time.monotonic() - started < 30, "the idle lab did not expire"
            assert used["id"] in ids
            api.get(f"/labs/{used['id']}/api/clock")      # a request to a lab renews it
            time.sleep(0.1)
    assert served.lab_dirs() == [used["id"]]


def test_descriptors_return_to_baseline_after_labs_are_deleted(served):
    with served.client() as api:
        api.get("/labs")
        baseline = fds(served)
        labs = [create(served, profile="ftd-ha", virtual_time=True) for _ in range(5)]
        assert fds(served) >= baseline + 5 * 10      # ten listeners each at least
        for lab in labs:
            assert api.delete(f"/labs/{lab['id']}").status_code == 200
        assert fds(served) == baseline


async def test_a_served_lab_asks_for_the_servers_token(tmp_path):
    server = LabServer(LabHost(tmp_path, "127.0.0.1", PortRange([(41000, 41099)]), token="s3cret"), "127.0.0.1")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as api:
            assert (await api.get("/labs")).status_code == 401
            auth = {"Authorization": "Bearer s3cret"}
            r = await api.post("/labs", json={"profile": INLINE}, headers=auth)
            assert r.status_code == 201
            lab = r.json()["id"]
            assert (await api.get(f"/labs/{lab}/api/clock")).status_code == 401
            assert (await api.get(f"/labs/{lab}/api/clock", headers=auth)).status_code == 200
            assert (tmp_path / "labs" / lab / "control.token").read_text().strip() == "s3cret"
            # a browser: the dashboard of the lab with ?token= once, then its cookie
            r = await api.get(f"/labs/{lab}/ui/", params={"token": "s3cret"})
            assert r.status_code == 303 and r.headers["location"] == "./"
            r = await api.get(f"/labs/{lab}/ui/")
            assert r.status_code == 200 and "mini" in r.text
            api.cookies.clear()
            assert (await api.get(f"/labs/{lab}/ui/")).status_code == 401
            r = await api.delete(f"/labs/{lab}", params={"keep_state": "yes"}, headers=auth)
            assert r.status_code == 400 and "keep_state" in r.json()["error"]
    finally:
        await server.stop()
    assert not (tmp_path / "labs" / lab / "control.json").exists()      # stopped, its state kept


async def test_dispatch_carries_websockets_query_and_encoded_paths(tmp_path):
    """What a lab's control application adds later (the dashboard's WebSocket console) reaches it unchanged."""
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(f"{request.path}?{request.query_string}: {message.data}")
        return ws

    async def path(request: web.Request) -> web.Response:
        return web.json_response({"path": request.path, "name": request.match_info["name"], "q": dict(request.query)})

    inner = web.Application()
    inner.router.add_get("/ws", echo)
    inner.router.add_get("/api/devices/{name}", path)
    inner.freeze()
    host = LabHost(tmp_path, "127.0.0.1", PortRange([(41100, 41199)]))
    server = LabServer(host, "127.0.0.1")
    host.labs["fake"] = Hosted("fake", SimpleNamespace(control=SimpleNamespace(app=inner)), "inline", 60, 0, 0)
    await server.start()
    try:
        async with aiohttp.ClientSession(server.url) as session:
            async with session.ws_connect("/labs/fake/ws?line=1") as ws:
                await ws.send_str("hello")
                assert (await ws.receive_str()) == "/ws?line=1: hello"
            async with session.get("/labs/fake/api/devices/edge%2F1?x=a%20b") as r:
                assert await r.json() == {"path": "/api/devices/edge/1", "name": "edge/1", "q": {"x": "a b"}}
    finally:
        del host.labs["fake"]
        await server.stop()


def test_snapshots_of_a_served_lab_under_labs_id_snapshots(served):
    lab = create(served, profile="ftd-standalone", virtual_time=True)
    with served.client() as api:
        base = f"/labs/{lab['id']}"
        api.post(f"{base}/api/clock/pause")
        saved = api.post(f"{base}/snapshots", json={"name": "fresh"})
        assert saved.status_code == 201, saved.text
        at = api.get(f"{base}/api/clock").json()["now"]
        api.post(f"{base}/api/clock/advance", json={"seconds": 3600})
        api.post(f"{base}/api/devices/ftd-1/power", json={"action": "off"})
        assert [s["name"] for s in api.get(f"{base}/snapshots").json()["items"]] == ["fresh"]
        r = api.post(f"{base}/snapshots/{saved.json()['id']}/restore")
        assert r.status_code == 200, r.text
        assert api.get(f"{base}/api/clock").json()["now"] == at
        assert api.get(f"{base}/api/devices/ftd-1").json()["state"] == "online"
        assert api.post(f"{base}/snapshots/nope/restore").status_code == 404


def test_an_exercise_lab_and_its_grade(served):
    lab = create(served, exercise="ftd-ha-upgrade", virtual_time=True)
    plain = create(served, profile=INLINE)
    assert (lab["exercise"], lab["profile"], plain["exercise"]) == ("ftd-ha-upgrade", "exercise ftd-ha-upgrade", None)
    with served.client() as api:
        grade = api.get(f"/labs/{lab['id']}/grade").json()
        assert grade["exercise"] == "ftd-ha-upgrade" and grade["passed"] is False and grade["checks"]
        assert api.get(f"/labs/{lab['id']}/api/exercise").json()["name"] == "ftd-ha-upgrade"
        assert api.get(f"/labs/{plain['id']}/grade").status_code == 404
        for body, said in [({"exercise": "nope"}, "nope: no such exercise (bundled exercises: "),
                           ({"exercise": "/etc/passwd"}, "no such exercise"),
                           ({"exercise": "ftd-ha-upgrade", "profile": "ftd-ha"}, "or `exercise`")]:
            r = api.post("/labs", json=body)
            assert r.status_code == 400 and said in r.json()["error"], r.text
    assert (served.state_dir / "labs" / lab["id"] / "exercise.yaml").exists()

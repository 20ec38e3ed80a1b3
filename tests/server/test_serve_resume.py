"""A lab server stopped (SIGTERM) and started again on the same state directory
resumes its labs: same ids and names, their devices, faults, clock, journal
and snapshots, their ports asked back; deleted labs stay gone, and a lab that
cannot come back is named in the log while the server serves the others."""

from __future__ import annotations

import json
import re
import socket

from simulator.sockets import PortRange, Remembered
from tests.conftest import end_lab
from tests.server.conftest import Served
from tests.server.test_serve import INLINE, create, free_window


def ports_in_order(lab: dict) -> list[int]:
    """Every port a lab's endpoints name, in the endpoints' order (each device's SSH, HTTPS, console...)."""
    return [int(port) for port in re.findall(r'"port": (\d+)|"url": "https?://[^"/]+:(\d+)"',
                                               json.dumps(lab["endpoints"])) for port in port if port]


def ports_window(size: int = 200) -> str:
    """A range of ports free now, away from where other programs' labs walk the default range."""
    held = free_window(size)
    first, last = held[0].getsockname()[1], held[-1].getsockname()[1]
    for sock in held:
        sock.close()
    return f"{first}-{last}"


def restart(serve, served: Served, *extra: str) -> Served:
    end_lab(served.proc)
    assert served.proc.returncode == 0, served.log.read_text()
    return serve(*extra, state_dir=served.state_dir)


def test_a_restarted_server_resumes_its_labs(serve):
    window = ports_window()
    served = serve("--ports", window)
    ha = create(served, profile="ftd-ha", virtual_time=True, name="trainee-1")
    drill = create(served, exercise="ftd-ha-upgrade", virtual_time=True)
    gone = create(served, profile=INLINE)
    with served.client() as api:
        A, E = f"/labs/{ha['id']}", f"/labs/{drill['id']}"
        api.post(f"{A}/api/clock/pause")
        fresh = api.post(f"{A}/snapshots", json={"name": "fresh"}).json()
        fresh_at = api.get(f"{A}/api/clock").json()["now"]
        assert api.post(f"{A}/api/devices/ftd-b/power", json={"action": "off"}).status_code == 200
        assert api.post(f"{A}/api/faults", json={"point": "upgrade.stage:*", "action": "fail"}).status_code == 201
        api.post(f"{A}/api/clock/advance", json={"seconds": 7200})
        clock = api.get(f"{A}/api/clock").json()
        api.post(f"{E}/api/clock/pause")
        api.post(f"{E}/api/devices/ftd-a/power", json={"action": "off"})     # the active unit: traffic lost
        api.post(f"{E}/api/clock/advance", json={"seconds": 600})
        graded = api.get(f"{E}/grade").json()
        assert api.delete(f"/labs/{gone['id']}", params={"keep_state": "true"}).status_code == 200
        before = {lab["id"]: ports_in_order(api.get(f"/labs/{lab['id']}").json()) for lab in (ha, drill)}

    again = restart(serve, served, "--ports", window)
    log = again.log.read_text()
    assert f"resumed lab {ha['id']} (trainee-1): 2 devices" in log, log
    assert f"resumed lab {drill['id']} (ftd-ha): 2 devices" in log, log
    assert gone["id"] not in log and (again.state_dir / "labs" / gone["id"] / "profile.yaml").exists()
    with again.client() as api:
        listed = {lab["id"]: lab for lab in api.get("/labs").json()["items"]}
        assert {i: (lab["name"], lab["exercise"]) for i, lab in listed.items()} == \
            {ha["id"]: ("trainee-1", None), drill["id"]: ("ftd-ha", "ftd-ha-upgrade")}
        for lab in (ha, drill):
            detail = api.get(f"/labs/{lab['id']}").json()
            assert ports_in_order(detail) == before[lab["id"]]     # each its own port again: none was taken meanwhile
            assert detail["created"] == lab["created"] and detail["ttl"] == lab["ttl"]
        assert api.get(f"{A}/api/devices/ftd-b").json()["state"] == "off"
        assert api.get(f"{A}/api/devices/ftd-a").json()["state"] == "online"
        faults = api.get(f"{A}/api/faults").json()["items"]
        assert [(f["point"], f["action"]) for f in faults] == [("upgrade.stage:*", "fail")]
        assert api.get(f"{A}/api/clock").json()["now"] >= clock["now"]
        assert [s["name"] for s in api.get(f"{A}/snapshots").json()["items"]] == ["fresh"]
        api.post(f"{A}/api/clock/pause")
        r = api.post(f"{A}/snapshots/{fresh['id']}/restore")
        assert r.status_code == 200, r.text
        assert api.get(f"{A}/api/clock").json()["now"] == fresh_at
        assert api.get(f"{A}/api/devices/ftd-b").json()["state"] != "off"
        grade = api.get(f"{E}/grade").json()
        assert grade["exercise"] == "ftd-ha-upgrade" and grade["elapsed"] >= graded["elapsed"] >= 600
        lost = {c["name"]: c for c in grade["checks"]}["no-traffic-lost"]     # the outage before the stop
        assert lost["passed"] is False and "after T+00:00 ftd-a power action=off" in lost["evidence"][1], lost
        assert api.get(f"{E}/api/exercise").json()["name"] == "ftd-ha-upgrade"
        assert api.delete(f"/labs/{ha['id']}").status_code == 200    # deleted now: not resumed by the next one
    third = restart(serve, again)
    log = third.log.read_text()
    assert ha["id"] not in log and f"resumed lab {drill['id']}" in log, log


def test_a_lab_that_cannot_come_back_is_reported_and_the_others_served(serve):
    window = ports_window()
    served = serve("--ports", window)
    kept, damaged, extra, garbled = (create(served, profile=INLINE, name=f"lab-{n}") for n in range(4))
    end_lab(served.proc)
    (served.state_dir / "labs" / damaged["id"] / "profile.yaml").unlink()
    record = served.state_dir / "labs" / garbled["id"] / "hosted.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "virtual_time": "yes", "ports": None}))
    ssh = kept["endpoints"]["devices"][0]["ssh"]["port"]
    with socket.socket() as taken:         # another program took the kept lab's SSH port meanwhile
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # past its TIME_WAIT, if any
        taken.bind(("127.0.0.1", ssh))
        taken.listen()
        again = serve("--ports", window, "--max-labs", "1", state_dir=served.state_dir)
    log = again.log.read_text()
    assert f"resumed lab {kept['id']} (lab-0): 1 device; 1 of its ports changed (taken meanwhile)" in log, log
    assert f"lab {damaged['id']} (lab-1) not resumed: " in log and "profile.yaml: no such file" in log, log
    assert f"lab {extra['id']} (lab-2) not resumed: the server hosts 1 labs already (--max-labs)" in log, log
    assert f"lab {garbled['id']} (lab-3) not resumed: hosted.json is damaged: ports, virtual_time" in log, log
    with again.client() as api:
        assert [lab["id"] for lab in api.get("/labs").json()["items"]] == [kept["id"]]
        assert api.get(f"/labs/{kept['id']}/api/devices/fw").json()["state"] == "online"
        now = api.get(f"/labs/{kept['id']}").json()["endpoints"]["devices"][0]["ssh"]["port"]
        assert now != ssh and ports_in_order(api.get(f"/labs/{kept['id']}").json())[1:] == \
            ports_in_order(kept)[1:]
    for lab in (damaged, extra, garbled):        # left on disk, unmarked: the next server does not try again
        hosted = json.loads((again.state_dir / "labs" / lab["id"] / "hosted.json").read_text())
        assert hosted["resume"] is False


def test_a_port_taken_meanwhile_is_replaced_past_those_other_labs_want_back():
    held = free_window(6)
    first = held[0].getsockname()[1]
    for sock in held[1:]:
        sock.close()
    shared = PortRange([(first, first + 5)])
    drawn = Remembered(shared, {"tcp": [first, first + 4], "udp": [first + 5]}, avoid={first + 1, first + 2})
    socks = [drawn.bind("127.0.0.1"), drawn.bind("127.0.0.1"), drawn.bind_udp("127.0.0.1")]
    try:        # the first wanted is another program's: the walk passes it and the two another lab wants
        assert drawn.taken == {"tcp": [first + 3, first + 4], "udp": [first + 5]}
        assert [s.getsockname()[1] for s in socks] == [first + 3, first + 4, first + 5]
    finally:
        for sock in [*socks, held[0]]:
            getattr(sock, "release", sock.close)()

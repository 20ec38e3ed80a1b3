"""The lab server's dashboard pages over plain HTTP: the server's token rule
(?token= once, then a cookie good for every lab's pages too), what the labs
list, a lab's page and a lab's own exercise and controls pages show, relative
links only, the device's own errors for what is not there."""

from __future__ import annotations

import httpx

from simulator.server.app import LabServer
from simulator.server.hosting import LabHost
from simulator.sockets import PortRange
from tests.server.test_serve import INLINE
from tests.ui.test_pages import absolute_links

AUTH = {"Authorization": "Bearer s3cret"}


async def test_server_pages_follow_the_token_rule_and_show_labs_snapshots_and_grades(tmp_path):
    server = LabServer(LabHost(tmp_path, "127.0.0.1", PortRange([(41100, 41199)]), token="s3cret"), "127.0.0.1")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
            assert (await api.get("/ui/")).status_code == 401
            r = await api.get("/ui/", params={"token": "s3cret"})
            assert r.status_code == 303 and r.headers["location"] == "./"
            assert "Path=/;" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
            html = (await api.get("/ui/")).text
            assert "no labs: create one below" in html and absolute_links(html) == []
            assert '<option value="ftd-ha">' in html and '<option value="ftd-ha-upgrade">' in html
            assert (await api.get("/ui", follow_redirects=False)).headers["location"] == "ui/"

            drill = (await api.post("/labs", json={"exercise": "ftd-ha-upgrade", "name": "t-1"}, headers=AUTH)).json()
            plain = (await api.post("/labs", json={"profile": INLINE, "time_scale": 10}, headers=AUTH)).json()
            await api.post(f"/labs/{plain['id']}/snapshots", json={"name": "clean"}, headers=AUTH)
            html = (await api.get("/ui/")).text
            assert f'<a href="lab?id={drill["id"]}">t-1</a>' in html and "exercise ftd-ha-upgrade" in html
            assert f'href="../labs/{plain["id"]}/ui/"' in html and "scaled ×10.0" in html

            # A lab's page on the server: the exercise's goal and grade, its snapshots; the cookie opens the
            # lab's own dashboard too.
            html = (await api.get("/ui/lab", params={"id": drill["id"]})).text
            assert "Upgrade an FTD HA pair to 7.6.0" in html and 'data-f="grade">FAIL<' in html
            assert 'data-check="both-upgraded" data-passed="false"' in html and absolute_links(html) == []
            assert f'data-snapshots="../labs/{drill["id"]}/api/"' in html and "no snapshots yet" in html
            html = (await api.get("/ui/lab", params={"id": plain["id"]})).text
            assert 'id="grade"' not in html and "<td>clean</td>" in html
            r = await api.get("/ui/lab", params={"id": "nope"})
            assert r.status_code == 404 and r.json() == {"error": "no lab 'nope' on this server"}

            html = (await api.get(f"/labs/{drill['id']}/ui/")).text
            assert 'id="goal"' in html and 'href="./exercise"' in html
            html = (await api.get(f"/labs/{drill['id']}/ui/exercise")).text
            assert 'data-check="in-time" data-passed="false"' in html and "no upgrade.finished" in html
            assert absolute_links(html) == []
            r = await api.get(f"/labs/{plain['id']}/ui/exercise")
            assert r.status_code == 404 and "not an exercise" in r.json()["error"]
            html = (await api.get(f"/labs/{plain['id']}/ui/controls")).text
            assert 'data-snapshots="../api/"' in html and "<td>clean</td>" in html and 'href="./exercise"' not in html
            assert absolute_links(html) == []
    finally:
        await server.stop()


async def test_the_labs_list_shows_every_kinds_devices_with_version_state_and_role(tmp_path):
    """What an instructor follows across trainees' labs: each device's version, state (coloured),
    HA role (per failover group on an Active/Active ASA), a running job, the lab's traffic lost."""
    server = LabServer(LabHost(tmp_path, "127.0.0.1", PortRange([(41200, 41499)])), "127.0.0.1")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as api:
            labs = {}
            for profile in ("asa-active-active", "sps-ha", "fmc-managed", "fdm-failed-upgrade"):
                source = "exercise" if profile == "fdm-failed-upgrade" else "profile"
                r = await api.post("/labs", json={source: profile, "virtual_time": True})
                assert r.status_code == 201, r.text
                labs[profile] = r.json()["id"]
            asa = f"/labs/{labs['asa-active-active']}/api/devices/asa-b"
            assert (await api.post(f"{asa}/power", json={"action": "cycle"})).status_code == 200
            html = (await api.get("/ui/")).text
            # A seeded mistake: the failed device reimaged; the list grades the lab again.
            ftd = f"/labs/{labs['fdm-failed-upgrade']}/api/devices/ftd-1"
            assert (await api.post(f"{ftd}/reimage", json={})).status_code == 200
            again = (await api.get("/ui/")).text
    finally:
        await server.stop()
    rows = {profile: html.split(f'<tr data-lab="{lab_id}">')[1].split("</tr>")[0] for profile, lab_id in labs.items()}
    asa = rows["asa-active-active"]         # asa-b, active for group 2, power-cycled: traffic lost
    assert 'data-f="role">g1 Active, g2 Standby Ready<' in asa and '<span class="state busy">booting<' in asa
    assert 'data-f="lost">0.0 s<' not in asa and 'data-f="lost">' in asa
    assert 'data-unit="sps-a">sps-a 6.0.3' in rows["sps-ha"] and 'data-f="role">master<' in rows["sps-ha"]
    assert 'data-unit="fmc">fmc 7.6.0-113' in rows["fmc-managed"]
    assert 'data-unit="chassis-a">chassis-a 2.14(1.131)' in rows["fmc-managed"]
    failed = rows["fdm-failed-upgrade"]
    assert '<span class="state bad">upgrade_failed</span>' in failed and 'data-f="job">upgrade' in failed
    assert 'data-f="grade"><span class="state bad">2/5 checks<' in failed     # nothing reimaged or rebooted yet
    assert 'data-f="grade"><span class="state bad">1/5 checks<' in again      # no-reimage fails now

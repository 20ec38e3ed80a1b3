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

"""The dashboard's pages over plain HTTP: what they show, relative links only,
escaping of names a profile gives, the console over its WebSocket, the token."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import httpx
import pytest

from simulator.lab import Lab


@pytest.fixture
async def ha_lab(tmp_path):
    async with Lab("ftd-ha", state_dir=tmp_path / "state", virtual_time=True, seed=3) as running:
        await running.clock.run_until_idle()
        yield running


async def get(lab: Lab, path: str, **options) -> httpx.Response:
    async with httpx.AsyncClient(base_url=lab.control.url, timeout=10) as client:
        return await client.get(path, **options)


def absolute_links(html: str) -> list[str]:
    """Links, sources and fetches that would escape a lab server's /labs/{id}/ prefix."""
    return re.findall(r'(?:href|src|action)="(/[^"]*)"', html) + re.findall(r'fetch\("(/[^"]*)"', html)


async def test_lab_page_shows_the_pair_with_its_active_unit(ha_lab):
    r = await get(ha_lab, "/ui/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    pair = re.search(r'<section class="group pair" data-pair="ftd-ha">(.*?)</section>', html, re.S).group(1)
    assert 'class="card active" data-device="ftd-a"' in pair and 'class="card" data-device="ftd-b"' in pair
    assert "primary - Active" in pair and "secondary - Standby Ready" in pair
    assert re.search(r'class="state ok" data-f="pair-state">healthy<', pair)
    assert 'href="device?name=ftd-a"' in pair and 'data-monitor="ftd-ha"' in pair
    assert absolute_links(html) == []
    assert (await get(ha_lab, "/ui", follow_redirects=False)).headers["location"] == "ui/"


async def test_device_traffic_and_controls_pages(ha_lab):
    ha_lab.power("ftd-b", "off")
    await ha_lab.clock.advance(60)
    ha_lab.power("ftd-a", "off")            # no unit left: an outage on the traffic page, and its cause
    await ha_lab.clock.advance(60)
    device = (await get(ha_lab, "/ui/device", params={"name": "ftd-b"})).text
    assert "FTDv" in device and 'data-f="state">off<' in device
    assert f"ssh -p {ha_lab.ssh.endpoints['ftd-b'].port} admin@127.0.0.1" in device
    assert f"telnet 127.0.0.1 {ha_lab.console.endpoints['ftd-b'].port}" in device
    assert 'data-console="console?name=ftd-b"' in device and 'src="static/xterm/xterm.js"' in device
    for action in ("on", "off", "cycle"):
        assert f'data-power="{action}"' in device
    traffic = (await get(ha_lab, "/ui/traffic")).text
    plot = re.search(r'<section class="plot" id="ftd-ha".*?</section>', traffic, re.S).group(0)
    assert "<svg" in plot and 'class="outage' in plot and "ftd-a power off" in plot
    controls = (await get(ha_lab, "/ui/controls")).text
    assert '<option value="upgrade.stage:&lt;stage&gt;">' in controls and "no faults planned" in controls
    for html in (device, traffic, controls):
        assert absolute_links(html) == []
    r = await get(ha_lab, "/ui/device", params={"name": "nope"})
    assert r.status_code == 404 and "no device 'nope'" in r.text
    for asset in ("static/xterm/xterm.js", "static/xterm/LICENSE", "static/ui.js", "static/ui.css"):
        assert (await get(ha_lab, f"/ui/{asset}")).status_code == 200, asset
    assert (await get(ha_lab, "/ui/static/../views.py")).status_code == 404


async def test_names_from_the_profile_are_escaped(tmp_path):
    profile = {"lab": "<script>alert(1)</script>", "devices": [
        {"name": 'x"><img src=y onerror=alert(2)>', "model": "FTDv", "version": "7.4.1-172"}]}
    async with Lab(profile, state_dir=tmp_path / "s", virtual_time=True) as lab:
        for path, params in (("/ui/", {}), ("/ui/device", {"name": 'x"><img src=y onerror=alert(2)>'}),
                             ("/ui/traffic", {}), ("/ui/controls", {})):
            r = await get(lab, path, params=params)
            assert r.status_code == 200, path
            assert "<script>alert" not in r.text and "<img src=y" not in r.text, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text, path


async def test_console_over_the_websocket(ha_lab):
    url = f"{ha_lab.control.url}/ui/console?name=ftd-a"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        seen = ""

        async def until(text: str) -> None:
            nonlocal seen
            while text not in seen:
                seen += (await asyncio.wait_for(ws.receive(), 5)).data

        await ws.send_str("\r")
        await until("login: ")
        await ws.send_str("admin\r")
        await until("Password: ")
        await ws.send_str("Admin123\r")
        await until("> ")
        await ws.send_str("show version\r")
        await until("Cisco Firepower Threat Defense")
    async with aiohttp.ClientSession() as session:
        r = await session.get(f"{ha_lab.control.url}/ui/console?name=nope")
        assert r.status == 404 and "no console" in (await r.json())["error"]


async def test_off_loopback_the_token_once_then_a_cookie(tmp_path):
    async with Lab("ftd-standalone", state_dir=tmp_path / "s", virtual_time=True, host="0.0.0.0") as lab:
        token = (tmp_path / "s" / "control.token").read_text().strip()
        base = f"http://127.0.0.1:{lab.control.port}"
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/ui/")).status_code == 401
            assert (await client.get("/ui/", params={"token": "wrong"})).status_code == 401
            assert (await client.get("/api/lab", params={"token": token})).status_code == 401   # pages only
            r = await client.get("/ui/device", params={"name": "ftd-1", "token": token})
            assert r.status_code == 303 and r.headers["location"] == "./device?name=ftd-1"
            assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
            assert (await client.get("/ui/")).status_code == 200                 # the cookie from now on
            assert (await client.get("/api/devices/ftd-1")).status_code == 200   # the page's own calls too

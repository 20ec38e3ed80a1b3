"""The SPS web pages: seed 004's HA procedure H1-H11 clicked through in a
headless Chromium on `sps-ha` (the control API's power-on standing for IPMI
in H9), with screenshots of the pages as artefacts; and the pages over plain
HTTPS (httpx): login and the shared session, escaping, the confirmation, the
upgrade log (none when upgrading from 5.0.x).

The lab runs on virtual time that jumps when idle; where the browser must see
a passing state (the upgrade log, the sync) the clock is paused the moment the
lab reaches it, then resumed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from simulator.kinds.sps.packages import make_iso
from simulator.pytest_plugin import Sim
from tests.browser import browser, shot  # noqa: F401  (the fixture)

TARGET = "7.0.2.1 LTS"
OLD = "6.0.3 LTS"
FIRMWARES, CONTROL, HA = "/basic/system/firmwares", "/basic/system/control", "/basic/ha"


@pytest.fixture
def iso(tmp_path):
    return make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path / "iso")


def _url(lab, node: str) -> str:
    return lab.endpoint(node)["https"]["url"]


def _control(lab, path: str, **body: Any) -> None:
    response = httpx.post(f"{lab.lab.control.url}/api/{path}", json=body)
    assert response.status_code == 200, response.text


@contextmanager
def _paused_at(lab, kind: str, device: str | None = None, **fields: Any) -> Iterator[Callable[[], None]]:
    """Pause the lab's clock the moment an event like this one happens; the block calls the
    function it gets to wait for that moment, looks, and the clock resumes on leaving."""
    def hold(event: dict) -> None:
        if event["kind"] == kind and all(event.get(k) == v for k, v in fields.items()):
            lab.lab.clock.pause()
    unsubscribe = lab.run(lambda: lab.lab.journal.subscribe(hold, device=device))
    try:
        yield lambda: lab.wait_until(lambda lab: lab.clock.paused)
    finally:
        lab.run(unsubscribe)
        lab.run(lab.lab.clock.resume)


# -- Chromium -----------------------------------------------------------------------------
def _by_id(driver, element_id: str):
    """The element, once the page shows it (a click that submits a form returns before the next
    page is there; on a loaded machine it comes a moment later)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, element_id)))


def _text(driver, element_id: str) -> str:
    return str(_by_id(driver, element_id).text)


def _login(driver, base: str, https: dict, page: str = FIRMWARES) -> None:
    driver.get(base + page)
    assert "/login" in driver.current_url              # no session: the login page
    _by_id(driver, "username").send_keys(https["username"])
    _by_id(driver, "password").send_keys(https["password"])
    _by_id(driver, "login-button").click()
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 10).until(lambda d: d.current_url == base + page)   # a loaded machine: the redirect


def _confirm(driver, button: str) -> str:
    """Click a node's Reboot/Shutdown, answer the confirmation; the page's message."""
    _by_id(driver, button).click()
    question = _text(driver, "question")
    _by_id(driver, "confirm").click()
    return question + "\n" + _text(driver, "going-down")


def _upgrade_notes(driver, slot: int) -> str:
    """The Upgrade Notes icon opens a pop-up window."""
    from selenium.webdriver.support.ui import WebDriverWait
    main = driver.current_window_handle
    _by_id(driver, f"notes-{slot}").click()
    WebDriverWait(driver, 5).until(lambda d: len(d.window_handles) == 2)
    driver.switch_to.window(next(h for h in driver.window_handles if h != main))
    notes = _text(driver, "upgrade-notes")
    driver.close()
    driver.switch_to.window(main)
    return notes


def test_ha_upgrade_h1_to_h11_in_chromium(lab_runner, browser, iso):  # noqa: F811
    lab = lab_runner("sps-ha")
    browser.execute_cdp_cmd("Security.setIgnoreCertificateErrors", {"ignore": True})   # the lab's own certificate
    https, a, b = lab.endpoint("sps-a")["https"], _url(lab, "sps-a"), _url(lab, "sps-b")
    started = time.monotonic()
    _login(browser, a, https, HA)
    assert _text(browser, "ha-status") == "HA"                                    # P8: not degraded
    # H1 Basic Settings > System > Firmwares; H2 upload; the Upgrade Notes pop-up
    _by_id(browser, "menu-firmwares").click()
    _by_id(browser, "firmware").send_keys(str(iso))
    _by_id(browser, "upload").click()
    assert _text(browser, "notice") == f"Firmware {TARGET} uploaded to slot 2."
    assert _text(browser, "slot-2").startswith(f"2 {TARGET}")
    assert f"Safeguard for Privileged Sessions {TARGET}" in _upgrade_notes(browser, 2)
    # H3 Test; H4 After reboot
    _by_id(browser, "test-2").click()
    assert "Upgrade is allowed;" in _text(browser, "test-result")
    _by_id(browser, "after-reboot-2").click()
    _by_id(browser, "commit").click()
    assert _text(browser, "notice") == f"Firmware {TARGET} will be activated after reboot."
    assert _by_id(browser, "after-reboot-2").is_selected() and not _by_id(browser, "after-reboot-1").is_selected()
    shot(browser, "sps-firmwares")
    # H5 High Availability: the new firmware reaches the secondary ("might take a few minutes")
    lab.wait_until(lambda lab: bool(Sim.events(lab, "firmware", "sps-b", action="replicated")))
    _by_id(browser, "menu-ha").click()
    assert (_text(browser, "other-version"), _text(browser, "other-after-reboot")) == (OLD, TARGET)
    shot(browser, "sps-high-availability")
    # H6 Other node > Shutdown (with its confirmation)
    assert "Other node: do you really want to shut down?" in _confirm(browser, "other_node-shutdown")
    lab.wait_for_state("sps-b", "off")
    browser.get(a + HA)
    assert _text(browser, "ha-status") == "Degraded" and _text(browser, "other-version") == "-"
    # H7 This node > Reboot: the web server shows the upgrade log while the new firmware upgrades
    with _paused_at(lab, "state", "sps-a", state="upgrading") as upgrading:
        assert "This node is rebooting." in _confirm(browser, "this_node-reboot")
        upgrading()
        browser.get(a + FIRMWARES)
        assert "Upgrading the configuration from 6.0.3 to 7.0.2.1" in _text(browser, "upgrade-log")
        shot(browser, "sps-upgrade-log")
    lab.wait_for_state("sps-a", "online")
    # H8 log in (the session survived the reboot) and check Version details
    browser.get(a + FIRMWARES)
    _by_id(browser, "menu-version").click()
    assert _text(browser, "firmware-version") == TARGET
    _by_id(browser, "menu-ha").click()
    assert _text(browser, "ha-status") == "Degraded"
    # H9 power the secondary on (IPMI's stand-in); it syncs, Heartbeat unavailable
    with _paused_at(lab, "ha.state", state="Degraded Sync") as syncing:
        _control(lab, "devices/sps-b/power", action="on")
        syncing()
        browser.refresh()
        assert (_text(browser, "ha-status"), _text(browser, "heartbeat"), _text(browser, "drbd")) == (
            "Degraded Sync", "unavailable", "Sync source")
        shot(browser, "sps-high-availability-sync")
    lab.wait_until(lambda lab: lab.pairs["sps-cluster"].state == "HA")
    # H10 connected, the same firmware versions
    browser.refresh()
    assert _text(browser, "ha-status") == "HA"
    assert _text(browser, "this-version") == _text(browser, "other-version") == TARGET
    # H11 Activate Slave: the secondary takes over and serves the web UI
    _by_id(browser, "activate-slave").click()
    assert "The other node takes over" in _text(browser, "going-down")
    _login(browser, b, https, HA)
    assert _text(browser, "ha-status") == "HA" and _text(browser, "this-version") == TARGET
    assert (_text(browser, "this-role"), _text(browser, "other-role")) == ("secondary / master", "primary / slave")
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"the browser took {elapsed:.1f} s"
    assert [e["state"] for e in lab.events("ha.state")] == ["HA", "Degraded", "Degraded Sync", "HA"]


def test_the_secondary_powered_on_too_early_takes_over_in_chromium(lab_runner, browser, iso):  # noqa: F811
    """The admin guide's ordering rule broken: H6 and H7 on the pages, then the secondary is
    powered on while the primary still reboots. It boots first, finds no master and takes over;
    the High Availability page now answers on the secondary, the primary is its slave."""
    lab = lab_runner("sps-ha")
    browser.execute_cdp_cmd("Security.setIgnoreCertificateErrors", {"ignore": True})
    https, a, b = lab.endpoint("sps-a")["https"], _url(lab, "sps-a"), _url(lab, "sps-b")
    with httpx.Client(base_url=a, verify=False) as api:          # H1-H5 over REST (the test above clicks them)
        api.get("/api/authentication", auth=(https["username"], https["password"]))
        slot = api.post("/api/upload/firmware", content=iso.read_bytes(),
                        headers={"Content-Type": "application/x-iso9660-image"}).json()["key"]
        assert api.post("/api/_simulator/firmware/after_reboot", json={"slot_id": int(slot)}).status_code == 200
    lab.wait_until(lambda lab: bool(Sim.events(lab, "firmware", "sps-b", action="replicated", version="7.0.2.1")))
    _login(browser, a, https, HA)
    assert _text(browser, "ha-status") == "HA"
    _confirm(browser, "other_node-shutdown")                      # H6
    lab.wait_for_state("sps-b", "off")
    browser.get(a + HA)
    _by_id(browser, "this_node-reboot").click()                   # H7, its confirmation
    _control(lab, "clock/pause")                                  # the operator is quick: no time passes
    _by_id(browser, "confirm").click()
    _control(lab, "devices/sps-b/power", action="on")             # too early: the primary is not back
    _control(lab, "clock/resume")
    lab.wait_until(lambda lab: lab.pairs["sps-cluster"].state == "HA")
    takeover = lab.assert_event("ha.takeover", master="sps-b")
    assert takeover["reason"] == "peer_absent"
    _login(browser, b, https, HA)                                 # the web UI moved to the secondary
    assert _text(browser, "ha-status") == "HA"
    assert (_text(browser, "this-role"), _text(browser, "other-role")) == ("secondary / master", "primary / slave")
    assert _text(browser, "this-version") == _text(browser, "other-version") == TARGET
    shot(browser, "sps-high-availability-takeover")
    assert [e["state"] for e in lab.events("ha.state")] == ["HA", "Degraded", "Degraded Sync", "HA"]


# -- plain HTTPS ------------------------------------------------------------------------------
@pytest.fixture
def sps_lab(lab_runner):
    return lab_runner("sps-standalone")


def _client(lab, node: str = "sps-1") -> httpx.Client:
    return httpx.Client(base_url=_url(lab, node), verify=False)


def _web_login(client: httpx.Client, lab, node: str = "sps-1") -> httpx.Response:
    https = lab.endpoint(node)["https"]
    return client.post("/login", data={"username": https["username"], "password": https["password"],
                                       "next": FIRMWARES})


def test_pages_need_a_login_that_rest_shares(sps_lab):
    https = sps_lab.endpoint("sps-1")["https"]
    with _client(sps_lab) as client:
        away = client.get(FIRMWARES)
        assert away.status_code == 303 and away.headers["location"] == "/login?next=%2Fbasic%2Fsystem%2Ffirmwares"
        wrong = client.post("/login", data={"username": https["username"], "password": "nope"})
        assert wrong.status_code == 401 and "Authentication failed." in wrong.text
        assert "session_id" not in client.cookies
        logged = _web_login(client, sps_lab)
        assert logged.status_code == 303 and logged.headers["location"] == FIRMWARES
        assert client.get(FIRMWARES).status_code == 200
        assert client.get("/api/info").json()["body"]["firmware_version"] == "6.0.3"   # the same session
        assert client.post("/logout").status_code == 303
        assert client.get("/api/info").status_code == 401
    with _client(sps_lab) as client:                      # a REST login opens the pages too
        client.get("/api/authentication", auth=(https["username"], https["password"]))
        page = client.get(CONTROL)
        assert page.status_code == 200 and "This node" in page.text and "Other node" not in page.text


def test_login_goes_on_only_to_a_page_of_this_box(sps_lab):
    https = sps_lab.endpoint("sps-1")["https"]
    with _client(sps_lab) as client:
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            answer = client.post("/login", data={"username": https["username"], "password": https["password"],
                                                 "next": target})
            assert answer.headers["location"] == FIRMWARES


def test_values_are_escaped(sps_lab, tmp_path):
    with _client(sps_lab) as client:
        reflected = client.get("/login", params={"next": '/"><script>alert(1)</script>'})
        assert "<script>alert(1)" not in reflected.text and "&lt;script&gt;alert(1)" in reflected.text
        _web_login(client, sps_lab)
        sps_lab.add_fault("readiness", "fail", "sps-1", message="<img src=x onerror=alert(1)>")
        with make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path).open("rb") as fh:
            assert client.post(f"{FIRMWARES}/upload", files={"firmware": (fh.name, fh)}).status_code == 200
        tested = client.post(f"{FIRMWARES}/test", data={"slot_id": "2"})
        assert "Test of the firmware in slot 2: failed" in tested.text
        assert "<img src=x" not in tested.text and "&lt;img src=x onerror=alert(1)&gt;" in tested.text


def test_reboot_asks_first_and_refusals_show_on_the_page(sps_lab):
    with _client(sps_lab) as client:
        _web_login(client, sps_lab)
        asked = client.post(f"{CONTROL}/this_node/reboot", data={})
        assert asked.status_code == 200 and "This node: do you really want to reboot?" in asked.text
        assert sps_lab.state("sps-1") == "online"
        other = client.post(f"{CONTROL}/other_node/shutdown", data={"confirm": "yes"})
        assert other.status_code == 400 and "not part of a High Availability cluster" in other.text
        ha = client.get(HA)
        assert '<td class="status" id="ha-status">Standalone</td>' in ha.text and "Activate Slave" not in ha.text
        json_body = client.post(f"{FIRMWARES}/after_reboot", json={"after_reboot": 1})
        assert json_body.status_code == 400 and "expects a form" in json_body.text
        empty = client.post(f"{FIRMWARES}/after_reboot", data={"after_reboot": "4"})
        assert empty.status_code == 400 and "Firmware slot 4 is empty." in empty.text


def _upgrade(lab, node: str, iso_dir) -> None:
    with _client(lab, node) as client:
        _web_login(client, lab, node)
        with make_iso("sps-7.0.2.1-lts-firmware.iso", iso_dir).open("rb") as fh:
            slot = client.post(f"{FIRMWARES}/upload", files={"firmware": (fh.name, fh)})
        assert slot.status_code == 200, slot.text
        assert client.post(f"{FIRMWARES}/after_reboot", data={"after_reboot": "2"}).status_code == 200
        client.post(f"{CONTROL}/this_node/reboot", data={"confirm": "yes"})


def test_the_upgrade_log_on_the_web_but_not_from_5_0(lab_runner, tmp_path):
    lab = lab_runner({"lab": "two", "devices": [
        {"name": "sps-6", "kind": "sps", "model": "T-1", "version": "6.0.3"},
        {"name": "sps-5", "kind": "sps", "model": "T-1", "version": "5.0.4"}]})
    with _paused_at(lab, "state", "sps-6", state="upgrading") as upgrading, _client(lab, "sps-6") as client:
        _upgrade(lab, "sps-6", tmp_path / "a")
        upgrading()
        page = client.get(HA)
        assert page.status_code == 200 and "Upgrading the configuration from 6.0.3 to 7.0.2.1" in page.text
        assert client.get("/api/info").status_code == 503
        assert client.post(f"{CONTROL}/this_node/reboot", data={}).status_code == 503
    with _paused_at(lab, "state", "sps-5", state="upgrading") as upgrading, _client(lab, "sps-5") as client:
        _upgrade(lab, "sps-5", tmp_path / "b")
        upgrading()
        with pytest.raises(httpx.TransportError):
            client.get(FIRMWARES)                       # seed 004: no upgrade log on the web from 5.0.x
    lab.wait_for_state("sps-5", "online")
    with _client(lab, "sps-5") as client:
        _web_login(client, lab, "sps-5")
        assert TARGET in client.get("/basic/system/version").text


def test_join_ha_and_activate_slave_on_the_ha_page(lab_runner):
    lab = lab_runner({"lab": "half", "devices": [
        {"name": "sps-a", "kind": "sps", "model": "T-1", "version": "6.0.3"},
        {"name": "sps-b", "kind": "sps", "model": "T-1", "version": "6.0.3"}],
        "ha_pairs": [{"name": "pair", "primary": "sps-a", "secondary": "sps-b", "secondary_mode": "standalone"}]})
    with pytest.raises(httpx.TransportError), _client(lab, "sps-b") as client:
        client.get("/login")                             # the slave's core (and web UI) does not run
    with _client(lab, "sps-a") as client:
        _web_login(client, lab, "sps-a")
        half = client.get(HA).text
        assert '<td class="status" id="ha-status">Half</td>' in half and 'id="join-ha"' in half
        assert 'id="activate-slave"' not in half
        refused = client.post(f"{HA}/activate_slave")
        assert refused.status_code == 400 and "HA status: Half" in refused.text
        joined = client.post(f"{HA}/join")
        assert joined.status_code == 200 and "the nodes synchronize their data" in joined.text
        assert '<td class="status" id="ha-status">Degraded Sync</td>' in joined.text
        lab.wait_until(lambda lab: lab.pairs["pair"].state == "HA")
        assert 'id="activate-slave"' in client.get(HA).text
        assert "The other node takes over" in client.post(f"{HA}/activate_slave").text
    lab.wait_until(lambda lab: lab.pairs["pair"].master == "sps-b")
    with _client(lab, "sps-b") as client:
        _web_login(client, lab, "sps-b")
        assert '<td class="status" id="ha-status">HA</td>' in client.get(HA).text

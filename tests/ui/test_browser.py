"""The dashboard in a real headless Chromium: an FTD upgrade driven from the
device page's console, time moved with the page's clock control, the progress
bar and the console following, a fault planned from the controls page, and
screenshots of the lab page mid-upgrade, the device page with its console and
the traffic plot (in $SIM_ARTIFACTS or test-artifacts/)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from simulator.kinds.ftd.packages import make_package
from tests.browser import browser, shot  # noqa: F401
from tests.conftest import upload

PACKAGE = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
SCREEN = """const b = window.term.buffer.active, lines = [];
for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
return lines.join("\\n");"""


def wait(what: Callable[[], Any], seconds: float = 10, why: str = "") -> Any:
    """Poll the page until `what()` is truthy (the page changes on its own: the event stream)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = what()
        except Exception:      # an element not there yet, or replaced while read
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {why or what}")
        time.sleep(0.05)


def soon(what: Callable[[], Any], seconds: float = 2) -> bool:
    try:
        return bool(wait(what, seconds))
    except AssertionError:
        return False


def by(driver: Any, css: str) -> Any:
    return driver.find_element("css selector", css)


def text(driver: Any, css: str) -> str:
    return by(driver, css).text


def console(driver: Any) -> str:
    return driver.execute_script(SCREEN)


def type_in_console(driver: Any, line: str) -> None:
    from selenium.webdriver.common.keys import Keys
    by(driver, ".xterm-helper-textarea").send_keys(line + Keys.ENTER)


def advance(driver: Any, seconds: int) -> None:
    field = by(driver, "#clock-seconds")
    field.clear()
    field.send_keys(str(seconds))
    before = text(driver, "#clock-since")
    by(driver, "#clock-advance").click()
    wait(lambda: text(driver, "#clock-since") != before, why="the clock to move")


def percent(driver: Any, card: str = "") -> int:
    return int(text(driver, f"{card} [data-f=percent]").rstrip("%") or 0)


def test_an_upgrade_clicked_through_the_dashboard(browser, lab_process, tmp_path):  # noqa: F811
    endpoints, _ = lab_process("ftd-standalone")
    device = endpoints["devices"][0]
    asyncio.run(upload(device["ssh"]["port"], make_package(PACKAGE, tmp_path / "pkgs")))
    ui = endpoints["control"]["url"] + "/ui/"

    # The lab page; the clock paused from it, so the upgrade moves only when the page says so.
    browser.get(ui)
    assert text(browser, ".card h3 a") == "ftd-1" and text(browser, ".card [data-f=state]") == "online"
    by(browser, "#clock-pause").click()
    wait(lambda: by(browser, "#clock-paused").is_displayed(), why="paused")
    wait(lambda: text(browser, "#stream") == "live", why="the event stream")

    # The device page: log in on the console in the browser and start the upgrade as an operator would.
    by(browser, ".card h3 a").click()
    wait(lambda: text(browser, "#console-state") == "connected", why="the console")
    type_in_console(browser, "")
    wait(lambda: "login:" in console(browser), why="the login prompt")
    type_in_console(browser, "admin")
    wait(lambda: "Password:" in console(browser))
    type_in_console(browser, "Admin123")
    wait(lambda: console(browser).rstrip().endswith(">"), why="the CLI prompt")
    type_in_console(browser, "expert")
    wait(lambda: console(browser).rstrip().endswith("$"), why="the expert prompt")
    type_in_console(browser, f"sudo install_update.pl /var/sf/updates/{PACKAGE}")
    wait(lambda: console(browser).rstrip().endswith("Password:"), why="sudo's password prompt")
    type_in_console(browser, "Admin123")
    wait(lambda: by(browser, "[data-f=job]").is_displayed(), why="the job on the device page")
    assert text(browser, "h1 [data-f=state]") == "upgrade_readiness"
    screen = console(browser)
    advance(browser, 300)
    wait(lambda: percent(browser) > 0, why="progress")
    wait(lambda: console(browser) != screen, why="the console to follow the upgrade")
    rows = wait(lambda: browser.find_elements("css selector", "#stages tr"), why="stages")
    assert rows[0].text.startswith("000_start")
    shot(browser, "device-page-console")

    # A fault planned from the controls page: the next stages run twice as long.
    by(browser, "nav a[href='./controls']").click()
    by(browser, "#f-stage").clear()
    by(browser, "#f-stage").send_keys("*")
    from selenium.webdriver.support.ui import Select
    Select(by(browser, "#f-action")).select_by_value("slow")
    by(browser, "[data-param=factor]").send_keys("2")
    by(browser, "[data-param=times]").send_keys("3")
    by(browser, "#f-add").click()
    row = wait(lambda: text(browser, "#faults tr[data-fault]"), why="the fault in the plan")
    assert "upgrade.stage:*" in row and "slow" in row and "factor=2" in row

    # Back on the lab page: it follows the upgrade as time moves, without a reload.
    by(browser, "nav a[href='./']").click()
    browser.execute_script("window.stillHere = true")
    first = wait(lambda: percent(browser, ".card"), why="the card's progress")
    for _ in range(6):          # a slowed stage may hold the percent for a while
        advance(browser, 300)
        if soon(lambda: percent(browser, ".card") > first):
            break
    assert percent(browser, ".card") > first
    bar = by(browser, ".card .fill").get_attribute("style")
    assert f"{percent(browser, '.card')}%" in bar
    assert "upgrade" in text(browser, ".card [data-f=stage]")
    shot(browser, "lab-page-mid-upgrade")
    done = lambda: (text(browser, ".card [data-f=state]"), text(browser, ".card [data-f=version]")) == (  # noqa: E731
        "online", "7.6.0-113")
    for _ in range(12):
        if soon(done, 0.5):
            break
        advance(browser, 600)
    wait(done, why="the upgrade to finish")
    assert browser.execute_script("return window.stillHere") is True       # no reload

    # The fault fired: the controls page says how often.
    by(browser, "nav a[href='./controls']").click()
    assert by(browser, "#faults tr[data-fault] td:nth-child(6)").text == "3"

    # The traffic page: the upgrade's outage, with what caused it.
    by(browser, "nav a[href='./traffic']").click()
    plot = by(browser, "section.plot#ftd-1")
    assert "1 outage" in plot.text and "ftd-1 upgrade" in plot.text
    shot(browser, "traffic-plot")


def test_power_and_reboot_buttons(browser, lab_process):  # noqa: F811
    endpoints, _ = lab_process("ftd-standalone")
    browser.get(endpoints["control"]["url"] + "/ui/device?name=ftd-1")
    by(browser, "#clock-pause").click()
    wait(lambda: by(browser, "#clock-paused").is_displayed(), why="paused")
    state = lambda: text(browser, "h1 [data-f=state]")  # noqa: E731
    by(browser, "[data-reboot]").click()
    wait(lambda: state() == "shutdown", why="the reboot")
    by(browser, "[data-power=off]").click()
    wait(lambda: state() == "off", why="off")
    by(browser, "[data-reboot]").click()           # refused: the device's own words, in red
    wait(lambda: by(browser, "#action-result").get_attribute("class") == "error", why="the refusal")
    by(browser, "[data-power=on]").click()
    wait(lambda: state() == "boot_os", why="the boot")
    advance(browser, 600)
    wait(lambda: state() == "online", why="online again")
    assert "reboot" in text(browser, "#journal") and "power" in text(browser, "#journal")

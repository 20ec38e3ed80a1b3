"""The lab server's dashboard in a real headless Chromium: a lab created from
the server's page, a snapshot saved there, a unit powered off from the lab's
own device page and brought back by a restore from the lab's own controls
page, an exercise lab with its grade table failing at the start (on the
server's page and on the lab's own), the labs list following a unit powered
off through the API without a reload, labs deleted; screenshots of the labs
list and of a grade table (in $SIM_ARTIFACTS or test-artifacts/)."""

from __future__ import annotations

import httpx

from tests.browser import browser, shot  # noqa: F401
from tests.ui.test_browser import by, text, wait


def create_from_form(driver, source: str, value: str, name: str) -> str:
    """Fill the server page's create form; the lab's id, from the page it lands on."""
    from selenium.webdriver.support.ui import Select
    by(driver, f"input[name=source][value={source}]").click()
    Select(by(driver, f"#c-{source}")).select_by_value(value)
    by(driver, "#c-name").send_keys(name)
    by(driver, "#c-create").click()
    wait(lambda: text(driver, "h1").startswith(f"Lab {name}"), 60, why=f"lab {name} created")
    return driver.current_url.rsplit("id=", 1)[1]


def rows(driver, css: str) -> list[str]:
    return [row.text for row in driver.find_elements("css selector", css)]


def test_server_dashboard_labs_snapshots_and_grades(browser, served):  # noqa: F811
    browser.get(served.url + "/ui/")
    assert "no labs" in text(browser, "#labs")

    # A lab from a bundled profile; a snapshot of it saved from the server's page.
    lab_id = create_from_form(browser, "profile", "ftd-ha", "trainee-1")
    assert "online" in text(browser, "#lab") and "Active" in text(browser, "#lab")
    assert "no snapshots yet" in text(browser, "#snapshots")
    by(browser, "[data-snap-name]").send_keys("before")
    by(browser, "[data-snap-save]").click()
    wait(lambda: "saved before" in text(browser, "[data-snap-result]"), why="the snapshot")
    assert rows(browser, "#snapshots tr[data-snapshot]")[0].startswith("before")

    # On the lab's own dashboard: ftd-b powered off from its device page ...
    by(browser, "a[href$='/ui/device?name=ftd-b']").click()
    state = lambda: text(browser, "h1 [data-f=state]")  # noqa: E731
    wait(lambda: state() == "online", why="the device page")
    by(browser, "[data-power=off]").click()
    wait(lambda: state() == "off", why="ftd-b off")

    # ... and back from the snapshot, restored from the lab's own controls page.
    by(browser, "nav a[href='./controls']").click()
    row = wait(lambda: rows(browser, "#snapshots tr[data-snapshot]"), why="the lab's snapshots panel")
    assert row[0].startswith("before")
    by(browser, "#snapshots [data-snap-restore]").click()
    wait(lambda: "restored before in" in text(browser, "[data-snap-result]"), why="the restore")
    browser.get(f"{served.url}/labs/{lab_id}/ui/device?name=ftd-b")
    assert state() == "online" and "action=off" in text(browser, "#journal")     # the journal keeps history
    restored = httpx.get(f"{served.url}/labs/{lab_id}/api/events", params={"kind": "lab.restored"}).json()
    assert restored["items"][-1]["name"] == "before"

    # An exercise lab: its grade fails at the start, on the server's page and on the lab's own.
    browser.get(served.url + "/ui/")
    drill = create_from_form(browser, "exercise", "ftd-ha-upgrade", "trainee-2")
    assert "Upgrade an FTD HA pair to 7.6.0" in text(browser, "#goal")
    assert text(browser, "#grade [data-f=grade]") == "FAIL"
    failing = {r.get_attribute("data-check") for r in browser.find_elements("css selector", "#grade tr[data-passed=false]")}
    assert failing == {"both-upgraded", "in-time"}
    assert "ftd-a runs 7.4.1-172 (wanted 7.6.0)" in text(browser, "#grade tr[data-check=both-upgraded]")
    by(browser, "[data-regrade]").click()           # graded again: still the same
    wait(lambda: text(browser, "#grade [data-f=grade]") == "FAIL", why="the grade")
    shot(browser, "server-grade-table")
    browser.get(f"{served.url}/labs/{drill}/ui/")
    by(browser, "#goal a[href='./exercise']").click()
    assert len(browser.find_elements("css selector", "#grade tr[data-passed=false]")) == 2
    assert by(browser, "nav a.here").text == "Exercise"

    # The labs list: each lab's devices with version and state, its grade; live without a reload.
    browser.get(served.url + "/ui/")
    listed = rows(browser, "#labs tr[data-lab]")
    assert len(listed) == 2 and "ftd-ha" in listed[0] and "exercise ftd-ha-upgrade" in listed[1]
    grade = httpx.get(f"{served.url}/labs/{drill}/api/grade").json()
    passing = sum(check["passed"] for check in grade["checks"])
    assert text(browser, f"tr[data-lab='{drill}'] [data-f=grade]") == f"{passing}/{len(grade['checks'])} checks"
    unit = lambda lab, name: text(browser, f"tr[data-lab='{lab}'] [data-unit={name}]")  # noqa: E731
    assert unit(lab_id, "ftd-a") == "ftd-a 7.4.1-172 online Active"
    browser.execute_script("window.notReloaded = true")
    r = httpx.post(f"{served.url}/labs/{lab_id}/api/devices/ftd-b/power", json={"action": "off"})
    assert r.status_code == 200, r.text
    wait(lambda: unit(lab_id, "ftd-b").startswith("ftd-b 7.4.1-172 off"), why="the list following the lab")
    assert browser.execute_script("return window.notReloaded") is True
    shot(browser, "server-labs-list")
    for gone in (lab_id, drill):
        by(browser, f"[data-delete='{gone}']").click()
        wait(lambda: not browser.find_elements("css selector", f"tr[data-lab='{gone}']"), why=f"{gone} deleted")
    assert "no labs" in text(browser, "#labs")
    assert httpx.get(served.url + "/labs").json()["total"] == 0 and served.lab_dirs() == []

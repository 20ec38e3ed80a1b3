"""The FTD HA exercise: the HA runbook (seed 000) grades all-pass; upgrading
the active unit first fails the two checks that say so, and only those."""

from __future__ import annotations

from fdm_client import Fdm

from simulator.kinds.ftd.packages import make_package
from tests.exercises.conftest import run_runbook

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


def test_the_ha_runbook_passes(exercise_lab, tmp_path):
    lab = exercise_lab("ftd-ha-upgrade")
    package = make_package(UPGRADE_76, tmp_path)
    probe = lab.endpoints["pairs"][0]["probe"]
    out = run_runbook("ftd_ha_upgrade.py", "--unit", lab.https("ftd-a")["url"], "--unit", lab.https("ftd-b")["url"],
                      "--password", "Admin123", "--poll", "0.05", "--probe", f"{probe['host']}:{probe['port']}",
                      str(package))
    assert "traffic: 0 probes lost" in out.stdout
    grade = lab.grade()
    assert grade["passed"], grade
    evidence = {c["name"]: c["evidence"] for c in grade["checks"]}
    assert [line.split(" ", 1)[1] for line in evidence["standby-first"]] == [
        "ftd-b began upgrading to 7.6.0-113 as Standby Ready", "ftd-a began upgrading to 7.6.0-113 as Standby Ready"]


def force_upgrade(fdm: Fdm, package) -> None:
    """Upload and Upgrade Now with force (past the 'upgrade the standby first' refusal)."""
    fdm.upload(package)
    fdm.call("POST", "/action/upgrade", params={"force": "true"})
    fdm.poll("/operational/upgradestatus", lambda s: s["state"] in ("COMPLETED", "FAILED"), 0.05, lambda s, n: None)


def test_upgrading_the_active_unit_first_fails_those_checks(exercise_lab, tmp_path):
    lab = exercise_lab("ftd-ha-upgrade")
    package = make_package(UPGRADE_76, tmp_path)
    units = {name: Fdm(lab.https(name)["url"], "admin", "Admin123") for name in ("ftd-a", "ftd-b")}
    for fdm in units.values():
        fdm.login()
    force_upgrade(units["ftd-a"], package)          # the active unit: the pair fails over to ftd-b
    lab.wait_until(lambda running: running.pairs["ftd-ha"].active == "ftd-b" and
                   running.devices["ftd-a"].state == "online")
    force_upgrade(units["ftd-b"], package)          # active again (ftd-a came back as standby)
    lab.wait_for_state("ftd-b", "online")
    for fdm in units.values():
        fdm.close()
    grade = lab.grade()
    assert {c["name"] for c in grade["checks"] if not c["passed"]} == {"standby-first", "no-traffic-lost"}, grade
    evidence = {c["name"]: c["evidence"] for c in grade["checks"]}
    assert any("ftd-a began upgrading to 7.6.0-113 while Active" in line for line in evidence["standby-first"])
    assert any(line.startswith("no traffic T+") and "ftd-a" in line for line in evidence["no-traffic-lost"])

"""The FXOS chassis exercise (seed 000 table 2): the two-chassis runbook grades
all-pass; threat defense upgraded on the standby before the other chassis
fails the order check, and only it (no traffic lost, no active unit upgraded)."""

from __future__ import annotations

from fdm_client import Fdm
from ftd_ha_chassis_upgrade import switch_to
from ftd_ha_upgrade import wait_for_standby
from fxos_upgrade import Chassis, upgrade_chassis
from upgrade_steps import upgrade_unit

from simulator.kinds.ftd.packages import make_package
from tests.exercises.conftest import quiet, run_runbook

PACKAGE = "Cisco_FTD_SSP_Upgrade-7.4.1-172.sh.REL.tar"


def test_table_2_order_passes(exercise_lab, bundle_server, tmp_path):
    lab = exercise_lab("ftd-ha-chassis-upgrade")
    url = {name: lab.https(name)["url"] for name in ("chassis-a", "chassis-b", "ftd-a", "ftd-b")}
    run_runbook("ftd_ha_chassis_upgrade.py", "--chassis", url["chassis-a"], "--unit", url["ftd-a"],
                "--chassis", url["chassis-b"], "--unit", url["ftd-b"], "--password", "Admin123",
                "--bundle-url", bundle_server, "--poll", "0.05", str(make_package(PACKAGE, tmp_path)))
    grade = lab.grade()
    assert grade["passed"], grade
    order = next(c for c in grade["checks"] if c["name"] == "table-2-order")["evidence"]
    assert [line.split(" ", 2)[2].split(" target=")[0] for line in order] == [
        "chassis-b fxos.install state=IN_PROGRESS", "chassis-a fxos.install state=IN_PROGRESS",
        "ftd-a upgrade.started package=Cisco_FTD_SSP_Upgrade-7.4.1-172.sh.REL.tar",
        "ftd-b upgrade.started package=Cisco_FTD_SSP_Upgrade-7.4.1-172.sh.REL.tar"]


def test_threat_defense_before_the_other_chassis_fails_only_the_order(exercise_lab, bundle_server, tmp_path):
    lab = exercise_lab("ftd-ha-chassis-upgrade")
    package = make_package(PACKAGE, tmp_path)
    url = {name: lab.https(name)["url"] for name in ("chassis-a", "chassis-b", "ftd-a", "ftd-b")}
    chassis = {name: Chassis(url[name], "admin", "Admin123", False) for name in ("chassis-a", "chassis-b")}
    units = {name: Fdm(url[name], "admin", "Admin123") for name in ("ftd-a", "ftd-b")}
    for client in [*chassis.values(), *units.values()]:
        client.login()
    upgrade_chassis(chassis["chassis-b"], "chassis-b", bundle_server, None, 0.05)   # 1. right: the standby's chassis
    wait_for_standby(units["ftd-b"], "ftd-b", 0.05)
    upgrade_unit(quiet(), units["ftd-b"], package, True, 0.05, "ftd-b")   # wrong: threat defense before chassis-a
    wait_for_standby(units["ftd-b"], "ftd-b", 0.05)
    switch_to(units["ftd-b"], "ftd-b")
    upgrade_chassis(chassis["chassis-a"], "chassis-a", bundle_server, None, 0.05)
    wait_for_standby(units["ftd-a"], "ftd-a", 0.05)
    upgrade_unit(quiet(), units["ftd-a"], package, True, 0.05, "ftd-a")
    wait_for_standby(units["ftd-a"], "ftd-a", 0.05)
    for fdm in units.values():
        fdm.close()
    grade = lab.grade()
    assert {c["name"] for c in grade["checks"] if not c["passed"]} == {"table-2-order"}, grade
    order = next(c for c in grade["checks"] if c["name"] == "table-2-order")["evidence"]
    assert any(line.startswith("ftd-b upgrade.started (T+") and "came before chassis-a fxos.install" in line
               for line in order), order

"""The ASA Active/Active exercise (seed 003): the Active/Active procedure
grades all-pass; reloading the secondary while it is active for group 2 fails
the check that says so, and only it (a graceful reload hands group 2 to the
mate at once: the probe loses nothing, but the procedure was not followed)."""

from __future__ import annotations

import re
from argparse import Namespace

import pytest
from asa_upgrade import Unit, mate_back, mate_ready, reload_unit, wait_until

from tests.exercises.conftest import run_runbook

pytestmark = pytest.mark.clients      # netmiko, as the runbook


def upgrade(lab, image_url: str, *extra: str) -> None:
    ssh = {name: lab.endpoint(name)["ssh"] for name in ("asa-a", "asa-b")}
    run_runbook("asa_upgrade.py", "--primary", f"127.0.0.1:{ssh['asa-a']['port']}",
                "--secondary", f"127.0.0.1:{ssh['asa-b']['port']}", "--password", "Admin123",
                "--image-url", image_url, "--poll", "0.1", *extra)


def test_the_active_active_procedure_passes(exercise_lab, image_server):
    lab = exercise_lab("asa-active-active-upgrade")
    upgrade(lab, image_server, "--active-active")
    grade = lab.grade()
    assert grade["passed"], grade
    evidence = next(c for c in grade["checks"] if c["name"] == "standby-first")["evidence"]
    assert [line.split(" ", 1)[1] for line in evidence] == [
        "asa-b began upgrading to 9.20(2) as Standby Ready (group 1), Standby Ready (group 2)",
        "asa-a began upgrading to 9.20(2) as Standby Ready (group 1), Standby Ready (group 2)"]


def test_reloading_the_secondary_while_active_for_group_2_fails_those_checks(exercise_lab, image_server):
    """Seed 003's Active/Active steps but the first: the secondary is reloaded onto the new image
    while it still runs group 2 (no `failover active` on the primary first)."""
    lab = exercise_lab("asa-active-active-upgrade")
    ssh = {name: lab.endpoint(name)["ssh"] for name in ("asa-a", "asa-b")}
    login = Namespace(username="admin", password="Admin123", enable=None)
    primary, secondary = (Unit(f"127.0.0.1:{ssh[name]['port']}", login) for name in ("asa-a", "asa-b"))
    image = image_server.rsplit("/", 1)[1]
    primary.connect()
    primary.run(f"copy /noconfirm {image_server} disk0:/{image}")
    primary.run(f"failover exec mate copy /noconfirm {image_server} disk0:/{image}")
    old = re.search(r"^BOOT variable = (.*)$", primary.run("show bootvar"), re.M).group(1).strip(";").split(";")
    primary.conn.send_config_set([*[f"no boot system {b}" for b in old], f"boot system disk0:/{image}",
                                  *[f"boot system {b}" for b in old]])
    primary.run("write memory")
    primary.run("failover reload-standby")                    # the mistake: asa-b is active for group 2
    wait_until(primary, mate_ready, "the secondary is Standby Ready", 0.1)
    primary.run("no failover active")
    reload_unit(primary)
    secondary.connect(wait=60)
    wait_until(secondary, mate_back, "the primary is back", 0.1)
    secondary.close()
    grade = lab.grade()
    assert {c["name"] for c in grade["checks"] if not c["passed"]} == {"standby-first"}, grade
    evidence = next(c for c in grade["checks"] if c["name"] == "standby-first")["evidence"]
    assert evidence[0].split(" ", 1)[1] == "asa-b began upgrading to 9.20(2) while Standby Ready (group 1), " \
                                          "Active (group 2)", evidence

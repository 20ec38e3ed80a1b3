"""The standalone FDM exercises: a failed upgrade with auto-cancel off, and an
unusable device recovered through its console and a reimage."""

from __future__ import annotations

import socket
import time

from fdm_client import Fdm

from simulator.cli import main

DONE = ("COMPLETED", "FAILED", "CANCELLED")


def test_retrying_the_failed_upgrade_passes(exercise_lab, capsys):
    lab = exercise_lab("fdm-failed-upgrade")
    https = lab.https("ftd-1")
    fdm = Fdm(https["url"], https["username"], https["password"])
    fdm.login()
    status = fdm.call("GET", "/operational/upgradestatus")
    assert status["state"] == "FAILED" and "300_os" in str(status), status
    assert lab.grade()["passed"] is False
    fdm.call("POST", "/action/retryupgrade")        # seed 000: "correct any issues and resume the upgrade"
    final = fdm.poll("/operational/upgradestatus", lambda s: s["state"] in DONE, 0.05, lambda s, note: None)
    fdm.close()
    assert final["state"] == "COMPLETED"
    lab.wait_for_state("ftd-1", "online")
    grade = lab.grade()
    assert grade["passed"], grade
    assert main(["grade", "--url", lab.control]) == 0
    out = capsys.readouterr().out
    assert "fdm-failed-upgrade" in out and out.count("PASS") == 5 and "ftd-1 runs 7.6.0-113" in out


def test_reimaging_instead_of_recovering_fails_only_no_reimage(exercise_lab, capsys):
    lab = exercise_lab("fdm-failed-upgrade")
    assert main(["reimage", "ftd-1", "--version", "7.6.0-113", "--url", lab.control]) == 0
    lab.wait_for_state("ftd-1", "online")
    assert lab.failed() == {"no-reimage"}
    assert main(["grade", "--url", lab.control]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "ftd-1 reimage version=7.6.0-113" in out


def read_console(port: int, until: bytes) -> bytes:
    """What a telnet client sees on the console line (the rescue prompt of an unusable FTD)."""
    seen = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        deadline = time.monotonic() + 10
        while until not in seen and time.monotonic() < deadline:
            seen += sock.recv(65536)
    return seen


def test_console_then_reimage_recovers_the_unusable_device(exercise_lab):
    lab = exercise_lab("unusable-reimage")
    assert lab.state("ftd-1") == "unusable"
    seen = read_console(lab.endpoint("ftd-1")["console"]["telnet"]["port"], b"firepower-boot>")
    assert b"a software installation was" in seen and b"interrupted by a reboot or a power loss" in seen, seen
    assert main(["reimage", "ftd-1", "--version", "7.4.1-172", "--url", lab.control]) == 0
    lab.wait_for_state("ftd-1", "online")
    grade = lab.grade()
    assert grade["passed"], grade
    order = next(c for c in grade["checks"] if c["name"] == "looked-at-console")
    assert order["evidence"][0].startswith("1. T+") and "console.attached" in order["evidence"][0]


def test_reimaging_without_the_console_fails_only_that_check(exercise_lab):
    lab = exercise_lab("unusable-reimage")
    assert main(["reimage", "ftd-1", "--version", "7.4.1-172", "--url", lab.control]) == 0
    lab.wait_for_state("ftd-1", "online")
    assert lab.failed() == {"looked-at-console"}
    check = next(c for c in lab.grade()["checks"] if c["name"] == "looked-at-console")
    assert "1. never: ftd-1 console.attached" in check["evidence"]

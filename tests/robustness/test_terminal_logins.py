"""Item 14 of issue 12 (console and sudo): the console's login answers a run
of wrong passwords slower and slower, as login(1)'s FAIL_DELAY does; sudo in
the FTD's expert shell gives three tries, then counts the failures as
pam_faillock does and locks the account for `unlock_time` (on the device's
clock) after `deny` failures in a row."""

from __future__ import annotations

import time

from simulator.kinds.ftd.console import CONSOLE
from simulator.kinds.ftd.expert import FAILLOCK
from simulator.terminal.logins import LoginBrake, LoginPolicy
from tests.robustness.terminal_lab import PROMPTS, RawTerminal, lab_with, port_of
from tests.surfaces.test_console import Rig, make_rig, rig  # noqa: F401  (the console rig's fixtures)

EXPERT = rb"admin@dut:~\$ $"


def test_the_console_brake_comes_from_the_kinds_texts():
    brake = CONSOLE.data["login"]["brake"]
    assert LoginPolicy.model_validate(brake).delay == 3.0        # login.defs FAIL_DELAY


async def test_console_logins_answer_slower_and_slower(rig: Rig):  # noqa: F811  (the fixture)
    rig.surface.endpoints["ftd-1"].line.brake = LoginBrake(LoginPolicy(free_failures=1, delay=0.1, max_delay=0.2))
    term = await rig.client()
    await term.read_until(r"ftd-1 login: $")
    waits = []
    for _ in range(3):
        term.send("admin\n")
        await term.read_until(r"Password: $")
        started = time.perf_counter()
        term.send("wrong\n")
        assert "Login incorrect" in await term.read_until(r"ftd-1 login: $")
        waits.append(time.perf_counter() - started)
    assert waits[0] < 0.1 and waits[1] >= 0.1 and waits[2] >= 0.2, waits
    term.send("admin\nAdmin123\n")
    await term.read_until(r"\n> $")
    await term.close()


async def test_sudo_locks_the_account_after_failures_in_a_row(tmp_path):
    assert (FAILLOCK.deny, FAILLOCK.unlock) == (3, 600)
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"expert\r")
        await term.until(EXPERT)
        term.send(b"sudo whoami\r")
        await term.until(b"Password: ")
        for answer in (b"Sorry, try again.", b"Sorry, try again.", b"sudo: 3 incorrect password attempts"):
            term.send(b"wrong\r")
            assert answer in await term.until(rb"Password: $|\$ $")
        term.send(b"sudo whoami\r")                              # locked: even the right password fails
        locked = await term.until(b"Password: ")
        assert b"The account is locked due to 3 failed logins.\r\n(10 minutes left to unlock)" in locked
        term.send(b"Admin123\r")
        assert b"Sorry, try again." in await term.until(b"Password: ")
        term.send(b"x\r")
        await term.until(b"Password: ")
        term.send(b"y\r")
        assert b"sudo: 3 incorrect password attempts" in await term.until(EXPERT)
        await lab.clock.advance(FAILLOCK.unlock)
        term.send(b"sudo whoami\r")
        await term.until(b"Password: ")
        term.send(b"Admin123\r")
        assert b"root\r\n" in await term.until(EXPERT)
        await term.close()

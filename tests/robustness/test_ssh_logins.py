"""Item 14 of issue 12 (SSH): a brake on password guessing, as the real boxes
have it. The FTD's numbers (kinds/ftd/ssh.yaml): three failed passwords close
the connection ("Too many authentication failures", as OpenSSH words it);
an address that keeps failing waits longer and longer for its answers; where
a lockout is configured, a locked user is refused even the right password
until it expires. The ASA counts failed logins for the next banner."""

from __future__ import annotations

import time

import asyncssh
import pytest

from simulator.kinds.ftd.ssh import SSH as FTD_SSH
from simulator.surfaces.ssh.server import TOO_MANY_FAILURES
from simulator.terminal.logins import LoginPolicy
from tests.conftest import connect
from tests.robustness.terminal_lab import PROMPTS, RawTerminal, lab_with, port_of


class Guesser(asyncssh.SSHClient):
    """A client that tries one password after another on the same connection."""

    def __init__(self, guesses: list[str]) -> None:
        self.guesses = guesses

    def password_auth_requested(self) -> str | None:
        return self.guesses.pop(0) if self.guesses else None


async def guess(port: int, *guesses: str) -> None:
    conn, _ = await asyncssh.create_connection(lambda: Guesser(list(guesses)), "127.0.0.1", port,
                                               username="admin", known_hosts=None, preferred_auth="password")
    conn.close()


def failures(lab) -> int:
    return sum(not e["ok"] for e in lab.journal.select("dut", "ssh.login"))


async def test_three_wrong_passwords_close_the_connection(tmp_path):
    assert FTD_SSH.login.max_tries == 3
    async with lab_with("ftd", tmp_path / "state") as lab:
        with pytest.raises(asyncssh.DisconnectError) as refused:
            await guess(port_of(lab), "a", "b", "c", "d", "Admin123")
        assert refused.value.reason == TOO_MANY_FAILURES and failures(lab) == 3
        await guess(port_of(lab), "Admin123")                     # a new connection may log in


@pytest.mark.timing
async def test_an_address_that_keeps_failing_waits_longer(tmp_path, monkeypatch):
    monkeypatch.setattr(FTD_SSH, "login", LoginPolicy(max_tries=3, free_failures=1, delay=0.1, max_delay=0.2))
    async with lab_with("ftd", tmp_path / "state") as lab:
        waits = []
        for _ in range(4):
            started = time.perf_counter()
            with pytest.raises(asyncssh.PermissionDenied):
                await connect(port_of(lab), password="wrong")
            waits.append(time.perf_counter() - started)
        assert waits[0] < 0.1 and waits[1] >= 0.1 and waits[2] >= 0.2 and 0.2 <= waits[3] < 0.4, waits
        async with await connect(port_of(lab)):                   # the right password, at once ...
            pass
        started = time.perf_counter()
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(port_of(lab), password="wrong")
        assert time.perf_counter() - started < 0.1                 # ... and the count starts again


async def test_a_locked_user_is_refused_until_the_lock_expires(tmp_path):
    """A lockout set in the profile (`ssh_login`), the kind's other numbers kept."""
    async with lab_with("ftd", tmp_path / "state", ssh_login={"deny": 2, "unlock": 600}) as lab:
        assert lab.ssh.endpoints["dut"].brake.policy.max_tries == FTD_SSH.login.max_tries
        for _ in range(2):
            with pytest.raises(asyncssh.PermissionDenied):
                await connect(port_of(lab), password="wrong")
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(port_of(lab))
        tally = lab.ssh.endpoints["dut"].brake.tally
        clock = tally.now
        tally.now = lambda: clock() + 601
        async with await connect(port_of(lab)):
            pass


async def test_the_asa_counts_failed_logins_for_the_next_banner(tmp_path):
    async with lab_with("asa", tmp_path / "state") as lab:
        for _ in range(2):
            with pytest.raises(asyncssh.PermissionDenied):
                await connect(port_of(lab), password="wrong")
        term = await RawTerminal.open(port_of(lab), PROMPTS["asa"])
        assert b"Failed logins since the last login: 2." in term.greeting
        await term.close()

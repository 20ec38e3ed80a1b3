"""Brakes on guessing passwords, as the real boxes have them: a connection
closed after a few failed passwords, answers that come slower and slower to
an address that keeps failing, and (where a box has it) a user locked out for
a while after failures in a row, counted as pam_faillock counts them. Each
kind states its numbers in its YAML (`LoginPolicy`); the delays count in wall
time, as a client's own clock does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from simulator.facts import Facts

MAX_KEYS = 1024         # addresses and users remembered at most (the stalest are forgotten first)


class LoginPolicy(Facts):
    """How a device answers failed logins (every number 0 turns its brake off)."""

    max_tries: int = 0          # failed passwords in one connection before it is closed
    free_failures: int = 0      # failures in a row from one address answered at once ...
    delay: float = 0.0          # ... then this many seconds before the next answer, doubling each time
    max_delay: float = 0.0
    interval: float = 900.0     # failures older than this are forgotten (pam_faillock's fail_interval)
    deny: int = 0               # failures in a row that lock the user out (pam_faillock's deny) ...
    unlock: float = 600.0       # ... for this many seconds (unlock_time)


class Tally:
    """Failed attempts by key (an address, a user) on a clock: pam_faillock's bookkeeping."""

    def __init__(self, interval: float, now: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.now = now
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str) -> list[float]:
        horizon = self.now() - self.interval
        times = [t for t in self._failures.get(key, ()) if t > horizon]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def count(self, key: str) -> int:
        return len(self._recent(key))

    def failed(self, key: str) -> int:
        """Count a failure; the failures in a row now."""
        times = self._recent(key)
        times.append(self.now())
        self._failures.pop(key, None)
        self._failures[key] = times[-64:]           # newest last: the dict's order is staleness
        while len(self._failures) > MAX_KEYS:
            self._failures.pop(next(iter(self._failures)))
        return len(times)

    def passed(self, key: str) -> None:
        self._failures.pop(key, None)

    def locked_for(self, key: str, deny: int, unlock: float) -> float:
        """Seconds left of a lockout after `deny` failures in a row (0: not locked)."""
        times = self._recent(key)
        if not deny or len(times) < deny:
            return 0.0
        return max(0.0, times[-1] + unlock - self.now())


class LoginBrake:
    """One device's brake on password logins (SSH or a console line)."""

    def __init__(self, policy: LoginPolicy) -> None:
        self.policy = policy
        self.tally = Tally(policy.interval)

    def locked(self, user: str) -> bool:
        return self.tally.locked_for("user:" + user, self.policy.deny, self.policy.unlock) > 0

    def passed(self, peer: str, user: str) -> None:
        self.tally.passed("peer:" + peer)
        self.tally.passed("user:" + user)

    async def failed(self, peer: str, user: str) -> None:
        """Count a failure, then hold the answer as long as the address has earned."""
        self.tally.failed("user:" + user)
        await asyncio.sleep(self.backoff(self.tally.failed("peer:" + peer)))

    def backoff(self, failures: int) -> float:
        extra = failures - self.policy.free_failures
        if extra <= 0 or not self.policy.delay:
            return 0.0
        return min(self.policy.delay * 2 ** min(extra - 1, 32), self.policy.max_delay or self.policy.delay)

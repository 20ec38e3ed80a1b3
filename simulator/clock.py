"""Simulated time: every simulated duration in the lab goes through a Clock.

Two modes share one timer heap:
- scaled: simulated time runs `scale` times faster than wall time; the heap's
  earliest timer is armed on the asyncio loop at its real-time equivalent;
- virtual: simulated time stands still until `advance()`/`run_until_idle()`
  moves it (tests), or until `autojump()` jumps to the next timer whenever
  the lab is idle (a lab run with `--virtual-time`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any


class Timer:
    __slots__ = ("when", "seq", "callback", "args", "cancelled")

    def __init__(self, when: float, seq: int, callback: Callable[..., Any], args: tuple) -> None:
        self.when = when
        self.seq = seq
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: Timer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)


class Clock:
    def __init__(self, *, scale: float = 25.0, virtual: bool = False, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.virtual = virtual
        self.scale = scale
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._sim_anchor = time.time() if start is None else start
        self._real_anchor = time.monotonic()
        self._armed: asyncio.TimerHandle | None = None
        self._armed_for: Timer | None = None
        self.paused = False
        self._rewinds = 0

    # -- reading time ---------------------------------------------------
    def now(self) -> float:
        """Simulated time as a Unix timestamp."""
        if self.virtual or self.paused:
            return self._sim_anchor
        return self._sim_anchor + (time.monotonic() - self._real_anchor) * self.scale

    def pause(self) -> None:
        """Stop simulated time (scaled mode: it stops flowing; virtual mode: no auto-jumps)."""
        if not self.paused:
            self._sim_anchor = self.now()
            self.paused = True
            self._rearm(force=True)

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._real_anchor = time.monotonic()
            self._rearm(force=True)

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._sim_anchor, self._real_anchor = self.now(), time.monotonic()
        self.scale = scale
        self._rearm(force=True)

    # -- timers ---------------------------------------------------------
    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(self.now() + max(0.0, delay), next(self._seq), callback, args)
        heapq.heappush(self._heap, timer)
        self._rearm()
        return timer

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """A timer at simulated time `when` (now, if that has passed)."""
        return self.call_later(when - self.now(), callback, *args)

    def pending(self) -> list[Timer]:
        """The timers not yet fired nor cancelled, earliest first."""
        return sorted(t for t in self._heap if not t.cancelled)

    def rewind(self, when: float) -> None:
        """Set simulated time to `when` (earlier or later) and drop every timer: a lab restored
        from a snapshot arms what its restored models wait for again (simulator/snapshots.py)."""
        for timer in self._heap:
            timer.cancel()
        self._heap.clear()
        self._rewinds += 1          # a jump under way (autojump, advance) stops where it is
        self._sim_anchor, self._real_anchor = when, time.monotonic()
        self._rearm(force=True)

    async def sleep(self, delay: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)
        timer = self.call_later(delay, wake)
        try:
            await fut
        finally:
            timer.cancel()

    def next_deadline(self) -> float | None:
        self._drop_cancelled()
        return self._heap[0].when if self._heap else None

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)

    def _rearm(self, force: bool = False) -> None:
        """Scaled mode: keep one loop handle armed for the earliest timer."""
        if self.virtual:
            return
        if self.paused:
            if self._armed is not None:
                self._armed.cancel()
                self._armed = self._armed_for = None
            return
        self._drop_cancelled()
        head = self._heap[0] if self._heap else None
        if not force and head is self._armed_for:
            return
        if self._armed is not None:
            self._armed.cancel()
            self._armed = self._armed_for = None
        if head is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # armed when the loop starts (see start())
        delay = max(0.0, (head.when - self.now()) / self.scale)
        self._armed = loop.call_later(delay, self._fire_due)
        self._armed_for = head

    def start(self) -> None:
        """Arm the scaled clock once the event loop runs."""
        self._rearm(force=True)

    def _fire_due(self) -> None:
        self._armed = self._armed_for = None
        now = self.now()
        while self._heap and self._heap[0].when <= now + 1e-9:
            timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                timer.callback(*timer.args)
        self._rearm()

    # -- virtual time ---------------------------------------------------
    async def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer due on the way (in either mode:
        a scaled clock jumps ahead and flows on from there)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        await self._run_to(self.now() + seconds)

    async def run_until_idle(self, limit: float = 30 * 24 * 3600.0) -> float:
        """Virtual mode: jump from timer to timer until none is left (or `limit`
        simulated seconds passed). Returns the simulated seconds elapsed."""
        self._require_virtual()
        start = self._sim_anchor
        while (deadline := self.next_deadline()) is not None and deadline - start <= limit:
            await self._run_to(deadline)
        return self._sim_anchor - start

    async def run_until(self, predicate: Callable[[], bool], limit: float = 30 * 24 * 3600.0) -> bool:
        """Virtual mode: jump from timer to timer until `predicate()` holds."""
        self._require_virtual()
        start = self._sim_anchor
        await _settle()
        while not predicate():
            deadline = self.next_deadline()
            if deadline is None or deadline - start > limit:
                return False
            await self._run_to(deadline)
        return True

    async def autojump(self, idle: float = 0.02) -> None:
        """Virtual mode for a running lab: whenever nothing happened for `idle`
        wall seconds, jump to the next timer. Runs until cancelled."""
        self._require_virtual()
        while True:
            await asyncio.sleep(idle)
            deadline = self.next_deadline()
            if deadline is not None and not self.paused:
                await self._run_to(deadline)

    async def _run_to(self, target: float) -> None:
        if not self.virtual:      # re-anchor: time flows on from each jump
            self._sim_anchor, self._real_anchor = self.now(), time.monotonic()
        rewinds = self._rewinds
        while True:
            self._drop_cancelled()
            if not self._heap or self._heap[0].when > target:
                break
            timer = heapq.heappop(self._heap)
            self._jump_to(timer.when)
            timer.callback(*timer.args)
            await _settle()
            if self._rewinds != rewinds:
                return
        self._jump_to(target)
        self._rearm(force=True)
        await _settle()

    def _jump_to(self, when: float) -> None:
        self._sim_anchor = max(self.now(), when)
        self._real_anchor = time.monotonic()

    def _require_virtual(self) -> None:
        if not self.virtual:
            raise RuntimeError("the clock is scaled; advance() needs virtual time")


async def _settle(rounds: int = 8) -> None:
    """Let tasks woken by a timer run before the next timer fires."""
    for _ in range(rounds):
        await asyncio.sleep(0)

"""What the data plane saw: a traffic monitor per standalone device or pair.

Traffic passes while `carrying()` says so (a standalone device running its
applications; a pair with an active unit up). A Snort restart on the unit
carrying traffic (the first deployment after an upgrade) drops it briefly.
Outages are kept in simulated time; at one probe per second, the lost probes
are the seconds of outage (the probe surface lets clients see it live)."""

from __future__ import annotations

import math
from collections.abc import Callable

from simulator.clock import Clock
from simulator.journal import Event, Journal

PROBE_INTERVAL = 1.0


class TrafficMonitor:
    def __init__(self, name: str, clock: Clock, journal: Journal, units: list[str],
                 carrying: Callable[[], bool], carrier: Callable[[str], bool]) -> None:
        self.name = name
        self.clock, self.journal = clock, journal
        self.units = set(units)
        self._carrying = carrying
        self._carrier = carrier              # does this unit carry the traffic now?
        self._blip_until = 0.0
        self.outages: list[list[float | None]] = []   # [start, end or None]
        self.up = True
        # Its units' events, and for a pair the lab-wide ones (`ha.*`): never every event of the
        # lab, so an event costs O(1) monitors however many devices the lab has.
        self._unsubscribe = [journal.subscribe(self._on_event, device=unit) for unit in units]
        if len(units) > 1:
            self._unsubscribe.append(journal.subscribe(self._on_event))
        self.update()

    def _on_event(self, event: Event) -> None:
        if event["device"] in self.units or event["kind"].startswith("ha."):
            if event["kind"] == "snort.restart" and self._carrier(event["device"]):
                seconds = float(event.get("traffic_interruption_s", 0))
                self._blip_until = max(self._blip_until, self.clock.now() + seconds)
                self.clock.call_later(seconds, self.update)
            self.update()

    def update(self) -> None:
        up = self._carrying() and self.clock.now() >= self._blip_until
        if up == self.up:
            return
        self.up = up
        now = round(self.clock.now(), 3)
        if up:
            self.outages[-1][1] = now
        else:
            self.outages.append([now, None])
        self.journal.emit(None, "traffic", monitor=self.name, up=up)

    def lost_seconds(self) -> float:
        now = self.clock.now()
        return sum((end if end is not None else now) - (start or 0.0) for start, end in self.outages)

    def lost_probes(self) -> int:
        return math.ceil(self.lost_seconds() / PROBE_INTERVAL - 1e-9)

    def report(self) -> dict:
        return {"name": self.name, "up": self.up, "lost_seconds": round(self.lost_seconds(), 3),
                "lost_probes": self.lost_probes(), "outages": self.outages}

    def snapshot(self) -> dict:
        return {"up": self.up, "outages": [list(o) for o in self.outages], "blip_until": self._blip_until}

    def restore(self, data: dict) -> None:
        """Back to a snapshot's counters (simulator/snapshots.py); a Snort blip still running ends on time."""
        self.up, self.outages, self._blip_until = data["up"], [list(o) for o in data["outages"]], data["blip_until"]
        if self._blip_until > self.clock.now():
            self.clock.call_at(self._blip_until, self.update)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

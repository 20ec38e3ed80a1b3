"""The lab's journal: every event (state change, command, upgrade step, fault
fired) as a record with simulated and wall time, kept in memory, appended to a
JSON-lines file, and handed to subscribers (surfaces, the store, tests).

A restarted lab appends to the same file and goes on numbering (`seq` is
unique in a journal); a line a kill cut short is dropped when the file is
opened again. `write_ahead` (the store) sees each event before it is written,
so what the journal says happened is already in the state directory."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

Event = dict[str, Any]
Subscriber = Callable[[Event], None]


class Journal:
    def __init__(self, clock_now: Callable[[], float], path: Path | None = None, keep: int = 100_000) -> None:
        self._now = clock_now
        self.events: deque[Event] = deque(maxlen=keep)
        self._seq = _last_seq(path) if path is not None and path.exists() else 0
        self._file: IO[str] | None = path.open("a", encoding="utf-8", buffering=1) if path else None
        # by the device they want (None: every event), each with its subscription number: an event costs
        # its device's subscribers and the lab-wide ones, not one check per device of the lab
        self._subscribers: dict[str | None, list[tuple[int, Subscriber]]] = {}
        self._subscribed = 0
        self.write_ahead: Subscriber | None = None
        self.muted = False          # while a snapshot is restored: what re-arming its models says is not news

    @property
    def last_seq(self) -> int:
        return self._seq

    def emit(self, device: str | None, kind: str, **fields: Any) -> Event:
        if self.muted:
            return {"seq": self._seq, "sim_time": round(self._now(), 3), "wall_time": round(time.time(), 3),
                    "device": device, "kind": kind, **fields}
        self._seq += 1
        event: Event = {"seq": self._seq, "sim_time": round(self._now(), 3), "wall_time": round(time.time(), 3),
                        "device": device, "kind": kind, **fields}
        self.events.append(event)
        if self.write_ahead is not None:
            self.write_ahead(event)
        self._write(event)
        mine, everyone = self._subscribers.get(device, []), self._subscribers.get(None, [])
        targets = sorted(mine + everyone, key=lambda entry: entry[0]) if mine and everyone else [*mine, *everyone]
        for _number, callback in targets:          # in the order they subscribed
            callback(event)
        return event

    def recover(self, events: list[Event]) -> None:
        """Events a kill kept from the file after the state directory had them: written now, in order."""
        for event in sorted(events, key=lambda e: e["seq"]):
            if event["seq"] > self._seq:
                self._seq = event["seq"]
                self._write(event)

    def _write(self, event: Event) -> None:
        if self._file is not None:
            self._file.write(json.dumps(event, default=str) + "\n")

    def subscribe(self, callback: Subscriber, device: str | None = None) -> Callable[[], None]:
        """Call `callback` for every new event (of one device, if given).
        Returns the function that unsubscribes."""
        self._subscribed += 1
        entry = (self._subscribed, callback)
        self._subscribers.setdefault(device, []).append(entry)

        def unsubscribe() -> None:
            entries = self._subscribers.get(device, [])
            if entry in entries:
                entries.remove(entry)
                if not entries:
                    del self._subscribers[device]
        return unsubscribe

    def select(self, device: str | None = None, kind: str | None = None) -> list[Event]:
        return [e for e in self.events
                if (device is None or e["device"] == device) and (kind is None or e["kind"].startswith(kind))]

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _last_seq(path: Path) -> int:
    """The `seq` of the file's last whole event; a line cut short by a kill is dropped."""
    with path.open("rb+") as fh:
        size = fh.seek(0, 2)
        start = max(0, size - 65536)
        fh.seek(start)
        tail = fh.read()
        end = tail.rfind(b"\n") + 1
        if 0 < end < len(tail):                 # an unfinished last line
            fh.truncate(start + end)
        for line in reversed(tail[:end].splitlines()):
            try:
                return int(json.loads(line)["seq"])
            except (ValueError, KeyError, TypeError):
                continue
    return 0

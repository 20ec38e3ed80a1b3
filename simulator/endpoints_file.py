"""The endpoints file of a running lab, kept current at any lab size.

Each device's entry (and each pair's) is kept as JSON text and rebuilt only
when an event says it changed (a state, an HA role, a power change, a port
lost or regained); a rewrite joins the texts and replaces the file at once,
at most every DELAY wall seconds however many events come. A fleet's upgrade
wave thus costs a few entries per rewrite instead of every device's, and the
file is never staler than DELAY after the last change. One device a line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.journal import Event

if TYPE_CHECKING:
    from simulator.lab import Lab

# Events that change what the file says about a device or a pair.
EVENTS = frozenset({"state", "ha.unit", "ha.state", "power", "fxos.slot", "port.lost", "port.regained"})
DELAY = 0.2         # wall seconds: the file is rewritten at most this often


class EndpointsFile:
    def __init__(self, lab: Lab, path: Path) -> None:
        self.lab, self.path = lab, path
        self.devices: dict[str, str] = {}
        self.pairs: dict[str, str] = {}
        self._dirty: set[str] = set(lab.devices)
        self._dirty_pairs: set[str] = set(lab.pairs)
        self._due: asyncio.TimerHandle | None = None

    def changed(self, event: Event) -> None:
        if event["kind"] not in EVENTS:
            return
        if event["device"] in self.lab.devices:
            self._dirty.add(event["device"])
        pair = self.lab.pairs.get(event.get("pair") or "")
        if pair is not None:
            self._dirty_pairs.add(pair.name)
            self._dirty.update(unit.name for unit in pair.units.values())
        if self._due is None:
            self._due = asyncio.get_running_loop().call_later(DELAY, self.write)

    def everything_changed(self) -> None:
        """The lab was put back to a snapshot: every entry is rebuilt at the next write."""
        self._dirty.update(self.lab.devices)
        self._dirty_pairs.update(self.lab.pairs)
        if self._due is None:
            self._due = asyncio.get_running_loop().call_later(DELAY, self.write)

    def write(self) -> None:
        """Rebuild what changed and replace the file."""
        self._due = None
        for name in self._dirty:
            self.devices[name] = json.dumps(self.lab.device_endpoints(name))
        for name in self._dirty_pairs:
            self.pairs[name] = json.dumps(self.lab.pair_endpoints(name))
        self._dirty.clear()
        self._dirty_pairs.clear()
        head: dict[str, Any] = {"lab": self.lab.name, "state_dir": str(self.lab.state_dir),
                                "control": {"url": self.lab.control.url}}
        parts = [json.dumps(head)[:-1], ',\n"devices": [\n', ",\n".join(self.devices[n] for n in self.lab.devices)]
        if self.lab.pairs:
            parts += ['],\n"pairs": [\n', ",\n".join(self.pairs[n] for n in self.lab.pairs)]
        parts.append("]}\n")
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text("".join(parts))
        tmp.replace(self.path)

    def close(self) -> None:
        if self._due is not None:
            self._due.cancel()
            self._due = None

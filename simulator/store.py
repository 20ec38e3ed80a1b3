"""Durable lab state in the state directory.

Layout:
  lab.json                 lab name, seed, simulated time at the last save
  faults.json              the fault plan, with what fired
  journal.jsonl            every event (see journal.py)
  ssh_host_key             the lab's SSH host key
  devices/<name>.json      one device's snapshot (version, package, job, history ...)
  devices/<name>/fs/       the device's file system as SFTP/SCP see it (var/sf/updates)
  restored.json            after a restore (simulator/snapshots.py), until the lab stops: the
                           journal's seq then and the snapshot's state; a device saved no later
                           than that seq is loaded from the snapshot instead of its own file
  snapshots/<id>/          the lab's snapshots (simulator/snapshots.py)

A device is saved before each event of its own is journaled (write-ahead),
and all devices at stop. Each save notes the journal's seq (`_saved_seq`), so
a restore need not write every device at once (on ext4, replacing a file
flushes it: milliseconds each)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from simulator.journal import Event, Journal


class Persistent(Protocol):
    name: str

    def snapshot(self) -> dict[str, Any]: ...


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "devices").mkdir(parents=True, exist_ok=True)
        self._devices: dict[str, Persistent] = {}
        self._journal: Journal | None = None
        self._save_lab: Callable[[], None] | None = None
        self._marker: dict[str, Any] | None = None      # restored.json, once read

    @property
    def journal_path(self) -> Path:
        return self.root / "journal.jsonl"

    def device_fs(self, name: str) -> Path:
        return self.root / "devices" / name / "fs"

    def load_device(self, name: str) -> tuple[dict[str, Any], Event | None] | None:
        """A device's snapshot, and the last event it reflects (None: no snapshot)."""
        path = self.root / "devices" / f"{name}.json"
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        restored = self._restored()
        if restored is not None and name in restored["state"]["devices"] and \
                (data is None or data.get(_SAVED, 0) <= restored["seq"]):
            return restored["state"]["devices"][name]["model"], None
        if data is None:
            return None
        data.pop(_SAVED, None)
        return data, data.pop(_EVENT, None)

    def mark_restored(self, seq: int, state: str) -> None:
        """The lab was put back to a snapshot (`state`, its JSON) with the journal at `seq`."""
        _write_text(self.root / RESTORED, f'{{"seq": {seq}, "state": {state}}}')
        self._marker = None

    def _restored(self) -> dict[str, Any] | None:
        if self._marker is None and (self.root / RESTORED).exists():
            self._marker = json.loads((self.root / RESTORED).read_text(encoding="utf-8"))
        return self._marker

    def load_lab(self) -> dict[str, Any] | None:
        path = self.root / "lab.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def save_lab(self, data: dict[str, Any]) -> None:
        _write_json(self.root / "lab.json", data)

    def load_faults(self) -> list[dict[str, Any]] | None:
        path = self.root / "faults.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def save_faults(self, faults: list[dict[str, Any]]) -> None:
        _write_json(self.root / "faults.json", faults)

    def track(self, devices: dict[str, Persistent], journal: Journal, save_lab: Callable[[], None]) -> None:
        """Write ahead of the journal: before an event is written, the device it
        is about (or, for a lab or pair event, the lab: pairs, faults, clock) is
        saved with it, so after any kill the state directory holds at least
        what the journal says (and `Journal.recover` adds what it lacks)."""
        self._devices = devices
        self._save_lab = save_lab
        self._journal = journal
        journal.write_ahead = self._write_ahead

    def _write_ahead(self, event: Event) -> None:
        name = event.get("device")
        if event["kind"] == "command":
            return
        if name in self._devices:
            self.save_device(self._devices[name], event)
        if (name is None or event["kind"].startswith(("ha.", "fault"))) and self._save_lab is not None:
            self._save_lab()

    def save_device(self, device: Persistent, event: Event | None = None) -> None:
        data = device.snapshot()
        if event is not None:
            data[_EVENT] = event
        data[_SAVED] = event["seq"] if event is not None else self._journal.last_seq if self._journal else 0
        _write_json(self.root / "devices" / f"{device.name}.json", data)

    def close(self) -> None:
        """Save every device as it is (the lab stops)."""
        if self._journal is not None and self._journal.write_ahead == self._write_ahead:
            self._journal.write_ahead = None
        for device in self._devices.values():
            self.save_device(device)
        (self.root / RESTORED).unlink(missing_ok=True)      # every device's own file is newer now
        self._marker = None


_EVENT = "_journal_event"      # in a device's snapshot: the last event it reflects
_SAVED = "_saved_seq"          # in a device's snapshot: the journal's seq when it was saved
RESTORED = "restored.json"


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, indent=1, default=str))


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)

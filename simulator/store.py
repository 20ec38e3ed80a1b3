"""Durable lab state in the state directory.

Layout:
  lab.json                 lab name, seed, simulated time at the last save
  faults.json              the fault plan, with what fired
  journal.jsonl            every event (see journal.py)
  ssh_host_key             the lab's SSH host key
  devices/<name>.json      one device's snapshot (version, package, job, history ...)
  devices/<name>/fs/       the device's file system as SFTP/SCP see it (var/sf/updates)

Devices are saved shortly after any event of theirs (coalesced), and all at stop."""

from __future__ import annotations

import asyncio
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
        self._dirty: set[str] = set()
        self._devices: dict[str, Persistent] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._on_flush: Callable[[], None] | None = None

    @property
    def journal_path(self) -> Path:
        return self.root / "journal.jsonl"

    def device_fs(self, name: str) -> Path:
        return self.root / "devices" / name / "fs"

    def load_device(self, name: str) -> dict[str, Any] | None:
        path = self.root / "devices" / f"{name}.json"
        if not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

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

    def track(self, devices: dict[str, Persistent], journal: Journal,
              on_flush: Callable[[], None] | None = None) -> None:
        """Save each device shortly after its events (and, with them, what
        `on_flush` saves: the lab's clock and fault plan)."""
        self._devices = devices
        self._on_flush = on_flush
        self._unsubscribe = journal.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        name = event.get("device")
        if event["kind"] == "command":
            return
        if name in self._devices:
            self._dirty.add(name)
        if self._flush_handle is None:
            try:
                self._flush_handle = asyncio.get_running_loop().call_later(0.05, self.flush)
            except RuntimeError:
                self.flush()

    def flush(self) -> None:
        self._flush_handle = None
        dirty, self._dirty = self._dirty, set()
        for name in dirty:
            self.save_device(self._devices[name])
        if self._on_flush is not None:
            self._on_flush()

    def save_device(self, device: Persistent) -> None:
        _write_json(self.root / "devices" / f"{device.name}.json", device.snapshot())

    def close(self, save_all: bool = True) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._dirty.clear()
        if save_all:
            for device in self._devices.values():
                self.save_device(device)
        if self._unsubscribe:
            self._unsubscribe()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)

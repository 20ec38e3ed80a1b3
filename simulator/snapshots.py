"""Snapshots of a running lab, and putting a lab back to one.

A snapshot holds what the state directory holds after a kill -9 (each
device's and pair's `snapshot()`, the fault plan with what fired, the clock)
and what a kill loses: the traffic monitors, the random streams ids are drawn
from, and when each pending device and pair timer was due. Devices' files
(uploaded packages, images) are hard links: every writer in the lab writes a
new file under a partial name and renames it (simulator/transfer.py), so a
linked file never changes under a snapshot.

Restoring goes through the kill -9 path: the clock is set back and every
timer dropped, then each device's and pair's `restore()` takes its state back
and re-arms what that state waits for (a stage, a boot, a join). A timer the
snapshot saw pending is then moved back to when it was due, so a job goes on
from where it stood, not from the start of its stage; a timer that does not
match (a pair's join, which restarts) keeps the restore's own. The journal is
muted meanwhile (what re-arming says is not news) and says `lab.restored`
after. Open SSH, HTTPS and console sessions are dropped as at a reboot; every
port stays.

On disk: STATE/snapshots/<id>/{meta.json,state.json,fs/<device>/...}; made
under a hidden name and renamed whole, so a kill leaves none half-made."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.clock import Clock, Timer
from simulator.transfer import DeviceWorker, is_partial

if TYPE_CHECKING:
    from simulator.lab import Lab

FORMAT = 1
MAX_SNAPSHOTS = 64                  # per lab; past that, delete one first
COPY_BUDGET = 256 * 2**20           # bytes a snapshot may copy where a hard link cannot be made
MAX_NAME = 200


class SnapshotLimit(Exception):
    """A snapshot the lab cannot take (too many, files too big to copy)."""


@dataclass
class Snapshot:
    id: str
    name: str | None
    sim_time: float
    created: float                   # wall time
    devices: int
    text: str | None = None          # the state as JSON (None: not read from disk yet)

    def entry(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "sim_time": round(self.sim_time, 3),
                "created": round(self.created, 3), "devices": self.devices}


class Snapshots:
    """A lab's snapshots, in memory and under STATE/snapshots."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.root = lab.state_dir / "snapshots"
        self.items: dict[str, Snapshot] = {}
        self._next = 1
        if self.root.is_dir():
            for folder in sorted(self.root.iterdir()):
                if folder.name.startswith("."):          # one a kill left half-made
                    shutil.rmtree(folder, ignore_errors=True)
                elif (folder / "meta.json").exists():
                    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
                    self.items[meta["id"]] = Snapshot(**meta)
                    self._next = max(self._next, int(meta["id"]) + 1)
        self.items = dict(sorted(self.items.items(), key=lambda item: int(item[0])))

    def get(self, sid: str) -> Snapshot:
        snapshot = self.items.get(sid)
        if snapshot is None:
            raise KeyError(f"no snapshot {sid!r} in lab {self.lab.name}")
        return snapshot

    # -- save ------------------------------------------------------------------------------
    def save(self, name: str | None = None) -> Snapshot:
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
            raise ValueError(f"a snapshot's name is a string of at most {MAX_NAME} characters")
        if len(self.items) >= MAX_SNAPSHOTS:
            raise SnapshotLimit(f"lab {self.lab.name} keeps {MAX_SNAPSHOTS} snapshots at most; delete one first")
        from simulator.lab import gc_paused  # lab.py imports this module
        lab = self.lab
        sid = str(self._next)
        with gc_paused():
            state = capture(lab)
            snapshot = Snapshot(sid, name, state["sim_time"], time.time(), len(lab.devices),
                                json.dumps(state, default=str))
        work = self.root / f".{sid}"
        shutil.rmtree(work, ignore_errors=True)
        try:
            (work / "fs").mkdir(parents=True)
            budget = [COPY_BUDGET]
            for device in lab.devices:
                _link_tree(lab.store.device_fs(device), work / "fs" / device, budget)
            (work / "state.json").write_text(snapshot.text or "", encoding="utf-8")
            meta = {k: v for k, v in snapshot.__dict__.items() if k != "text"}
            (work / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            os.replace(work, self.root / sid)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        self._next += 1
        self.items[sid] = snapshot
        lab.journal.emit(None, "lab.snapshot", id=sid, name=name, snapshot_time=snapshot.entry()["sim_time"])
        return snapshot

    def delete(self, sid: str) -> Snapshot:
        snapshot = self.get(sid)
        shutil.rmtree(self.root / sid, ignore_errors=True)
        del self.items[sid]
        self.lab.journal.emit(None, "lab.snapshot_deleted", id=sid, name=snapshot.name)
        return snapshot

    # -- restore ---------------------------------------------------------------------------
    async def restore(self, sid: str) -> Snapshot:
        snapshot = self.get(sid)
        if snapshot.text is None:
            snapshot.text = (self.root / sid / "state.json").read_text(encoding="utf-8")
        from simulator.lab import gc_paused
        lab = self.lab
        with gc_paused():       # a young-generation collection per few hundred objects parsed adds up
            state = json.loads(snapshot.text)         # a copy of its own: the models keep what they are given
            for worker in lab.workers:                # transfers in flight belong to the present
                if isinstance(worker, DeviceWorker):
                    worker.transfers.cancel()
            for device in lab.devices:
                _put_back_tree(self.root / sid / "fs" / device, lab.store.device_fs(device))
            apply(lab, state)
            # What the state directory says of every device from now on (until each saves again): one file.
            lab.store.mark_restored(lab.journal.last_seq, snapshot.text)
            lab.journal.emit(None, "lab.restored", id=sid, name=snapshot.name,
                             snapshot_time=snapshot.entry()["sim_time"])
        if lab.running:
            await _drop_sessions(lab)
            await lab.settle()
        return snapshot


# -- the state -------------------------------------------------------------------------------
def capture(lab: Lab) -> dict[str, Any]:
    return {
        "format": FORMAT, "lab": lab.name, "sim_time": lab.clock.now(),
        "devices": {name: {"model": device.snapshot(), "timer": _due(device._timer)}
                    for name, device in lab.devices.items()},
        "pairs": {name: {"model": pair.snapshot(),
                         "timers": {key: _due(timer) for key, timer in _pair_timers(pair).items()}}
                  for name, pair in lab.pairs.items()},
        "faults": lab.faults.dump(),
        "traffic": {name: monitor.snapshot() for name, monitor in lab.traffic.items()},
        "rng": lab.context.rng.getstate(), "fault_rng": lab.faults.rng.getstate(),
    }


def apply(lab: Lab, state: dict[str, Any]) -> None:
    """Put the lab's models back to `state`, in one go (no other task runs meanwhile)."""
    clock, journal = lab.clock, lab.journal
    clock.rewind(state["sim_time"])
    journal.muted = True
    try:
        lab.context.rng.setstate(_rng_state(state["rng"]))
        lab.faults.rng.setstate(_rng_state(state["fault_rng"]))
        lab.faults.replace(state["faults"])
        # As at a start: devices restored without their pairs, hosted ones before their hosts.
        pairs = {name: device.ha for name, device in lab.devices.items()}
        order = sorted(lab.devices, key=lambda name: lab.kind_of(name).hosts)
        for name in order:
            device = lab.devices[name]
            device.ha, device._timer = None, None
            device.restore(state["devices"][name]["model"])
        for name, pair in pairs.items():
            lab.devices[name].ha = pair
        for name, pair in lab.pairs.items():
            pair.restore(state["pairs"][name]["model"])
        for name, monitor in lab.traffic.items():
            monitor.restore(state["traffic"][name])
        for name, device in lab.devices.items():
            device._timer = _retimed(clock, device._timer, state["devices"][name]["timer"], idle_if_none=True)
        for name, pair in lab.pairs.items():
            timers = _pair_timers(pair)
            for key, due in state["pairs"][name]["timers"].items():
                if key in timers:
                    timers[key] = _retimed(clock, timers[key], due) or timers[key]
        lab.reschedule_faults()
    finally:
        journal.muted = False


def _pair_timers(pair: Any) -> dict[str, Timer]:
    return getattr(pair, "_timers", {})       # a failover pair's keyed timers (kinds/failover.py)


def _due(timer: Timer | None) -> dict[str, Any] | None:
    """When a pending timer is due, and what it calls (to know it again after a restore)."""
    if timer is None or timer.cancelled:
        return None
    return {"when": timer.when, **_signature(timer)}


def _signature(timer: Timer) -> dict[str, Any]:
    return {"call": getattr(timer.callback, "__name__", type(timer.callback).__name__),
            "args": [a if isinstance(a, (str, int, float, bool, type(None))) else getattr(a, "name", type(a).__name__)
                     for a in timer.args]}


def _retimed(clock: Clock, timer: Timer | None, due: dict[str, Any] | None, idle_if_none: bool = False) -> Timer | None:
    """The timer a restore armed, moved to when the snapshot's was due if it is the same call;
    with `idle_if_none`, none where the snapshot had none (a hang waits on nothing)."""
    if timer is None or timer.cancelled:
        return None
    if due is None:
        if idle_if_none:
            timer.cancel()
            return None
        return timer
    if _signature(timer) != {"call": due["call"], "args": due["args"]}:
        return timer
    timer.cancel()
    return clock.call_at(due["when"], timer.callback, *timer.args)


def _rng_state(value: list[Any]) -> tuple[Any, ...]:
    """random.Random.getstate() after a JSON round trip: (version, tuple of ints, gauss)."""
    version, internal, gauss = value
    return version, tuple(internal), gauss


async def _drop_sessions(lab: Lab) -> None:
    """Sessions end as at a reboot; each listener then follows its device's restored state."""
    if lab.ssh is not None:
        for endpoint in lab.ssh.endpoints.values():
            endpoint.drop_sessions()
            lab.ssh.resync(endpoint)
    if lab.https is not None:
        sites = list(lab.https.sites.values())
        await asyncio.gather(*(site.drop_sessions() for site in sites))
        for site in sites:
            lab.https.resync(site)
    if lab.console is not None:
        await asyncio.gather(*(line.restart_line() for line in lab.console.endpoints.values()))
    if lab.probes is not None:
        for probe in lab.probes.probes.values():
            lab.probes.resync(probe)
    if lab.endpoints_writer is not None:
        lab.endpoints_writer.everything_changed()


# -- files ---------------------------------------------------------------------------------
def _files(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """The whole regular files under `root` (partial uploads left out), relative to it."""
    if not root.is_dir():
        return
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            info = path.lstat()
            if not is_partial(path) and path.is_file() and not path.is_symlink():
                yield path.relative_to(root), info


def _link_tree(source: Path, target: Path, budget: list[int]) -> None:
    """`source`'s files into `target`: hard links, or copies within `budget` bytes."""
    target.mkdir(parents=True, exist_ok=True)
    for relative, info in _files(source):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source / relative, target / relative)
        except OSError:
            budget[0] -= info.st_size
            if budget[0] < 0:
                raise SnapshotLimit(f"snapshot files: more than {COPY_BUDGET // 2**20} MiB to copy "
                                    f"(no hard links on this file system)") from None
            shutil.copy2(source / relative, target / relative)


def _put_back_tree(saved: Path, live: Path) -> None:
    """Make `live` hold `saved`'s files: the same ones stay, others go, missing ones come back (links)."""
    keep = {relative: info.st_ino for relative, info in _files(saved)}
    if live.is_dir():
        for folder, _dirs, names in os.walk(live):
            for name in names:
                path = Path(folder) / name
                relative = path.relative_to(live)
                if keep.get(relative) == path.lstat().st_ino:
                    del keep[relative]
                else:
                    path.unlink()
    for relative in keep:
        (live / relative).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(saved / relative, live / relative)
        except OSError:
            shutil.copy2(saved / relative, live / relative)

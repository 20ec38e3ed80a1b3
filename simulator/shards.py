"""A lab too big for one process, as shards: worker processes that each run a
deterministic part of the profile's devices, behind one control API
(control/router.py), one endpoints file and one journal view.

A part keeps together what must live in one process: an HA pair's units, and
a chassis with the FTDs it hosts. Parts are contiguous runs of the profile's
devices, balanced by count, so the same profile and shard count always give
the same parts (a restarted worker, or a StatefulSet's pod N, finds its own
devices again in its state directory).

On one machine `simulator up --shards N` runs the workers (forked from a
server that imported the runtime once), notices a worker that dies, reports
it in the journal and status and restarts it from its state directory. Each
shard listens on its own loopback address (127.0.0.1, .2, ...) when the lab
binds to one, since five listeners for each of 20,000 devices are more ports
than one address has."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import json
import multiprocessing
import os
import random
import resource
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.journal import Journal

if TYPE_CHECKING:       # imported where used: the supervisor never validates a profile (nor imports pydantic)
    from simulator import profile as profiles

READY_TIMEOUT = 300.0      # wall seconds for a worker to listen on all its devices' ports
WATCH_INTERVAL = 0.2       # how often the workers are looked at (and shard endpoints files reread)
ORPHAN_CHECK = 1.0        # wall seconds between a worker's looks at whether its lab's process is still there
COMPACT_ENDPOINTS = 1000  # devices: a merged endpoints file of more is unindented (json's C encoder, 10x faster)
LOG_TAIL = 2000            # bytes of a failed worker's log shown to the user


# -- parts -----------------------------------------------------------------------------
def groups(profile: profiles.Profile) -> list[list[str]]:
    """The devices that must share a process, in profile order: a pair's units, a chassis and its FTDs."""
    from simulator.kinds.registry import KINDS

    specs = profile.expanded()
    parent = {spec.name: spec.name for spec in specs}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    def join(a: str, b: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb, key=order.__getitem__)] = min(ra, rb, key=order.__getitem__)

    order = {spec.name: i for i, spec in enumerate(specs)}
    for pair in profile.ha_pairs:
        join(pair.primary, pair.secondary)
    for spec in specs:
        hosted = KINDS[spec.kind].hosted
        for name in hosted(spec) if hosted else ():
            if name in parent:
                join(spec.name, name)
    found: dict[str, list[str]] = {}
    for spec in specs:
        found.setdefault(root(spec.name), []).append(spec.name)
    return sorted(found.values(), key=lambda group: order[group[0]])


def partition(profile: profiles.Profile, count: int) -> list[list[str]]:
    """The device names of each of `count` shards: runs of whole groups, about the same size."""
    if count < 1:
        raise ValueError(f"--shards must be at least 1 (got {count})")
    found = groups(profile)
    if count > len(found):
        raise ValueError(f"lab {profile.lab} cannot run as {count} shards: it has {len(found)} groups of devices "
                         f"that must share a process (HA pairs, a chassis and its FTDs, standalone devices)")
    total = sum(len(group) for group in found)
    parts: list[list[str]] = [[] for _ in range(count)]
    before, last = 0, -1
    for i, group in enumerate(found):
        # The shard the group's middle falls in, but never leave a shard without a group.
        shard = min((before + len(group) // 2) * count // total, last + 1, count - 1)
        last = max(shard, count - (len(found) - i))
        parts[last] += group
        before += len(group)
    return parts


def part_data(profile: profiles.Profile, parts: list[list[str]], index: int) -> dict[str, Any]:
    """Shard `index`'s profile: its devices, their pairs and its faults, as data to validate in the worker."""
    from simulator.kinds.registry import KINDS

    mine = set(parts[index])
    specs = [spec for spec in profile.expanded() if spec.name in mine]
    pairs = [pair for pair in profile.ha_pairs if pair.primary in mine]
    owner = {name: i for i, names in enumerate(parts) for name in names}
    pair_owner = {pair.name: owner[pair.primary] for pair in profile.ha_pairs}
    faults = [f for f in profile.faults
              if index in fault_shards(f.model_dump(exclude_defaults=True), owner, pair_owner, len(parts))]
    data = profile.model_dump(mode="json", exclude_defaults=True, exclude={"devices", "ha_pairs", "faults", "control_port"})
    return {**data, "devices": [{**spec.model_dump(mode="json", exclude_defaults=True), "kind": spec.kind} for spec in specs
                                if spec.kind in KINDS],
            "ha_pairs": [pair.model_dump(mode="json", exclude_defaults=True) for pair in pairs],
            "faults": [f.model_dump(mode="json", exclude_defaults=True) for f in faults]}


def fault_shards(fault: dict[str, Any], owner: dict[str, int], pairs: dict[str, int], count: int) -> list[int]:
    """The shards a fault (as data: `times` absent is 1) is added to, so that it fires as often as in
    one process. A device's (a pair's, for failover.link) goes to the shard that owns it; an unknown
    name to shard 0, which refuses it as one lab would. For any device: every shard when it fires every
    time (`times` unset), or when it is timed (power, clock.ntp, failover.link: one firing that hits
    every device or pair, each shard its own); a counted one goes to one shard, which is the first HA
    pair's for ha.sync, else shard 0, which owns the lab's first device."""
    from simulator.faults import TIMED

    device, point = fault.get("device"), fault.get("point")
    if isinstance(device, str):
        return [(pairs if point == "failover.link" else owner).get(device, 0)]
    if fault.get("times", 1) is None or point in TIMED:
        return list(range(count))
    if point == "ha.sync" and pairs:
        return [next(iter(pairs.values()))]
    return [0]


def file_faults(profile: profiles.Profile, path: Path | None, index: int, count: int) -> list[dict[str, Any]]:
    """Shard `index`'s faults of a --faults file (a StatefulSet pod's: each pod reads the whole file)."""
    from simulator import profile as profiles

    if path is None:
        return []
    plan = make_plan(profile, count, with_data=False)
    owner = {name: i for i, names in enumerate(plan.parts) for name in names}
    found = [f.model_dump(exclude_defaults=True) for f in profiles.load_fault_file(path)]
    return [f for f in found if index in fault_shards(f, owner, plan.pairs, count)]


def part(profile: profiles.Profile, index: int, count: int) -> profiles.Profile:
    """Shard `index` of `count` of a profile (what `simulator up --shard I/N` runs)."""
    if not 0 <= index < count:
        raise ValueError(f"--shard {index}/{count}: the index counts from 0 to {count - 1}")
    from simulator import profile as profiles

    return profiles.validate(part_data(profile, partition(profile, count), index),
                             f"{profile.lab} shard {index}/{count}")


@dataclass
class Plan:
    """What the router and the supervisor need of a sharded profile, without its specs."""

    lab: str
    control_port: int
    names: list[str]            # every device, in profile order
    parts: list[list[str]]      # each shard's devices
    pairs: dict[str, int]       # HA pair: its shard
    data: list[str]             # each shard's profile, as JSON (empty for the router)


def make_plan(profile: profiles.Profile, count: int, with_data: bool = True) -> Plan:
    parts = partition(profile, count)
    owner = {name: i for i, names in enumerate(parts) for name in names}
    return Plan(profile.lab, profile.control_port, [spec.name for spec in profile.expanded()], parts,
                {pair.name: owner[pair.primary] for pair in profile.ha_pairs},
                [json.dumps(part_data(profile, parts, i)) for i in range(len(parts))] if with_data else [])


def plan_of(ref: str | None, count: int | None) -> Plan:
    """The plan of a profile file in `count` shards (None: as many as needed; run in a worker-to-be of
    the fork server, so the supervisor never holds a fleet's specs nor imports the device kinds)."""
    from simulator import profile as profiles

    profile = profiles.load(ref)
    return make_plan(profile, needed(profile) if count is None else count)


def plan_apart(context: Any, ref: str | None, count: int | None) -> Plan:
    with context.Pool(1) as pool:
        plan: Plan = pool.apply(plan_of, (ref, count))
        return plan


def shard_arg(text: str) -> tuple[int, int]:
    """`I/N`; `auto/N` takes I from the host name's last `-<ordinal>` (a StatefulSet's pod lab-3 is 3)."""
    index, _, count = text.partition("/")
    if index == "auto":
        index = os.environ.get("HOSTNAME", "").rpartition("-")[2]
    if not index.isdigit() or not count.isdigit():
        raise ValueError(f"--shard {text}: expected INDEX/COUNT, e.g. 0/4 (or auto/4 in a StatefulSet pod)")
    return int(index), int(count)


def needed(profile: profiles.Profile) -> int:
    """The fewest shards whose every process fits its file descriptor limit (1 when one process can hold the lab)."""
    from simulator.descriptors import SPARE_FDS
    from simulator.lab import listeners

    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if limit == resource.RLIM_INFINITY:
        return 1
    _, fds = listeners(profile)
    if fds + SPARE_FDS <= limit:
        return 1
    count = max(2, -(-fds // (limit - SPARE_FDS)))     # the whole lab over what one process opens
    while count <= len(groups(profile)):
        if all(listeners(_subset(profile, names))[1] + SPARE_FDS <= limit for names in partition(profile, count)):
            return count
        count += 1
    raise ValueError(f"lab {profile.lab}: a group of devices that must share a process needs more file "
                     f"descriptors than one process may open ({limit:,})")


def _subset(profile: profiles.Profile, names: list[str]) -> profiles.Profile:
    """The profile narrowed to these devices without validating it again (for counting only)."""
    mine = set(names)
    subset = profile.model_copy(update={"ha_pairs": [p for p in profile.ha_pairs if p.primary in mine]})
    subset._specs = {name: spec for name, spec in profile._specs.items() if name in mine}
    return subset


def shard_host(host: str, index: int) -> str:
    """Shard `index`'s bind address: the next loopback addresses after the lab's (Linux routes all
    of 127/8 to lo), or the lab's own address when it is not a loopback one."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 4 and address.is_loopback:
        shifted = address + index
        if shifted.is_loopback:
            return str(shifted)
    return host


def shard_seed(seed: int | None, index: int) -> int | None:
    """Each shard its own stream (serials and UUIDs never repeat across shards), the same for the same seed."""
    return None if seed is None else random.Random(f"{seed}:shard:{index}").randrange(2**31)


# -- workers on this machine ---------------------------------------------------------------
def fork_server() -> Any:
    """The processes' context: workers fork from a server that imported the runtime once (a fresh
    interpreter, so it holds none of this process's sockets), which starts here if it has not yet;
    started early, its imports overlap with loading the profile."""
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["simulator.lab", "simulator.shards"])
    forkserver.ensure_running()
    return context


@dataclass
class WorkerSpec:
    index: int
    data: str                   # its profile part, as JSON (a fleet's parts are kept compact for restarts)
    state_dir: Path
    host: str
    seed: int | None
    options: dict[str, Any]     # time_scale, virtual_time, start_time, ports, ca
    parent: int = 0             # the lab's process: a worker stops (keeping its state) when it is gone

    @property
    def endpoints(self) -> Path:
        return self.state_dir / "endpoints.json"

    @property
    def log(self) -> Path:
        return self.state_dir / "shard.log"


def run_worker(spec: WorkerSpec) -> None:
    """A worker process: its part of the lab, its output in shard.log, stopped by SIGTERM or SIGINT."""
    from simulator import profile as profiles

    gc.freeze()     # the fork server's modules: never traversed by this process's collector, so shared, not copied
    spec.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(spec.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    asyncio.run(serve_part(profiles.validate(json.loads(spec.data), f"shard {spec.index}"), spec.state_dir, spec.host,
                           spec.seed, spec.endpoints, parent=spec.parent, **spec.options))


async def serve_part(part: profiles.Profile, state_dir: Path, host: str, seed: int | None, endpoints: Path | None,
                     *, time_scale: float | None = None, virtual_time: bool = False, start_time: float | None = None,
                     faults: list[dict[str, Any]] | None = None, control_port: int | None = None, ports: str | None = None,
                     ca: str | None = None, parent: int = 0) -> None:
    """Run one shard's lab until SIGTERM/SIGINT, then stop it, keeping its state (its ports from the
    range `ports`: each shard has its own address, so every shard the same range)."""
    from simulator.lab import Lab

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.perf_counter()
    lab = Lab(part, state_dir=state_dir, time_scale=time_scale, virtual_time=virtual_time, autojump=virtual_time,
              host=host, seed=seed, endpoints_file=endpoints, control_port=control_port or 0, start_time=start_time,
              ports=ports, ca=ca)
    await lab.start()
    for fault in faults or ():        # this shard's of a --faults file (see fault_shards)
        lab.add_fault(**fault)
    if parent:
        loop.create_task(_stop_when_gone(parent, stop))
    print(f"shard of lab {lab.name}: {len(lab.devices)} devices on {host}, started in "
          f"{time.perf_counter() - started:.2f} s; control {lab.control.url}", flush=True)
    await stop.wait()
    await lab.stop()
    print(f"stopped; state kept in {state_dir}", flush=True)


async def serve_sharded(plan: Plan, *, state_dir: Path, host: str, seed: int | None, endpoints_file: Path | None,
                        control_port: int | None, options: dict[str, Any]) -> int:
    """`simulator up --shards N`: the workers and the router until SIGINT/SIGTERM; all stop, all state kept."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.perf_counter()
    supervisor = Supervisor(plan, state_dir=state_dir, host=host, seed=seed, endpoints_file=endpoints_file,
                            control_port=control_port, options=options)
    lab, count = plan.lab, len(plan.parts)
    del plan            # each part is kept once, by the supervisor, for restarts
    try:
        await supervisor.start()
    except BaseException:
        await supervisor.stop()
        raise
    print(f"lab {lab}: {supervisor.devices} devices in {count} shards, started in "
          f"{time.perf_counter() - started:.2f} s")
    for entry in supervisor.router.shard_entries():
        print(f"  shard {entry['index']}: {entry['devices']} devices on {entry['host']}, pid {entry.get('pid')}, "
              f"state {entry.get('state_dir')}")
    print(f"state: {state_dir}   journal: {state_dir / 'journal.jsonl'} and each shard's   "
          f"control: {supervisor.router.url}" + (f"   endpoints: {endpoints_file}" if endpoints_file else ""))
    print(f"dashboard: {supervisor.router.url}/ui/")
    print("Ctrl-C stops every shard and keeps their state.", flush=True)
    await stop.wait()
    print("stopping lab ...", flush=True)
    await supervisor.stop()
    print(f"stopped; state kept in {state_dir}", flush=True)
    return 0


async def _stop_when_gone(pid: int, stop: asyncio.Event) -> None:
    """No worker outlives its lab: a killed `simulator up` (kill -9) leaves its workers to stop cleanly."""
    while True:
        await asyncio.sleep(ORPHAN_CHECK)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()
            return
        except PermissionError:     # the pid is someone else's now
            stop.set()
            return


def merge_endpoints(docs: list[dict[str, Any] | None], order: dict[str, int], lab: str, state_dir: str | None,
                    control: str, shards: list[dict[str, Any]]) -> dict[str, Any]:
    """One endpoints document from the shards' (a shard not up leaves its devices out; `shards` says so)."""
    devices = [entry for doc in docs if doc for entry in doc["devices"]]
    devices.sort(key=lambda entry: order.get(entry["name"], 0))
    pairs = [pair for doc in docs if doc for pair in doc.get("pairs", [])]
    return {"lab": lab, **({"state_dir": state_dir} if state_dir else {}), "control": {"url": control},
            "devices": devices, **({"pairs": pairs} if pairs else {}), "shards": shards}


class Supervisor:
    """The workers of a sharded lab on this machine, and the one control API in front of them."""

    def __init__(self, plan: Plan, *, state_dir: Path, host: str, seed: int | None, endpoints_file: Path | None,
                 control_port: int | None, options: dict[str, Any]) -> None:
        from simulator.control.router import Router, ShardLink

        self.state_dir, self.endpoints_file = Path(state_dir), endpoints_file
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.lab = plan.lab
        count = len(plan.parts)
        # One CA for every shard: made here (STATE/tls) unless given (`up --ca DIR`).
        self.ca = Path(options.get("ca") or self.state_dir / "tls")
        # A --faults file is added once per `up`, through the router (one shard or all: fault_shards).
        self.faults: Path | None = options.get("faults")
        # Every shard of a new lab starts at one simulated time (each keeps its own clock from there).
        options = {**options, "ca": str(self.ca), "faults": None, "start_time": options.get("start_time") or time.time()}
        self.specs = [WorkerSpec(i, data, self.state_dir / "shards" / str(i), shard_host(host, i),
                                 shard_seed(seed, i), options, os.getpid()) for i, data in enumerate(plan.data)]
        self.journal = Journal(time.time, self.state_dir / "journal.jsonl")
        links = [ShardLink(i, host=spec.host, devices=len(names), state_dir=str(spec.state_dir))
                 for i, (spec, names) in enumerate(zip(self.specs, plan.parts, strict=True))]
        self.router = Router(plan, links, self.journal, host,
                             control_port if control_port is not None else plan.control_port,
                             state_dir=self.state_dir, ca=self.ca / "ca.pem")
        self.processes: list[Any] = [None] * count
        self.stopping = False
        self._context = fork_server()
        self._watch: asyncio.Task[None] | None = None
        self._seen: list[float] = [0.0] * count

    @property
    def devices(self) -> int:
        return sum(link.devices for link in self.router.links)

    async def start(self) -> None:
        with self._context.Pool(1) as pool:
            await asyncio.to_thread(pool.apply, ensure_ca, (self.ca,))
        await asyncio.gather(*(self._start_worker(i) for i in range(len(self.specs))))
        await self.router.start()
        if self.faults:
            from simulator import profile as profiles
        for fault in profiles.load_fault_file(self.faults) if self.faults else ():
            status, answer = await self.router.place_fault(json.dumps(fault.model_dump(exclude_defaults=True)).encode())
            if status != 201:
                raise ValueError(f"{self.faults}: {answer.get('error', answer)}")
        _write_json(self.state_dir / "control.json", {"lab": self.lab, "url": self.router.url,
                                                      "token_file": None, "shards": len(self.specs)})
        self.journal.emit(None, "lab.started", lab=self.lab, devices=self.devices, shards=len(self.specs))
        self.write_endpoints()
        self._watch = asyncio.get_running_loop().create_task(self._watch_workers())

    async def _start_worker(self, index: int) -> None:
        spec, link = self.specs[index], self.router.links[index]
        spec.state_dir.mkdir(parents=True, exist_ok=True)
        spec.endpoints.unlink(missing_ok=True)
        process = self._context.Process(target=run_worker, args=(spec,), name=f"shard-{index}", daemon=False)
        await asyncio.to_thread(process.start)
        self.processes[index] = process
        link.pid, link.exitcode, link.url = process.pid, None, None
        deadline = time.monotonic() + READY_TIMEOUT
        while not spec.endpoints.exists():
            if process.exitcode is not None or time.monotonic() > deadline:
                link.state = "failed"
                raise OSError(f"shard {index} did not start (exit code {process.exitcode}); its log "
                              f"{spec.log}:\n{_tail(spec.log)}")
            await asyncio.sleep(0.05)
        control = json.loads((spec.state_dir / "control.json").read_text())
        link.url, link.state = control["url"], "up"
        self._seen[index] = spec.endpoints.stat().st_mtime

    async def _watch_workers(self) -> None:
        """Notice a worker that died (kill -9, out of memory), say so, restart it from its state;
        follow the shards' endpoints files into the lab's."""
        while not self.stopping:
            await asyncio.sleep(WATCH_INTERVAL)
            changed = False
            for index, process in enumerate(self.processes):
                link = self.router.links[index]
                serving = link.state in ("up", "unreachable")     # unreachable: a call failed, as a dead one's do
                if serving and process is not None and process.exitcode is not None and not self.stopping:
                    link.state, link.exitcode = "restarting", process.exitcode
                    self.journal.emit(None, "shard.lost", shard=index, pid=process.pid, exitcode=process.exitcode,
                                      devices=link.devices)
                    asyncio.get_running_loop().create_task(self._restart(index))
                    changed = True
                elif serving:
                    mtime = _mtime(self.specs[index].endpoints)
                    if mtime != self._seen[index]:
                        self._seen[index], changed = mtime, True
            if changed and not self.stopping:
                self.write_endpoints()

    async def _restart(self, index: int) -> None:
        link = self.router.links[index]
        started = time.perf_counter()
        try:
            await self._start_worker(index)
        except OSError as exc:
            self.journal.emit(None, "shard.failed", shard=index, error=str(exc).splitlines()[0])
            return
        link.restarts += 1
        self.journal.emit(None, "shard.recovered", shard=index, pid=link.pid, devices=link.devices,
                          seconds=round(time.perf_counter() - started, 2))
        self.write_endpoints()

    def endpoints(self) -> dict[str, Any]:
        docs = []
        for spec, link in zip(self.specs, self.router.links, strict=True):
            try:
                docs.append(json.loads(spec.endpoints.read_text()) if link.state == "up" else None)
            except (OSError, ValueError):    # being rewritten or restarted: its last good entries are lost
                docs.append(None)
        return merge_endpoints(docs, self.router.order, self.lab, str(self.state_dir), self.router.url,
                               self.router.shard_entries())

    def write_endpoints(self) -> None:
        if self.endpoints_file:
            endpoints = self.endpoints()
            _write_json(self.endpoints_file, endpoints,
                        indent=2 if len(endpoints["devices"]) <= COMPACT_ENDPOINTS else None)

    async def stop(self) -> None:
        self.stopping = True
        if self._watch:
            self._watch.cancel()
        for process in self.processes:
            if process is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            if process is not None:
                await asyncio.to_thread(process.join)
        for link in self.router.links:
            link.state = "stopped"
        await self.router.stop()
        (self.state_dir / "control.json").unlink(missing_ok=True)
        self.journal.emit(None, "lab.stopped", lab=self.lab)
        self.journal.close()


def ensure_ca(folder: Path) -> None:
    """The lab CA every shard signs with (run in a child of the fork server: the supervisor
    imports no cryptography)."""
    from simulator.tls import LabCertificates

    LabCertificates(folder, "").ensure_ca()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, fh.seek(0, 2) - LOG_TAIL))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def _write_json(path: Path, data: Any, indent: int | None = 2) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=indent))
    tmp.replace(path)

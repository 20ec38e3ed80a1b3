"""A running lab: devices built from a profile, their surfaces bound, the
clock, journal, fault plan and state store that serve them.

    async with Lab("ftd-standalone", virtual_time=True) as lab:
        ftd = lab.devices["ftd-1"]
        ...
        await lab.clock.run_until(lambda: ftd.state == "online")
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator import profile as profiles
from simulator.clock import Clock
from simulator.control.server import ControlServer
from simulator.descriptors import HELD_PORT_FDS, check
from simulator.endpoints_file import EndpointsFile
from simulator.faults import TIMED, Fault, FaultPlan
from simulator.journal import Journal
from simulator.kinds.base import DeviceBase, DeviceContext
from simulator.kinds.kind import Build, Kind, Pair, Worker
from simulator.kinds.registry import KINDS
from simulator.snapshots import Snapshot, Snapshots
from simulator.sockets import PortRange, default_range
from simulator.store import Store
from simulator.surfaces.console import CONSOLE_USER, ConsoleSurface
from simulator.surfaces.following import PortWatch
from simulator.surfaces.https import HTTPSSurface
from simulator.surfaces.probe import ProbeSurface
from simulator.surfaces.ssh.server import SSHSurface, load_host_key
from simulator.tls import LabCertificates
from simulator.traffic import TrafficMonitor

if TYPE_CHECKING:
    from simulator.exercises import Exercise
    from simulator.surfaces.bmc import BmcSurface

DEFAULT_TIME_SCALE = 25.0  # a full FTDv major upgrade (about 23 simulated minutes) in about a minute


class Lab:
    def __init__(self, profile: str | Path | dict[str, Any] | profiles.Profile | None = None, *,
                 state_dir: str | Path | None = None, time_scale: float | None = None, virtual_time: bool = False,
                 autojump: bool = False, host: str = "127.0.0.1", seed: int | None = None,
                 endpoints_file: str | Path | None = None, control_port: int | None = None,
                 start_time: float | None = None, ports: str | PortRange | None = None,
                 exercise: Exercise | None = None, ca: str | Path | None = None) -> None:
        self.profile = profiles.load(profile if profile is not None or exercise is None else exercise.profile)
        # Each lab walks its range from the start: the same profile gets the same ports while they are
        # free. A PortRange object is shared as it is (the labs of one server draw from one range).
        ranged = ports or self.profile.ports
        self.ports = ranged if isinstance(ranged, PortRange) else \
            PortRange.parse(ranged) if ranged else PortRange(default_range().spans)
        check_descriptors(self.profile, self.ports)   # before any state is written: a lab too big fails later
        self._tmp = None if state_dir is not None else tempfile.TemporaryDirectory(prefix="simulator-")
        self.state_dir = Path(state_dir if state_dir is not None else self._tmp.name)  # type: ignore[union-attr]
        self.host = host
        self.endpoints_file = Path(endpoints_file) if endpoints_file else None
        self.store = Store(self.state_dir)
        saved = self.store.load_lab() or {}
        self.seed = seed if seed is not None else saved.get("seed", random.randrange(2**31))
        scale = time_scale or self.profile.time_scale or DEFAULT_TIME_SCALE
        # Simulated time starts now (or at `start_time`, for runs that must repeat exactly).
        self.clock = Clock(scale=scale, virtual=virtual_time, start=saved.get("sim_time", start_time))
        self.journal = Journal(self.clock.now, self.state_dir / "journal.jsonl")
        # A resumed lab draws from a stream of its own, so ids made after the
        # restart never repeat those made before it.
        stream = f"{self.seed}" if "sim_time" not in saved else f"{self.seed}:{saved['sim_time']}"
        # Fault times (`at`, `fired_at`) count simulated seconds from the lab's first start.
        self.epoch: float = saved.get("epoch", self.clock.now())
        self.faults = FaultPlan(lambda: self.clock.now() - self.epoch, random.Random(f"faults:{stream}"))
        self.context = DeviceContext(self.clock, self.journal, self.faults, random.Random(stream))
        with gc_paused():
            self.devices: dict[str, DeviceBase] = self._build_devices()
            self.pairs: dict[str, Pair] = self._build_pairs(saved.get("pairs", {}))
            self.traffic = self._traffic_monitors()
            for name, counters in saved.get("traffic", {}).items():   # outages before a stop (an exercise grades them)
                if name in self.traffic:
                    self.traffic[name].restore(counters)
        saved_faults = self.store.load_faults()
        self.faults.load(saved_faults if saved_faults is not None
                         else [f.model_dump(exclude_defaults=True) for f in self.profile.faults])
        self._snapshots = Snapshots(self)
        self.ssh: SSHSurface | None = None               # the surfaces exist while the lab runs
        self.https: HTTPSSurface | None = None
        self.console: ConsoleSurface | None = None
        self.probes: ProbeSurface | None = None
        self.bmc: BmcSurface | None = None
        self.workers: list[Worker] = []
        self.control = ControlServer(self, host, control_port if control_port is not None
                                     else self.profile.control_port, ports=self.ports)
        # `ca`: a folder with the CA (ca.pem, ca.key) every shard of a lab signs with; else the lab's own.
        self.certificates = LabCertificates(self.state_dir / "tls", host, Path(ca) if ca else None)
        self._autojump = autojump and virtual_time
        self._jumper: asyncio.Task[None] | None = None
        self._unfollow_endpoints: Callable[[], None] | None = None
        self._endpoints: EndpointsFile | None = None
        self.running = False
        # The exercise this lab is graded on: prepared by start() before the endpoints file is written
        # (a new lab only: a restarted one is in its exercise already), or by Exercise.prepare on a started lab.
        self.exercise = exercise
        self._resumed = bool(saved)

    def kind_of(self, name: str) -> Kind:
        return KINDS[self.devices[name].kind]

    def _build_devices(self) -> dict[str, DeviceBase]:
        """Every device of the profile (a kind that hosts others after them), in profile order."""
        specs = self.profile.expanded()
        built: dict[str, DeviceBase] = {}
        build = Build(self.context, self.profile.username, self.profile.password, built, self.store.device_fs)
        unwritten = []         # events the state directory has and a kill kept from the journal
        for spec in sorted(specs, key=lambda spec: KINDS[spec.kind].hosts):
            device = KINDS[spec.kind].build(build, spec)
            saved = self.store.load_device(spec.name)
            if saved is not None:
                snapshot, event = saved
                device.restore(snapshot)
                if event is not None and event["seq"] > self.journal.last_seq:
                    unwritten.append(event)
            built[spec.name] = device
        self.journal.recover(unwritten)
        return {spec.name: built[spec.name] for spec in specs}

    def _build_pairs(self, saved: dict[str, Any]) -> dict[str, Pair]:
        pairs: dict[str, Pair] = {}
        for spec in self.profile.ha_pairs:
            kind = self.profile.pair_kind(spec).pairs
            assert kind is not None
            pair = kind.build(spec, self.devices[spec.primary], self.devices[spec.secondary])
            if spec.name in saved:
                pair.restore(saved[spec.name])
            pairs[spec.name] = pair
        return pairs

    def _traffic_monitors(self) -> dict[str, TrafficMonitor]:
        """One per pair (traffic through its active unit) and per standalone device that carries traffic."""
        monitors = {}
        for name, pair in self.pairs.items():
            monitors[name] = TrafficMonitor(
                name, self.clock, self.journal, [u.name for u in pair.units.values()], pair.traffic_up, pair.carries)
        paired = {u.name for pair in self.pairs.values() for u in pair.units.values()}
        for name, device in self.devices.items():
            if name not in paired and self.kind_of(name).traffic:
                monitors[name] = TrafficMonitor(name, self.clock, self.journal, [name], partial(_apps_up, device),
                                                lambda unit: True)
        return monitors

    @property
    def name(self) -> str:
        return self.profile.lab

    async def start(self) -> Lab:
        with gc_paused():
            try:
                await self._start()
            except BaseException:
                await self._stop()      # a lab that fails to start gives back every port it bound
                raise
        gc.freeze()         # the lab's objects live until it stops: no full collection scans them meanwhile
        return self

    async def _start(self) -> None:
        self.clock.start()
        self.store.track(self.devices, self.journal, self._save_lab)  # type: ignore[arg-type]
        for fault in self.faults.faults:
            self._schedule(fault)
        self.faults.on_add = self._fault_added
        key = load_host_key(self.state_dir / "ssh_host_key")
        self.ssh = SSHSurface(self.journal, self.host, key, authorized_keys=self._authorized_keys(),
                              rsa_key_path=self.state_dir / "ssh_host_rsa_key", ports=self.ports)
        self.https = HTTPSSurface(self.journal, self.host, self.certificates.server_context(), ports=self.ports)
        self.console = ConsoleSurface(self.journal, self.host, key, ports=self.ports)
        if any(has_bmc(spec, KINDS[spec.kind]) for spec in self.profile.expanded()):
            # imported for a lab with BMCs only: IPMI's library is 3 MB in each process of a fleet without
            from simulator.surfaces.bmc import BmcSurface

            self.bmc = BmcSurface(self.journal, self.clock, self.host, self.certificates.server_context(), self.power,
                                  redfish_port=self.profile.redfish_port, ports=self.ports)
        for spec in self.profile.expanded():
            self._serve(spec, self.devices[spec.name], KINDS[spec.kind])
        self.probes = ProbeSurface(self.journal, self.host, ports=self.ports)
        probe_ports = {p.name: p.probe_port for p in self.profile.ha_pairs}
        for name, monitor in self.traffic.items():
            self.probes.add(monitor, probe_ports.get(name, 0))
        await asyncio.gather(self.ssh.start(), self.https.start(), self.console.start(), self.probes.start(),
                             *([self.bmc.start()] if self.bmc else []), self.control.start())
        _write_json(self.state_dir / "control.json", {"lab": self.name, "url": self.control.url,
                                                      "token_file": str(self.state_dir / "control.token")
                                                      if self.control.token else None})
        self._save_lab()
        self.journal.emit(None, "lab.started", lab=self.name, devices=len(self.devices))
        if self.exercise is not None and not self._resumed:
            await self.exercise.prepare(self)
        if self._autojump:
            self._jumper = asyncio.get_running_loop().create_task(self.clock.autojump())
        if self.endpoints_file:
            self._endpoints = EndpointsFile(self, self.endpoints_file)
            self._endpoints.write()
            self._unfollow_endpoints = self.journal.subscribe(self._endpoints.changed)
        self.running = True

    def _serve(self, spec: Any, device: DeviceBase, kind: Kind) -> None:
        """Put a device on the surfaces its kind has, on its profile's ports."""
        assert self.ssh is not None and self.https is not None and self.console is not None
        fs_root = self.store.device_fs(spec.name)
        if kind.ssh is not None:
            self.ssh.add(device, spec.ssh_port, fs_root, kind.ssh, spec.ssh_login.changes() if spec.ssh_login else None,
                         spec.ssh_algorithms)
        if kind.https is not None:
            self.https.add(device, spec.https_port, fs_root, kind.https)
        if kind.console is not None:
            self.console.add(device, spec.console_port, fs_root, kind.console, ssh_port=spec.console_ssh_port)
        self.workers += [worker(device, fs_root) for worker in kind.workers]
        if self.bmc is not None and has_bmc(spec, kind):
            self.bmc.add(device, spec.ipmi_port, spec.bmc_username or spec.username or self.profile.username,
                         spec.bmc_password or spec.password or self.profile.password,
                         partial(self._console_line, spec.name))

    def _console_line(self, name: str) -> Any:
        """A device's console line (what serial-over-LAN carries), if it has one."""
        endpoint = self.console.endpoints.get(name) if self.console else None
        return endpoint.line if endpoint is not None else None

    def _authorized_keys(self) -> str | None:
        ref = self.profile.ssh_authorized_keys
        if not ref:
            return None
        path = Path(ref).expanduser()
        return path.read_text() if path.exists() else ref

    async def stop(self) -> None:
        if not self.running:
            return
        gc.unfreeze()       # what the lab leaves behind is garbage (another lab's objects: collected again)
        with gc_paused():
            await self._stop()

    async def _stop(self) -> None:
        self.running = False
        if self._jumper:
            self._jumper.cancel()
        if self._unfollow_endpoints:
            self._unfollow_endpoints()
        if self._endpoints:
            self._endpoints.close()
        if self.ssh:
            await self.ssh.stop()
        if self.https:
            await self.https.stop()
        for worker in self.workers:
            worker.detach()
        if self.console:
            await self.console.stop()
        if self.probes:
            await self.probes.stop()
        if self.bmc:
            await self.bmc.stop()
        await self.control.stop()
        (self.state_dir / "control.json").unlink(missing_ok=True)
        self.journal.emit(None, "lab.stopped", lab=self.name)
        self._save_lab(traffic=True)
        self.store.close()
        self.journal.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _save_lab(self, traffic: bool = False) -> None:
        """The lab's own state; at a stop also the traffic monitors' outages (not on each event: a
        fleet has one per device; a kill loses them, as simulator/snapshots.py says)."""
        counters = {"traffic": {name: monitor.snapshot() for name, monitor in self.traffic.items()}} if traffic else {}
        self.store.save_lab({"lab": self.name, "seed": self.seed, "sim_time": self.clock.now(), "epoch": self.epoch,
                             "pairs": {name: pair.snapshot() for name, pair in self.pairs.items()}, **counters})
        self.store.save_faults(self.faults.dump())

    # -- faults ------------------------------------------------------------------
    def add_fault(self, point: str, action: str, device: str | None = None, **options: Any) -> Fault:
        """Add a fault to the running plan (see simulator/faults.py for points and triggers)."""
        known = self.pairs if point == "failover.link" else self.devices
        if device is not None and device not in known:
            raise KeyError(f"no {'HA pair' if point == 'failover.link' else 'device'} {device!r} in lab {self.name}")
        return self.faults.add(point, action, device, **options)

    def remove_fault(self, fault_id: int) -> Fault:
        fault = self.faults.get(fault_id)
        if fault is None:
            raise KeyError(f"no fault with id {fault_id}")
        self.faults.remove(fault)
        self.journal.emit(fault.device, "fault.removed", id=fault.id, point=fault.point)
        return fault

    def load_faults(self, path: str | Path) -> list[Fault]:
        """Add every fault of a YAML file (a list, or a mapping with `faults:`)."""
        items = profiles.load_fault_file(Path(path))
        return [self.add_fault(**f.model_dump(exclude_defaults=True)) for f in items]

    def _fault_added(self, fault: Fault) -> None:
        self.journal.emit(fault.device, "fault.added", id=fault.id, point=fault.point, action=fault.action)
        self._schedule(fault)

    def reschedule_faults(self) -> None:
        """After the plan was put back to a snapshot: timed faults to come, and failover links cut
        for `seconds` that come back, fire when they were due."""
        for fault in self.faults.faults:
            self._schedule(fault)
            if fault.point == "failover.link" and fault.fired_at and fault.seconds:
                back = self.epoch + fault.fired_at[-1] + fault.seconds
                for pair in [self.pairs[fault.device]] if fault.device else list(self.pairs.values()):
                    if back > self.clock.now():
                        self.clock.call_at(back, pair.set_link, True)

    def _schedule(self, fault: Fault) -> None:
        """Timed faults (power, clock.ntp) fire by themselves: at `at`, or now."""
        if fault.point not in TIMED or fault.spent:
            return
        delay = max(0.0, (fault.at or 0.0) - self.faults.now())
        self.clock.call_later(delay, self._fire_timed, fault)

    def _fire_timed(self, fault: Fault) -> None:
        if fault not in self.faults.faults or fault.spent:
            return
        self.faults.fire(fault)
        if fault.point == "failover.link":
            for pair in [self.pairs[fault.device]] if fault.device else list(self.pairs.values()):
                self.journal.emit(None, "fault", point=fault.point, action=fault.action, id=fault.id, pair=pair.name)
                pair.set_link(False)
                if fault.seconds:
                    self.clock.call_later(fault.seconds, pair.set_link, True)
            return
        for name in [fault.device] if fault.device else list(self.devices):
            device = self.devices[name]
            self.journal.emit(name, "fault", point=fault.point, action=fault.action, id=fault.id)
            if fault.point == "power":
                device.power_off(cause="power_loss")
            else:
                device.set_clock_offset(fault.seconds or 0.0)

    # -- snapshots ---------------------------------------------------------------
    def snapshot(self, name: str | None = None) -> Snapshot:
        """Keep the whole lab as it is now (simulator/snapshots.py), in memory and in the state directory."""
        return self._snapshots.save(name)

    async def restore(self, snapshot_id: str) -> Snapshot:
        """Put every device, pair, job, file, fault, traffic counter and the clock back to a snapshot;
        open sessions are dropped as at a reboot, ports stay (KeyError: no such snapshot)."""
        return await self._snapshots.restore(snapshot_id)

    def snapshots(self) -> list[Snapshot]:
        return list(self._snapshots.items.values())

    def delete_snapshot(self, snapshot_id: str) -> Snapshot:
        return self._snapshots.delete(snapshot_id)

    @property
    def endpoints_writer(self) -> EndpointsFile | None:
        """The endpoints file kept current while the lab runs (with `endpoints_file`)."""
        return self._endpoints

    # -- power and reimage (the lab's "IPMI" buttons) ----------------------------
    def power(self, name: str, action: str) -> None:
        device = self.device(name)
        if action not in ("on", "off", "cycle"):
            raise ValueError(f"power action must be on, off or cycle, not {action!r}")
        if action in ("off", "cycle"):
            device.power_off(cause="operator")
        if action in ("on", "cycle"):
            device.require_host_up()
            device.power_on()

    async def add_file(self, name: str, filename: str, data: bytes) -> None:
        """A file arrives on a device as an SFTP upload to its upload folder would (Refused, ValueError)."""
        self.device(name)
        if self.ssh is None or name not in self.ssh.endpoints:
            raise ValueError(f"{name} takes no uploaded files")
        await self.ssh.place_file(name, filename, data)

    def expire_sessions(self, name: str) -> int | None:
        """End a device's API login sessions now (clients must log in again); None: it keeps none."""
        self.device(name)
        site = self.https.sites.get(name) if self.https else None
        return site.expire_sessions() if site is not None else None

    def set_link(self, pair: str, up: bool) -> None:
        """Cut or restore an HA pair's failover link."""
        try:
            self.pairs[pair].set_link(up)
        except KeyError:
            raise KeyError(f"no HA pair {pair!r} in lab {self.name}") from None

    def reimage(self, name: str, version: str | None = None) -> None:
        self.device(name).reimage(version)

    def device(self, name: str) -> DeviceBase:
        try:
            return self.devices[name]
        except KeyError:
            raise KeyError(f"no device {name!r} in lab {self.name}") from None

    async def settle(self) -> None:
        """Let the surfaces catch up with the devices (listeners opened or
        closed after reboots); useful after moving virtual time."""
        if self.ssh:
            await self.ssh.settled()
        if self.https:
            await self.https.settled()
        for worker in self.workers:
            await worker.settled()
        if self.console:
            await self.console.settled()
        if self.probes:
            await self.probes.settled()

    @property
    def ca_path(self) -> Path:
        """The lab CA that signs every HTTPS certificate (for clients that verify)."""
        return self.certificates.ca_path

    async def __aenter__(self) -> Lab:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- endpoints ---------------------------------------------------------------
    def endpoints(self) -> dict[str, Any]:
        devices = [self.device_endpoints(name) for name in self.devices]
        pairs = [self.pair_endpoints(name) for name in self.pairs]
        return {"lab": self.name, "state_dir": str(self.state_dir), "control": {"url": self.control.url},
                "devices": devices, **({"pairs": pairs} if pairs else {})}

    def pair_endpoints(self, name: str) -> dict[str, Any]:
        probe = self._probe(name)
        lost = self._port_faults(name, [])
        return {**self.pairs[name].entry(), **({"probe": probe} if probe else {}),
                **({"port_faults": lost} if lost else {})}

    def device_endpoints(self, name: str) -> dict[str, Any]:
        """One device's entry of the endpoints file: its surfaces, HA role, and its kind's own keys."""
        device = self.devices[name]
        entry: dict[str, Any] = {"name": name, "kind": device.kind, "model": device.model,
                                 "version": device.version, "state": device.state}
        if self.ssh and name in self.ssh.endpoints:
            entry["ssh"] = {"host": self.host, "port": self.ssh.endpoints[name].port,
                            "username": device.username, "password": device.password}
        if self.https and name in self.https.sites:
            entry["https"] = {"url": self.https.sites[name].url, "username": device.username,
                              "password": device.password, "ca": str(self.ca_path)}
        ha = device.ha.unit_entry(device) if device.ha is not None else None
        if ha is not None:
            entry["ha"] = ha
        probe = self._probe(name)
        if probe:
            entry["probe"] = probe
        if self.console and name in self.console.endpoints:
            line = self.console.endpoints[name]
            entry["console"] = {"telnet": {"host": self.host, "port": line.port}}
            if line.ssh_port is not None:
                entry["console"]["ssh"] = {"host": self.host, "port": line.ssh_port,
                                           "username": CONSOLE_USER, "password": device.password}
        bmc = self.bmc.entry(name) if self.bmc else None
        if bmc is not None:
            entry["bmc"] = bmc
        kind = self.kind_of(name)
        for key, value in (kind.endpoint(device) if kind.endpoint else {}).items():
            if isinstance(value, dict) and isinstance(entry.get(key), dict):
                entry[key].update(value)       # e.g. an ASA's enable password beside its SSH login
            else:
                entry[key] = value
        lost = self._port_faults(name)
        if lost:
            entry["port_faults"] = lost
            if device.services_up:
                entry["state"] = "unreachable"     # up inside, but a port it serves on is another program's
        return entry

    def _port_faults(self, name: str, watches: list[PortWatch | None] | None = None) -> list[dict[str, Any]]:
        """The ports a device (or a pair: its probe) should listen on and cannot (another program holds them)."""
        if watches is None:
            watches = [self.ssh.endpoints[name].watch if self.ssh and name in self.ssh.endpoints else None,
                       self.https.sites[name].watch if self.https and name in self.https.sites else None]
            if self.console and name in self.console.endpoints:
                watches += [self.console.endpoints[name].watch, self.console.endpoints[name].ssh_watch]
        if self.probes and name in self.probes.probes:
            watches.append(self.probes.probes[name].watch)
        return [{"surface": w.surface, "port": w.port, "error": w.error} for w in watches if w and w.error]

    def _probe(self, name: str) -> dict[str, Any] | None:
        probe = self.probes.probes.get(name) if self.probes else None
        if probe is not None:
            return {"host": self.host, "port": probe.port}
        return None

    def write_endpoints(self, path: Path) -> None:
        _write_json(path, self.endpoints())


def listeners(profile: profiles.Profile) -> tuple[int, int]:
    """(listening ports, file descriptors) of a lab's surfaces while every device serves: what
    Lab._serve gives each device (its BMC's IPMI port included), a traffic probe per pair and standalone
    traffic device, the Redfish service, the control API."""
    paired = {unit for pair in profile.ha_pairs for unit in (pair.primary, pair.secondary)}
    held = len(profile.ha_pairs) + 1
    consoles = 0
    bmcs = 0
    for spec in profile.expanded():
        kind = KINDS[spec.kind]
        held += (kind.ssh is not None) + (kind.https is not None) + (kind.traffic and spec.name not in paired)
        bmcs += has_bmc(spec, kind)
        if kind.console is not None:
            consoles += 1 + (getattr(spec, "console_ssh_port", None) is not None)
    held += bmcs + (bmcs > 0)          # an IPMI port (UDP) per BMC, the lab's Redfish service
    return held + consoles, HELD_PORT_FDS * held + consoles


def has_bmc(spec: Any, kind: Kind) -> bool:
    """A device has a BMC when its profile entry says so (`bmc: true|false`), else when its kind gives its model one."""
    return spec.bmc if spec.bmc is not None else kind.bmc(spec)


def check_descriptors(profile: profiles.Profile, ranged: PortRange | None = None) -> None:
    """Refuse, in one line, a lab this process cannot open the sockets of (raising the soft
    limit up to the hard one first, as servers do), or whose port range is too small for
    them, rather than fail midway through listening."""
    ports, fds = listeners(profile)
    devices = len(profile.expanded())
    check(profile.lab, ports, fds, devices)
    if ranged is not None and ports > ranged.size:
        raise OSError(f"lab {profile.lab} needs {ports:,} ports for {devices:,} devices but its port range "
                      f"{ranged} has {ranged.size:,}; give a wider one (`ports:` in the profile, "
                      f"`simulator up --ports 20000-59999`) or fewer devices")


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a lab builds, starts or stops: it allocates millions
    of objects that live on, and each full collection meanwhile walks all of them (measured: 1.9 of
    4.7 s of a 3,900-FTD lab's start-up CPU, 11 full collections finding nothing to free)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _apps_up(device: DeviceBase) -> bool:
    return device.apps_up


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)

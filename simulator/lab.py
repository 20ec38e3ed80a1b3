"""A running lab: devices built from a profile, their surfaces bound, the
clock, journal, fault plan and state store that serve them.

    async with Lab("ftd-standalone", virtual_time=True) as lab:
        ftd = lab.devices["ftd-1"]
        ...
        await lab.clock.run_until(lambda: ftd.state == "online")
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from . import profile as profiles
from .clock import Clock
from .devices.base import DeviceContext
from .devices.ftd import FtdDevice
from .faults import FaultPlan
from .journal import Journal
from .rest import fdm
from .rest.server import HTTPSSurface
from .ssh.server import SSHSurface, load_host_key
from .store import Store
from .tls import LabCertificates

DEFAULT_TIME_SCALE = 25.0  # a full FTDv major upgrade (about 23 simulated minutes) in about a minute


class Lab:
    def __init__(self, profile: str | Path | dict[str, Any] | None = None, *, state_dir: str | Path | None = None,
                 time_scale: float | None = None, virtual_time: bool = False, autojump: bool = False,
                 host: str = "127.0.0.1", seed: int | None = None, endpoints_file: str | Path | None = None) -> None:
        self.profile = profiles.load(profile)
        self._tmp = None if state_dir is not None else tempfile.TemporaryDirectory(prefix="simulator-")
        self.state_dir = Path(state_dir if state_dir is not None else self._tmp.name)  # type: ignore[union-attr]
        self.host = host
        self.endpoints_file = Path(endpoints_file) if endpoints_file else None
        self.store = Store(self.state_dir)
        saved = self.store.load_lab() or {}
        self.seed = seed if seed is not None else saved.get("seed", random.randrange(2**31))
        scale = time_scale or self.profile.time_scale or DEFAULT_TIME_SCALE
        self.clock = Clock(scale=scale, virtual=virtual_time, start=saved.get("sim_time"))
        self.journal = Journal(self.clock.now, self.state_dir / "journal.jsonl")
        self.faults = FaultPlan()
        self.context = DeviceContext(self.clock, self.journal, self.faults, random.Random(self.seed))
        self.devices: dict[str, FtdDevice] = {}
        for spec in self.profile.expanded():
            self.devices[spec.name] = self._build(spec)
        self.ssh: SSHSurface | None = None
        self.https: HTTPSSurface | None = None
        self.certificates = LabCertificates(self.state_dir / "tls", host)
        self._autojump = autojump and virtual_time
        self._jumper: asyncio.Task[None] | None = None
        self.running = False

    def _build(self, spec: profiles.DeviceSpec) -> FtdDevice:
        device = FtdDevice(
            self.context, spec.name, spec.model, spec.version, hostname=spec.hostname or spec.name,
            fxos_version=spec.fxos_version, username=spec.username or self.profile.username,
            password=spec.password or self.profile.password, disk_used_mb=spec.disk_used_mb)
        saved = self.store.load_device(spec.name)
        if saved is not None:
            device.restore(saved)
        return device

    @property
    def name(self) -> str:
        return self.profile.lab

    async def start(self) -> Lab:
        self.clock.start()
        self.store.track(self.devices, self.journal)  # type: ignore[arg-type]
        key = load_host_key(self.state_dir / "ssh_host_key")
        self.ssh = SSHSurface(self.journal, self.host, key, authorized_keys=self._authorized_keys())
        for spec in self.profile.expanded():
            self.ssh.add(self.devices[spec.name], spec.ssh_port, self.store.device_fs(spec.name))
        self.https = HTTPSSurface(self.journal, self.host, self.certificates.server_context(), fdm.make_app)
        for spec in self.profile.expanded():
            self.https.add(self.devices[spec.name], spec.https_port, self.store.device_fs(spec.name))
        await asyncio.gather(self.ssh.start(), self.https.start())
        self.store.save_lab({"lab": self.name, "seed": self.seed, "sim_time": self.clock.now()})
        self.journal.emit(None, "lab.started", lab=self.name, devices=len(self.devices))
        if self._autojump:
            self._jumper = asyncio.get_running_loop().create_task(self.clock.autojump())
        if self.endpoints_file:
            self.write_endpoints(self.endpoints_file)
        self.running = True
        return self

    def _authorized_keys(self) -> str | None:
        ref = self.profile.ssh_authorized_keys
        if not ref:
            return None
        path = Path(ref).expanduser()
        return path.read_text() if path.exists() else ref

    async def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        if self._jumper:
            self._jumper.cancel()
        if self.ssh:
            await self.ssh.stop()
        if self.https:
            await self.https.stop()
        self.journal.emit(None, "lab.stopped", lab=self.name)
        self.store.save_lab({"lab": self.name, "seed": self.seed, "sim_time": self.clock.now()})
        self.store.close()
        self.journal.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def settle(self) -> None:
        """Let the surfaces catch up with the devices (listeners opened or
        closed after reboots); useful after moving virtual time."""
        if self.ssh:
            await self.ssh.settled()
        if self.https:
            await self.https.settled()

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
        devices = []
        for name, device in self.devices.items():
            entry: dict[str, Any] = {"name": name, "kind": device.kind, "model": device.model,
                                     "version": device.version, "state": device.state}
            if self.ssh and name in self.ssh.endpoints:
                entry["ssh"] = {"host": self.host, "port": self.ssh.endpoints[name].port,
                                "username": device.username, "password": device.password}
            if self.https and name in self.https.sites:
                entry["https"] = {"url": self.https.sites[name].url, "username": device.username,
                                  "password": device.password, "ca": str(self.ca_path)}
            devices.append(entry)
        return {"lab": self.name, "state_dir": str(self.state_dir), "devices": devices}

    def write_endpoints(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.endpoints(), indent=2))
        tmp.replace(path)

"""Cisco ASA (`kind: asa`): its profile entry, how a device is built, its SSH
CLI, its serial console, its disk0: worker, its Active/Standby and
Active/Active failover pairs, its state machines and its images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from simulator.kinds.asa.console import CONSOLE
from simulator.kinds.asa.facts import asa_data, say
from simulator.kinds.asa.failover import AsaFailoverPair
from simulator.kinds.asa.images import AsaImages
from simulator.kinds.asa.machine import DEVICE, PAIR, UNIT
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.ssh import SSH
from simulator.kinds.asa.versions import AsaVersion, hardware_range, model_runs
from simulator.kinds.asa.worker import AsaDiskWorker
from simulator.kinds.kind import Build, Kind, Pair, Pairs
from simulator.kinds.spec import ConsolePorts, DeviceSpec, PairSpec, SshPort, Strict


def _known_model(model: str) -> str:
    if model not in asa_data().models:
        raise ValueError(say("profile", "expected_model", models=", ".join(asa_data().models)))
    return model


class AsaSpec(DeviceSpec, SshPort, ConsolePorts):
    kind: Literal["asa"]
    model: Annotated[str, AfterValidator(_known_model)]
    version: Annotated[str, AfterValidator(lambda value: str(AsaVersion.parse(value)))]
    enable_password: str | None = None          # default: the password
    import_dir: str | None = None               # a lab host folder `copy /path` may read (README)

    @model_validator(mode="after")
    def _hardware_runs(self) -> AsaSpec:
        if not model_runs(self.model, self.version):
            raise ValueError(hardware_range(self.model, self.version))
        return self


class GroupSpec(Strict):
    """An Active/Active failover group: the unit it prefers, and its preempt delay."""

    unit: Literal["primary", "secondary"]
    preempt: int | None = Field(default=None, ge=0, le=1200)


class AsaPairSpec(PairSpec):
    mode: Literal["active-standby", "active-active"] = "active-standby"
    groups: dict[Literal[1, 2], GroupSpec] = Field(default_factory=dict)
    vpn_tunnels: int = Field(default=0, ge=0)                  # for %ASA-5-720012

    @model_validator(mode="after")
    def _groups_need_active_active(self) -> AsaPairSpec:
        if self.groups and self.mode != "active-active":
            raise ValueError(f"HA pair {self.name!r}: failover groups need mode: active-active")
        return self


def build(ctx: Build, spec: AsaSpec) -> AsaDevice:
    device = AsaDevice(ctx.ctx, spec.name, spec.model, spec.version, hostname=spec.hostname or spec.name,
                       username=spec.username or ctx.username, password=spec.password or ctx.password,
                       enable_password=spec.enable_password)
    device.import_dir = Path(spec.import_dir).expanduser() if spec.import_dir else None
    return device


def build_pair(spec: AsaPairSpec, primary: AsaDevice, secondary: AsaDevice) -> Pair:
    return AsaFailoverPair(spec.name, primary, secondary, mode=spec.mode,
                           groups={g: group.model_dump() for g, group in spec.groups.items()},
                           vpn_tunnels=spec.vpn_tunnels)


def endpoint(device: AsaDevice) -> dict[str, Any]:
    return {"ssh": {"enable_password": device.enable_password}}


def disk_worker(device: AsaDevice, fs_root: Path) -> AsaDiskWorker:
    """The device's file system folder is its disk0: (what SCP/SFTP and `dir disk0:` see)."""
    return AsaDiskWorker(device, fs_root).attach()


KIND = Kind(
    name="asa", spec=AsaSpec, build=build, ssh=SSH, console=CONSOLE, pairs=Pairs(AsaPairSpec, build_pair),
    packages=AsaImages(), endpoint=endpoint, workers=(disk_worker,), machines=(DEVICE, UNIT, PAIR),
    bmc=lambda spec: False,     # ASAv has none, nor the 5500-X; `bmc: true` in a profile gives one
)

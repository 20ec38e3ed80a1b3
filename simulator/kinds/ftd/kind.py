"""Firepower Threat Defense (`kind: ftd`, the default kind of a profile entry):
its profile entry, how a device is built, its surfaces and its packages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from simulator.kinds.ftd import facts
from simulator.kinds.ftd.api import HTTPS
from simulator.kinds.ftd.console import CONSOLE
from simulator.kinds.ftd.files import UpdatesFolder
from simulator.kinds.ftd.ha import HaPair
from simulator.kinds.ftd.ha_machine import TABLE as HA_UNIT
from simulator.kinds.ftd.machine import TABLE
from simulator.kinds.ftd.manager import Manager
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import make_package
from simulator.kinds.ftd.ssh import SSH
from simulator.kinds.ftd.versions import PackageName, Version
from simulator.kinds.kind import Build, Kind, Pairs
from simulator.kinds.spec import ConsolePorts, DeviceSpec, HttpsPort, PairSpec, SshPort, one_of


class FtdSpec(DeviceSpec, SshPort, HttpsPort, ConsolePorts):
    kind: Literal["ftd"] = "ftd"
    fxos_version: str | None = None         # the chassis FXOS a logical device runs on
    disk_used_mb: int | None = Field(default=None, ge=0)
    managed_by: str | None = None           # the FMC of the profile that manages it (FDM off)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        return one_of(value, facts.ftd().models)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return str(Version.parse(str(value)))


def build(ctx: Build, spec: FtdSpec) -> FtdDevice:
    return FtdDevice(ctx.ctx, spec.name, spec.model, spec.version, hostname=spec.hostname or spec.name,
                     fxos_version=spec.fxos_version, username=spec.username or ctx.username,
                     password=spec.password or ctx.password, disk_used_mb=spec.disk_used_mb,
                     manager=Manager(spec.managed_by) if spec.managed_by else None)


def check(specs: Sequence[DeviceSpec]) -> list[str]:
    """Every `managed_by` names a management center of the profile."""
    centers = {s.name for s in specs if s.kind == "fmc"}
    return [f"device {s.name!r}: managed_by {s.managed_by!r} is not a management center (kind: fmc) of the profile"
            for s in specs if isinstance(s, FtdSpec) and s.managed_by and s.managed_by not in centers]


def has_bmc(spec: FtdSpec) -> bool:
    """An appliance has a BMC; FTDv runs on a hypervisor and a logical device on its chassis (which has one)."""
    info = facts.ftd().models[spec.model]
    return not (info.virtual or info.logical_device)


def endpoint(device: FtdDevice) -> dict[str, Any]:
    """A logical device names the chassis and slot it runs in."""
    host = device.host
    return {"chassis": {"name": host.name, "slot": device.host_slot}} if host is not None else {}


class FtdPackages:
    example = "Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar"

    def accepts(self, filename: str) -> bool:
        try:
            PackageName.parse(filename)
        except ValueError:
            return False
        return True

    def filename(self, version: str, model: str | None) -> str:
        """Table 3's name of the upgrade package of `version` for `model` (default FTDv)."""
        data = facts.ftd()
        if model is not None and model not in data.models:
            raise ValueError(f"not an FTD model: {model!r} (expected one of {', '.join(data.models)})")
        platform = data.models[model or "FTDv"].platform
        v = Version.parse(version)
        kind = "Patch" if v.patch else "Upgrade"
        return f"Cisco_FTD_{platform + '_' if platform else ''}{kind}-{v}.sh.REL.tar"

    def make(self, filename: str, directory: Path, *, size_mb: int | None, unsigned: bool,
             corrupt: bool) -> Path:
        return make_package(filename, directory, size_mb=size_mb, unsigned=unsigned, corrupt=corrupt)


KIND = Kind(
    name="ftd", spec=FtdSpec, build=build, ssh=SSH, https=HTTPS, console=CONSOLE,
    pairs=Pairs(PairSpec, lambda spec, primary, secondary: HaPair(spec.name, primary, secondary)),
    packages=FtdPackages(), endpoint=endpoint, check=check,
    workers=(lambda device, root: UpdatesFolder(device, root).attach(),), machines=(TABLE, HA_UNIT), traffic=True,
    bmc=has_bmc,
)

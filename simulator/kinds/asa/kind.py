"""Cisco ASA (`kind: asa`): its profile entry, how a device is built, its SSH
CLI, its Active/Standby and Active/Active failover pairs and its images."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from simulator.kinds.asa.failover import AsaFailoverPair
from simulator.kinds.asa.model import AsaDevice, asa_data, model_runs, write_image
from simulator.kinds.asa.ssh import SSH
from simulator.kinds.asa.versions import AsaVersion, ImageName, image_name
from simulator.kinds.kind import Build, Kind, Pairs
from simulator.kinds.spec import DeviceSpec, PairSpec, SshPort, Strict


class AsaSpec(DeviceSpec, SshPort):
    kind: Literal["asa"]
    enable_password: str | None = None          # default: the password

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        models = asa_data().models
        if value not in models:
            raise ValueError(f"expected one of {', '.join(models)}")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return str(AsaVersion.parse(str(value)))

    @model_validator(mode="after")
    def _hardware_runs(self) -> AsaSpec:
        if not model_runs(self.model, self.version):
            info = asa_data().models[self.model]
            raise ValueError(f"{self.model} runs ASA {info.first_train} to {info.last_train}, not {self.version}")
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
    # The device's file system folder is its disk0: (what SCP/SFTP and `dir disk0:` see).
    return AsaDevice(ctx.ctx, spec.name, spec.model, spec.version, disk_dir=ctx.fs_root(spec.name),
                     hostname=spec.hostname or spec.name, username=spec.username or ctx.username,
                     password=spec.password or ctx.password, enable_password=spec.enable_password)


def build_pair(spec: AsaPairSpec, primary: AsaDevice, secondary: AsaDevice) -> AsaFailoverPair:
    return AsaFailoverPair(spec.name, primary, secondary, mode=spec.mode,
                           groups={g: group.model_dump() for g, group in spec.groups.items()},
                           vpn_tunnels=spec.vpn_tunnels)


def endpoint(device: AsaDevice) -> dict[str, Any]:
    return {"ssh": {"enable_password": device.enable_password}}


class AsaImages:
    example = "asa9-20-2-smp-k8.bin"

    def accepts(self, filename: str) -> bool:
        return ImageName.parse(filename) is not None

    def filename(self, version: str, model: str | None) -> str:
        data = asa_data()
        if model is not None and model not in data.models:
            raise ValueError(f"not an ASA model: {model!r} (expected one of {', '.join(data.models)})")
        return image_name(data.models[model or "ASAv"].families[0], AsaVersion.parse(version))

    def make(self, filename: str, directory: Path, *, size_mb: int | None, unsigned: bool,
             corrupt: bool) -> Path:
        image = ImageName.parse(filename)
        if image is None:
            raise ValueError(f"not an ASA image name: {filename!r} (expected e.g. asa9-20-2-smp-k8.bin)")
        if unsigned or corrupt:
            raise ValueError("ASA images are not signed: --unsigned and --corrupt are for FTD packages and "
                             "FXOS bundles")
        return write_image(directory / filename, image.version, size=(size_mb or 0) * 1024 * 1024 or 4096)


KIND = Kind(
    name="asa", spec=AsaSpec, build=build, ssh=SSH, pairs=Pairs(AsaPairSpec, build_pair),
    packages=AsaImages(), endpoint=endpoint,
)

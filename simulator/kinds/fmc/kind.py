"""Secure Firewall Management Center (`kind: fmc`): its profile entry, how one
is built (it manages the profile's FTDs that say `managed_by: <its name>`),
its surfaces (the FMC REST API over HTTPS, an SSH CLI).

    - name: fmc
      kind: fmc
      model: FMCv                # FMCv (= FMCv25), FMCv2/10/25/300, FMC-1700, FMC-2700, FMC-4700:
                                 # at most 2/10/25/300, 50/300/1000 managed devices
      version: 7.6.0-113
      domains: [Sales, {name: Lab, devices: [ftd-9]}]   # sub-domains Global/Sales, Global/Lab (which
                                 # holds ftd-9; the other managed devices are in Global)
      token_clock: wall          # or lab: tokens' 30 minutes on the lab clock
      rate_limit: true           # 120 requests a minute per client (429)
      connection_limit: true     # 10 connections per client (429)
      upgrade_packages: [Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar]   # on the FMC already, or an
                                 # internal server pointer (https://server/path/Cisco_FTD_...tar)
      device_internet: false     # its 7.6+ devices may download packages from the internet
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.kinds.fmc.api import HTTPS
from simulator.kinds.fmc.facts import fmc
from simulator.kinds.fmc.machine import TABLE
from simulator.kinds.fmc.model import ApiOptions, FmcDevice
from simulator.kinds.fmc.packages import is_fmc_package, make_fmc_package
from simulator.kinds.fmc.ssh import SSH
from simulator.kinds.fmc.transfer import PackageCopier
from simulator.kinds.ftd.versions import PackageName, Version
from simulator.kinds.kind import Build, Kind
from simulator.kinds.spec import DeviceSpec, HttpsPort, SshPort, one_of


class DomainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    devices: list[str] = Field(default_factory=list, max_length=1000)


class FmcSpec(DeviceSpec, SshPort, HttpsPort):
    kind: Literal["fmc"]
    domains: list[str | DomainSpec] = Field(default_factory=list, max_length=50)
    token_clock: Literal["wall", "lab"] = "wall"
    rate_limit: bool = True
    connection_limit: bool = True
    upgrade_packages: list[str] = Field(default_factory=list, max_length=100)   # downloaded already, or URLs
    device_internet: bool = False

    @field_validator("upgrade_packages")
    @classmethod
    def _package_names(cls, value: list[str]) -> list[str]:
        for entry in value:
            name = entry.rsplit("/", 1)[-1] if "://" in entry else entry
            if not is_fmc_package(name) or "://" in entry:
                PackageName.parse(name)
        return value

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        return one_of(value, fmc().models)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return str(Version.parse(str(value)))


    @property
    def subdomains(self) -> dict[str, list[str]]:
        """Each sub-domain's name and the devices the profile puts in it."""
        found: dict[str, list[str]] = {}
        for domain in self.domains:
            if isinstance(domain, str):
                found[domain] = []
            else:
                found[domain.name] = domain.devices
        return found


def check(specs: Sequence[DeviceSpec]) -> list[str]:
    """An FMC manages at most its model's devices; a sub-domain holds devices it manages."""
    problems = []
    for center in (s for s in specs if isinstance(s, FmcSpec)):
        managed = {s.name for s in specs if getattr(s, "managed_by", None) == center.name}
        limit = fmc().models[center.model].max_devices
        if len(managed) > limit:
            problems.append(f"device {center.name!r}: an {center.model} manages at most {limit} devices, "
                            f"the profile gives it {len(managed)}")
        for sub, devices in center.subdomains.items():
            problems += [f"device {center.name!r}: domain {sub!r} holds {name!r}, which it does not manage"
                         for name in devices if name not in managed]
    return problems


def build(ctx: Build, spec: FmcSpec) -> FmcDevice:
    """The FMC; the FTDs that name it (built already) are registered to it."""
    device = FmcDevice(ctx.ctx, spec.name, spec.model, spec.version, hostname=spec.hostname,
                       username=spec.username or ctx.username, password=spec.password or ctx.password,
                       devices=ctx.devices, subdomains=list(spec.subdomains),
                       domain_devices=spec.subdomains,
                       api=ApiOptions(spec.token_clock, spec.rate_limit, spec.connection_limit),
                       device_internet=spec.device_internet)
    device.register_declared()
    device.add_downloaded(spec.upgrade_packages)
    return device


def endpoint(device: FmcDevice) -> dict[str, Any]:
    return {"domains": [{"name": name, "uuid": uuid} for name, uuid in device.domains],
            "manages": [d.name for d in device.managed()]}


class FmcPackages:
    """`simulator package make --for fmc`: the FMC's own upgrade packages."""

    example = "Cisco_Secure_FW_Mgmt_Center_Upgrade-7.6.1-91.sh.REL.tar"

    def accepts(self, filename: str) -> bool:
        return is_fmc_package(filename)

    def filename(self, version: str, model: str | None) -> str:
        v = Version.parse(version)
        return f"Cisco_Secure_FW_Mgmt_Center_{'Patch' if v.patch else 'Upgrade'}-{v}.sh.REL.tar"

    def make(self, filename: str, directory: Path, *, size_mb: int | None, unsigned: bool,
             corrupt: bool) -> Path:
        return make_fmc_package(filename, directory, size_mb=size_mb, unsigned=unsigned, corrupt=corrupt)


KIND = Kind(name="fmc", spec=FmcSpec, build=build, ssh=SSH, https=HTTPS, packages=FmcPackages(),
            endpoint=endpoint, check=check, machines=(TABLE,), hosts=True,
            workers=(lambda device, root: PackageCopier(device, root).attach(),),
            bmc=lambda spec: False)    # a hardware FMC's CIMC: `bmc: true` in its profile entry

"""One Identity Safeguard for Privileged Sessions (`kind: sps`): its profile
entry, how one is built, its surfaces (REST over HTTPS, the console menu over
SSH) and its firmware ISOs (`simulator package make --for sps`).

    - name: sps-1
      kind: sps
      model: T-4                 # T-1, T-4, T-10, VMware, Azure
      version: 6.0.3             # or 7.5.1, 7.0.2.1 LTS
      free_storage_mb: 4096      # optional: what the upgrade test finds free
      config_issues: ["..."]     # optional: what makes the test fail for another release
      session_clock: wall        # or lab: REST sessions' 20 idle minutes on the lab clock
      cluster_roles: [managed-host, search-minion]   # optional: a central-management cluster node
      sealed: false              # sealed mode: no SSH, even when an upgrade cannot revert
      tainted_files: {core: [/etc/passwd]}   # optional: manually modified firmware files (boot, core)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from simulator.kinds.kind import Build, Kind, Pair, Pairs
from simulator.kinds.spec import ConsolePorts, DeviceSpec, HttpsPort, PairSpec, SshPort, one_of
from simulator.kinds.sps.console import CONSOLE
from simulator.kinds.sps.facts import SpsVersion, sps
from simulator.kinds.sps.files import FirmwareFolder
from simulator.kinds.sps.ha import SpsHaPair
from simulator.kinds.sps.machine import TABLE
from simulator.kinds.sps.model import SpsDevice
from simulator.kinds.sps.packages import EXAMPLE, is_sps_iso, iso_name, make_iso
from simulator.kinds.sps.search import check_roles, joiner
from simulator.kinds.sps.ssh import SSH
from simulator.kinds.sps.web import HTTPS


class SpsSpec(DeviceSpec, SshPort, HttpsPort, ConsolePorts):
    kind: Literal["sps"]
    free_storage_mb: int | None = Field(default=None, ge=0)
    config_issues: list[str] = Field(default_factory=list, max_length=50)
    session_clock: Literal["wall", "lab"] = "wall"
    sealed: bool = False
    tainted_files: dict[Literal["boot", "core"], list[str]] = Field(default_factory=dict)
    cluster_roles: list[Literal["central-management", "managed-host", "search-master", "search-minion",
                                "search-local"]] = Field(default_factory=list, max_length=5)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        return one_of(value, sps().models)

    @field_validator("tainted_files")
    @classmethod
    def _tainted(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for files in value.values():
            if len(files) > 100 or not all(f.startswith("/") and 1 < len(f) <= 255 for f in files):
                raise ValueError("tainted_files: at most 100 absolute paths per firmware")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return str(SpsVersion.parse(str(value)))


class SpsPairSpec(PairSpec):
    """An HA pair (`ha_pairs`): `secondary_mode: standalone` starts it `Half` (Join HA),
    `secondary_uuid` with another Node HA UUID starts it `Broken` (sps.md 3)."""

    secondary_mode: Literal["ha", "standalone"] = "ha"
    secondary_uuid: str | None = Field(default=None, min_length=1, max_length=64)


def build_pair(spec: SpsPairSpec, primary: SpsDevice, secondary: SpsDevice) -> Pair:
    return SpsHaPair(spec.name, primary, secondary, secondary_mode=spec.secondary_mode,
                     secondary_uuid=spec.secondary_uuid)


def check(specs: Sequence[DeviceSpec]) -> list[str]:
    return check_roles([(s.name, list(s.cluster_roles)) for s in specs if isinstance(s, SpsSpec)])


def build(ctx: Build, spec: SpsSpec) -> SpsDevice:
    device = SpsDevice(ctx.ctx, spec.name, spec.model, spec.version, hostname=spec.hostname,
                     root_password=spec.password or ctx.password, web_username=spec.username or ctx.username,
                     web_password=spec.password or ctx.password, free_storage_mb=spec.free_storage_mb,
                     config_issues=spec.config_issues, session_clock=spec.session_clock, sealed=spec.sealed,
                     tainted_files={str(k): list(v) for k, v in spec.tainted_files.items()},
                     join_cluster=joiner(ctx.devices))
    if spec.cluster_roles:
        device.set_cluster_roles(list(spec.cluster_roles), announce=False)
    return device


def endpoint(device: SpsDevice) -> dict[str, Any]:
    """SSH is root's console menu; the web UI and REST API take the admin user."""
    return {"https": {"username": device.web_username, "password": device.web_password},
            "firmware": {"current_slot": device.current, "slot_after_reboot": device.after_reboot}}


class SpsPackages:
    """`simulator package make --for sps --version 7.0.2.1`: a firmware ISO."""

    example = EXAMPLE

    def accepts(self, filename: str) -> bool:
        return is_sps_iso(filename)

    def filename(self, version: str, model: str | None) -> str:
        return iso_name(version)

    def make(self, filename: str, directory: Path, *, size_mb: int | None, unsigned: bool,
             corrupt: bool) -> Path:
        return make_iso(filename, directory, size_mb=size_mb, unsigned=unsigned, corrupt=corrupt)


KIND = Kind(name="sps", spec=SpsSpec, build=build, ssh=SSH, https=HTTPS, console=CONSOLE, pairs=Pairs(SpsPairSpec, build_pair),
            packages=SpsPackages(), endpoint=endpoint, check=check, machines=(TABLE,), workers=(FirmwareFolder,))

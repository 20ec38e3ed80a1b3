"""FXOS chassis (`kind: fxos`, Firepower 4100/9300): its profile entry (the
FTDs of the profile it hosts, by security module slot), how a chassis is
built, its surfaces (SSH CLI, REST API, console), downloads, platform
bundles and its lifecycle's diagram.

    - name: fpr4k-1
      kind: fxos
      model: FPR-4145            # facts.yaml models
      version: "2.12(0.498)"     # FXOS platform bundle (also 2.12.0.498)
      hostname: FPR4K-1          # CLI prompt FPR4K-1-A#
      modules:
        - slot: 1
          apps:
            - device: ftd-1      # an FTD of this profile
              identifier: ftd-1  # optional (default: the device name)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from simulator.kinds.fxos.api import HTTPS
from simulator.kinds.fxos.bundles import (
    FxosVersion,
    is_bundle_name,
    make_fxos_bundle,
    normalize,
)
from simulator.kinds.fxos.console import CONSOLE
from simulator.kinds.fxos.facts import fxos_data
from simulator.kinds.fxos.machine import TABLE
from simulator.kinds.fxos.model import FxosChassis
from simulator.kinds.fxos.spec import FxosModuleSpec, check_profile
from simulator.kinds.fxos.ssh import SSH
from simulator.kinds.fxos.transfer import FxosDownloader
from simulator.kinds.kind import Build, Kind
from simulator.kinds.spec import ConsolePorts, DeviceSpec, HttpsPort, SshPort, one_of


def _chassis_model(value: str) -> str:
    return one_of(value, fxos_data().models)


class FxosSpec(DeviceSpec, SshPort, HttpsPort, ConsolePorts):
    kind: Literal["fxos"]
    model: Annotated[str, AfterValidator(_chassis_model)]
    version: Annotated[str, BeforeValidator(lambda value: normalize(str(value)))]
    modules: list[FxosModuleSpec] = Field(default_factory=list)   # security modules and their apps
    import_dir: str | None = None       # a lab host folder `download image /path` may read (README)


def check(specs: Sequence[DeviceSpec]) -> list[str]:
    """Every chassis against the FTDs of the profile it hosts."""
    ftd_models = {s.name: s.model for s in specs if s.kind == "ftd"}
    return check_profile([s.model_dump() for s in specs if isinstance(s, FxosSpec)], ftd_models)


def build(ctx: Build, spec: FxosSpec) -> FxosChassis:
    """The chassis of one profile entry; its hosted FTDs are built already."""
    modules = {m.slot: [(a.identifier or a.device, ctx.devices[a.device]) for a in m.apps] for m in spec.modules}
    chassis = FxosChassis(ctx.ctx, spec.name, spec.model, spec.version, hostname=spec.hostname,
                          username=spec.username or ctx.username, password=spec.password or ctx.password,
                          modules=modules)  # type: ignore[arg-type]
    chassis.import_dir = Path(spec.import_dir).expanduser() if spec.import_dir else None
    return chassis


def endpoint(chassis: FxosChassis) -> dict[str, Any]:
    return {"modules": [{"slot": slot, "state": module.state,
                         "apps": [{"device": a.device.name, "identifier": a.identifier} for a in module.apps]}
                        for slot, module in chassis.modules.items()]}


class FxosBundles:
    example = "fxos-k9.2.14.1.131.SPA"

    def accepts(self, filename: str) -> bool:
        return is_bundle_name(filename)

    def filename(self, version: str, model: str | None) -> str:
        return FxosVersion.parse(version).filename

    def make(self, filename: str, directory: Path, *, size_mb: int | None, unsigned: bool,
             corrupt: bool) -> Path:
        return make_fxos_bundle(filename, directory, size_kb=size_mb * 1024 if size_mb else None,
                                unsigned=unsigned, corrupt=corrupt)


KIND = Kind(
    name="fxos", spec=FxosSpec, build=build, ssh=SSH, https=HTTPS, console=CONSOLE, packages=FxosBundles(),
    endpoint=endpoint, check=check, machines=(TABLE,),
    workers=(lambda chassis, fs_root: FxosDownloader(chassis, fs_root).attach(),), hosts=True,
    hosted=lambda spec: [app.device for module in spec.modules for app in module.apps],
)

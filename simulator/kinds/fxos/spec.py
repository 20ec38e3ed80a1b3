"""The profile shape of an FXOS chassis and how a lab builds one.

A chassis is a device of kind `fxos` in a profile's `devices` list; its
security modules name FTD devices of the same profile as app instances:

    devices:
      - name: fpr4k-1
        kind: fxos
        model: FPR-4145            # data/fxos.yaml models
        version: "2.12(0.498)"     # FXOS platform bundle (also 2.12.0.498)
        hostname: FPR4K-1          # CLI prompt FPR4K-1-A#
        ssh_port: 0                # optional, as for an FTD
        https_port: 0
        modules:
          - slot: 1
            apps:
              - device: ftd-1      # an FTD of this profile
                identifier: ftd-1  # optional (default: the device name)
      - name: ftd-1
        model: FPR-4145            # the chassis model's FTD model
        version: 7.2.5-208

`ChassisFields` holds what `kind: fxos` adds to a DeviceSpec; `check_profile`
returns one message per problem; `build_chassis` makes the model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.kinds.base import DeviceContext
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.fxos.bundles import normalize
from simulator.kinds.fxos.model import FxosChassis, fxos_data


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FxosAppSpec(_Strict):
    device: str = Field(min_length=1)
    identifier: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class FxosModuleSpec(_Strict):
    slot: int = Field(ge=1, le=3)
    apps: list[FxosAppSpec] = Field(default_factory=list)


class ChassisFields(_Strict):
    """What a `kind: fxos` device adds to (and how it reads) the common device keys."""

    model: str
    version: str
    modules: list[FxosModuleSpec] = Field(default_factory=list)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        models = fxos_data().models
        if value not in models:
            raise ValueError(f"expected one of {', '.join(models)}")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return normalize(str(value))


def check_profile(chassis: Iterable[Mapping[str, Any]], ftd_models: Mapping[str, str]) -> list[str]:
    """Cross-checks of every chassis of a profile against its FTDs
    (`ftd_models`: FTD device name -> model). Empty when all is well."""
    problems: list[str] = []
    hosted: dict[str, str] = {}
    data = fxos_data()
    for spec in chassis:
        name, model = spec["name"], spec["model"]
        info = data.models.get(model)
        if info is None:
            continue
        slots: set[int] = set()
        for module in spec.get("modules") or []:
            slot = module["slot"]
            if slot > info.slots:
                problems.append(f"chassis {name!r}: {model} has {info.slots} security module slot(s); no slot {slot}")
            if slot in slots:
                problems.append(f"chassis {name!r}: slot {slot} is listed twice")
            slots.add(slot)
            idents: set[str] = set()
            for app in module.get("apps") or []:
                device = app["device"]
                ident = app.get("identifier") or device
                if ident in idents:
                    problems.append(f"chassis {name!r}: slot {slot} has two app instances named {ident!r}")
                idents.add(ident)
                if device not in ftd_models:
                    problems.append(f"chassis {name!r}: slot {slot} names FTD {device!r}, which the profile "
                                    f"does not have")
                    continue
                if device in hosted:
                    problems.append(f"FTD {device!r} is hosted by both {hosted[device]!r} and {name!r}")
                hosted[device] = name
                if info.ftd_model is None:
                    problems.append(f"chassis {name!r}: no FTD model of the simulator runs on {model}")
                elif ftd_models[device] != info.ftd_model:
                    problems.append(f"chassis {name!r}: FTD {device!r} is a {ftd_models[device]}; a logical "
                                    f"device on {model} is a {info.ftd_model}")
    return problems


def build_chassis(ctx: DeviceContext, spec: Mapping[str, Any], devices: Mapping[str, FtdDevice], *,
                  username: str = "admin", password: str = "Admin123") -> FxosChassis:
    """The chassis model of one profile entry; its hosted FTDs must be built
    already (their `fxos_version` is set to the chassis version)."""
    modules = {m["slot"]: [(a.get("identifier") or a["device"], devices[a["device"]]) for a in m.get("apps") or []]
               for m in spec.get("modules") or []}
    return FxosChassis(ctx, spec["name"], spec["model"], spec["version"], hostname=spec.get("hostname"),
                       username=spec.get("username") or username, password=spec.get("password") or password,
                       modules=modules)

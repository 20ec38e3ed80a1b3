"""Lab profiles: YAML files describing the devices of a lab, validated by a
schema. A broken profile fails before anything starts, with one line per
problem naming the file, the key path and what was expected."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from simulator import facts as vendor
from simulator.faults import Fault
from simulator.kinds.asa.model import asa_data
from simulator.kinds.asa.model import model_runs as asa_model_runs
from simulator.kinds.asa.versions import AsaVersion
from simulator.kinds.ftd.versions import Version
from simulator.kinds.fxos.bundles import normalize as normalize_fxos
from simulator.kinds.fxos.model import fxos_data
from simulator.kinds.fxos.spec import FxosModuleSpec
from simulator.kinds.fxos.spec import check_profile as check_chassis

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"
DEFAULT_PROFILE = "ftd-fleet"


class ProfileError(Exception):
    """A profile that cannot be used; str() is the message for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceSpec(_Strict):
    name: str = Field(min_length=1, max_length=63)
    kind: Literal["ftd", "fxos", "asa"] = "ftd"
    model: str
    version: str
    hostname: str | None = None
    count: int | None = Field(default=None, ge=1, le=20000)
    start: int = Field(default=1, ge=0)
    ssh_port: int = Field(default=0, ge=0, le=65535)
    https_port: int = Field(default=0, ge=0, le=65535)
    console_port: int = Field(default=0, ge=0, le=65535)          # telnet, as a terminal server gives
    console_ssh_port: int | None = Field(default=0, ge=0, le=65535)  # SSH user `console`; null: none
    username: str | None = None
    password: str | None = None
    enable_password: str | None = None                            # asa (default: the password)
    fxos_version: str | None = None
    disk_used_mb: int | None = Field(default=None, ge=0)
    modules: list[FxosModuleSpec] = Field(default_factory=list)   # fxos: security modules and their apps

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str, info: ValidationInfo) -> str:
        models = KINDS[info.data.get("kind", "ftd")][0]()
        if value not in models:
            raise ValueError(f"expected one of {', '.join(models)}")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str, info: ValidationInfo) -> str:
        return KINDS[info.data.get("kind", "ftd")][1](str(value))

    @model_validator(mode="after")
    def _template(self) -> DeviceSpec:
        if self.count is not None and "{n}" not in self.name:
            raise ValueError("a device with `count` needs `{n}` in its name (e.g. ftd-{n})")
        if self.count is None and "{n}" in self.name:
            raise ValueError("`{n}` in a name needs `count`")
        if self.kind != "fxos" and self.modules:
            raise ValueError("`modules` is for a chassis (kind: fxos)")
        if self.kind != "ftd" and (self.fxos_version or self.disk_used_mb is not None):
            raise ValueError("`fxos_version` and `disk_used_mb` are for an FTD (kind: ftd)")
        if self.kind != "asa" and self.enable_password is not None:
            raise ValueError("`enable_password` is for an ASA (kind: asa)")
        if self.kind == "asa" and not asa_model_runs(self.model, self.version):
            info = asa_data().models[self.model]
            raise ValueError(f"{self.model} runs ASA {info.first_train} to {info.last_train}, not {self.version}")
        return self

    def expand(self) -> list[DeviceSpec]:
        if self.count is None:
            return [self]
        out = []
        for i in range(self.count):
            n = self.start + i
            fields = self.model_dump()
            fields.update(name=self.name.format(n=n), count=None,
                          hostname=self.hostname.format(n=n) if self.hostname else None,
                          ssh_port=self.ssh_port + i if self.ssh_port else 0,
                          https_port=self.https_port + i if self.https_port else 0,
                          console_port=self.console_port + i if self.console_port else 0,
                          console_ssh_port=(self.console_ssh_port + i if self.console_ssh_port
                                            else self.console_ssh_port))
            out.append(DeviceSpec.model_construct(**fields))
        return out


# kind -> (its models, its version normaliser)
KINDS: dict[str, tuple[Callable[[], Iterable[str]], Callable[[str], str]]] = {
    "ftd": (lambda: vendor.ftd().models, lambda v: str(Version.parse(v))),
    "fxos": (lambda: fxos_data().models, normalize_fxos),
    "asa": (lambda: asa_data().models, lambda v: str(AsaVersion.parse(v))),
}


class GroupSpec(_Strict):
    """An ASA Active/Active failover group: the unit it prefers, and its preempt delay."""

    unit: Literal["primary", "secondary"]
    preempt: int | None = Field(default=None, ge=0, le=1200)


class PairSpec(_Strict):
    """An HA (failover) pair of two devices of the profile."""

    name: str = Field(min_length=1)
    primary: str
    secondary: str
    probe_port: int = Field(default=0, ge=0, le=65535)
    mode: Literal["active-standby", "active-active"] = "active-standby"   # active-active: ASA only
    groups: dict[Literal[1, 2], GroupSpec] = Field(default_factory=dict)
    vpn_tunnels: int = Field(default=0, ge=0)                           # ASA: for %ASA-5-720012


class Profile(_Strict):
    lab: str = Field(min_length=1)
    description: str = ""
    username: str = "admin"
    password: str = "Admin123"
    time_scale: float | None = Field(default=None, gt=0)
    control_port: int = Field(default=0, ge=0, le=65535)
    ssh_authorized_keys: str | None = None
    devices: list[DeviceSpec] = Field(min_length=1)
    faults: list[Fault] = Field(default_factory=list)   # the lab's fault plan at first start
    ha_pairs: list[PairSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Profile:
        seen: set[str] = set()
        for spec in self.expanded():
            if spec.name in seen:
                raise ValueError(f"device name {spec.name!r} is used twice")
            seen.add(spec.name)
        paired: set[str] = set()
        models = {spec.name: spec.model for spec in self.expanded()}
        ftd_models = {spec.name: spec.model for spec in self.expanded() if spec.kind == "ftd"}
        kinds = {spec.name: spec.kind for spec in self.expanded()}
        problems = check_chassis([spec.model_dump() for spec in self.expanded() if spec.kind == "fxos"], ftd_models)
        if problems:
            raise ValueError("; ".join(problems))
        for pair in self.ha_pairs:
            for unit in (pair.primary, pair.secondary):
                if kinds.get(unit) not in ("ftd", "asa"):
                    raise ValueError(f"HA pair {pair.name!r} names device {unit!r}, which is not an FTD or ASA "
                                     f"of the profile")
                if unit in paired:
                    raise ValueError(f"device {unit!r} is in two HA pairs")
                paired.add(unit)
            if pair.primary == pair.secondary:
                raise ValueError(f"HA pair {pair.name!r} needs two different devices")
            if kinds[pair.primary] != "asa" and (pair.mode != "active-standby" or pair.groups or pair.vpn_tunnels):
                raise ValueError(f"HA pair {pair.name!r}: mode, groups and vpn_tunnels are for ASA pairs")
            if pair.groups and pair.mode != "active-active":
                raise ValueError(f"HA pair {pair.name!r}: failover groups need mode: active-active")
            if models[pair.primary] != models[pair.secondary]:
                raise ValueError(f"HA pair {pair.name!r}: both units must be the same model "
                                 f"({models[pair.primary]} and {models[pair.secondary]})")
        for fault in self.faults:
            if fault.device is not None and fault.device not in seen:
                raise ValueError(f"fault at {fault.point} names device {fault.device!r}, which the profile "
                                 f"does not have")
        return self

    def expanded(self) -> list[DeviceSpec]:
        return [d for spec in self.devices for d in spec.expand()]


def resolve(ref: str | Path | None) -> Path:
    """A profile path, or the name of a bundled profile (without .yaml)."""
    if ref is None:
        ref = DEFAULT_PROFILE
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ProfileError(f"{path}: no such profile file")
        return path
    bundled = PROFILES_DIR / f"{ref}.yaml"
    if not bundled.exists():
        names = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise ProfileError(f"{ref}: no such profile (bundled profiles: {names})")
    return bundled


def load(ref: str | Path | dict[str, Any] | None) -> Profile:
    if isinstance(ref, dict):
        return validate(ref, "<profile>")
    path = resolve(ref)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(f"{path}{where}: not valid YAML: {problem}") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping with `lab` and `devices` at the top level")
    return validate(data, str(path))


def validate(data: dict[str, Any], source: str) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError("\n".join(_describe(source, err) for err in exc.errors())) from None


def _describe(source: str, err: Any) -> str:
    path = ""
    for part in err["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    got = err.get("input")
    shown = "" if err["type"] in ("missing",) or isinstance(got, (dict, list)) else f" (got {got!r})"
    return f"{source}: {path or '(top level)'}: {message}{shown}"


class FaultFile(_Strict):
    faults: list[Fault]


def load_fault_file(path: Path) -> list[Fault]:
    """A fault plan in its own YAML file: a list of faults, or `faults:` with one."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from None
    if isinstance(data, list):
        data = {"faults": data}
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a list of faults, or a mapping with `faults:`")
    try:
        return FaultFile.model_validate(data).faults
    except ValidationError as exc:
        raise ProfileError("\n".join(_describe(str(path), err) for err in exc.errors())) from None

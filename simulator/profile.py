"""Lab profiles: YAML files describing the devices of a lab, validated by a
schema. A broken profile fails before anything starts, with one line per
problem naming the file, the key path and what was expected.

The device list is a union on `kind` of the kinds' own profile schemas
(kinds/registry.py), so a bad key in an ASA entry is reported against the
ASA's schema; `ha_pairs` entries are checked against their units' kind."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from simulator.faults import Fault
from simulator.kinds.kind import Kind
from simulator.kinds.spec import DeviceSpec, PairSpec, Strict
from simulator.profile_files import DEFAULT_PROFILE as DEFAULT_PROFILE
from simulator.profile_files import PROFILES_DIR as PROFILES_DIR
from simulator.profile_files import ProfileError as ProfileError
from simulator.profile_files import bundled as bundled
from simulator.profile_files import resolve as resolve
from simulator.profile_files import resolve_file as resolve_file
from simulator.sockets import PortRange


def _kinds() -> dict[str, Kind]:
    """The registry's kinds (imported when a profile is read: the kinds pull in their surfaces)."""
    from simulator.kinds.registry import KINDS
    return KINDS


class Profile(Strict):
    lab: str = Field(min_length=1)
    description: str = ""
    username: str = "admin"
    password: str = "Admin123"
    time_scale: float | None = Field(default=None, gt=0)
    control_port: int = Field(default=0, ge=0, le=65535)
    redfish_port: int = Field(default=0, ge=0, le=65535)   # the lab's Redfish service (its boxes' BMCs)
    ports: str | None = None    # where the lab's ports come from: "20000-59999" (default: sockets.default_range)
    ssh_authorized_keys: str | None = None
    devices: list[DeviceSpec] = Field(min_length=1)
    faults: list[Fault] = Field(default_factory=list)   # the lab's fault plan at first start
    ha_pairs: list[PairSpec] = Field(default_factory=list)   # each its units' kind's pair schema (validate())
    # The devices with templates expanded, by name: built once (a profile does not change once
    # loaded), as a fleet's every lookup of a pair's units would otherwise re-expand them all.
    _specs: dict[str, DeviceSpec] = PrivateAttr(default_factory=dict)

    @field_validator("ports")
    @classmethod
    def _port_range(cls, value: str | None) -> str | None:
        if value is not None:
            PortRange.parse(value)
        return value

    @model_validator(mode="after")
    def _across_devices(self) -> Profile:
        seen: set[str] = set()
        specs = [d for spec in self.devices for d in spec.expand()]
        for spec in specs:
            if spec.name in seen:
                raise ValueError(f"device name {spec.name!r} is used twice")
            seen.add(spec.name)
        self._specs = {spec.name: spec for spec in specs}
        present = [_kinds()[name] for name in dict.fromkeys(spec.kind for spec in specs)]
        problems = [p for kind in present if kind.check for p in kind.check(specs)]
        if problems:
            raise ValueError("; ".join(problems))
        self._check_pairs(self._specs)
        for fault in self.faults:
            if fault.device is not None and fault.device not in seen:
                raise ValueError(f"fault at {fault.point} names device {fault.device!r}, which the profile "
                                 f"does not have")
        return self

    def _check_pairs(self, specs: dict[str, DeviceSpec]) -> None:
        paired: set[str] = set()
        for pair in self.ha_pairs:
            for unit in (pair.primary, pair.secondary):
                spec = specs.get(unit)
                if spec is None or _kinds()[spec.kind].pairs is None:
                    raise ValueError(f"HA pair {pair.name!r} names device {unit!r}, which is not a device of the "
                                     f"profile that forms HA pairs ({', '.join(pair_kinds())})")
                if unit in paired:
                    raise ValueError(f"device {unit!r} is in two HA pairs")
                paired.add(unit)
            if pair.primary == pair.secondary:
                raise ValueError(f"HA pair {pair.name!r} needs two different devices")
            first, second = specs[pair.primary], specs[pair.secondary]
            if first.kind != second.kind or first.model != second.model:
                raise ValueError(f"HA pair {pair.name!r}: both units must be the same model "
                                 f"({first.model} and {second.model})")

    def expanded(self) -> list[DeviceSpec]:
        """Every device, templates (`count`) expanded, in profile order."""
        return list(self._specs.values())

    def pair_kind(self, pair: PairSpec) -> Kind:
        return _kinds()[self._specs[pair.primary].kind]


def pair_kinds() -> list[str]:
    return [name for name, kind in _kinds().items() if kind.pairs is not None]


def _kind_tag(entry: Any) -> str | None:
    if isinstance(entry, dict):
        from simulator.kinds.registry import DEFAULT
        return str(entry.get("kind", DEFAULT))
    return getattr(entry, "kind", None)


class _PairRef(PairSpec):
    """A pair entry before its units' kind is known (its own keys are checked then)."""

    model_config = ConfigDict(extra="allow")


@cache
def _schema(kinds: tuple[Kind, ...]) -> type[Profile]:
    """The profile schema for these kinds: `devices` a union of their entries."""
    union = Union[tuple(Annotated[k.spec, Tag(k.name)] for k in kinds)]  # type: ignore[valid-type]  # noqa: UP007
    entry = Annotated[union, Discriminator(_kind_tag, custom_error_type="unknown_kind",  # type: ignore[valid-type]
                                           custom_error_message=f"expected one of {', '.join(k.name for k in kinds)}")]
    return create_model("Profile", __base__=Profile, devices=(list[entry], Field(min_length=1)),
                        ha_pairs=(list[_PairRef], Field(default_factory=list)))


def load(ref: str | Path | dict[str, Any] | Profile | None) -> Profile:
    if isinstance(ref, Profile):          # loaded already (a fleet's profile is costly to validate twice)
        return ref
    if isinstance(ref, dict):
        return validate(ref, "<profile>")
    path = resolve(ref)
    data = read_document(path)
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping with `lab` and `devices` at the top level")
    return validate(data, str(path))


def loads(text: str, source: str) -> Profile:
    """A profile from its YAML text (`source` names it in the messages)."""
    data = _parse(text, source)
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: expected a mapping with `lab` and `devices` at the top level")
    return validate(data, source)


def read_document(path: Path) -> Any:
    """A YAML file's document; ProfileError naming the file (and line:column) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from None
    return _parse(text, str(path))


def _parse(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(f"{source}{where}: not valid YAML: {problem}") from None


def validate(data: dict[str, Any], source: str) -> Profile:
    try:
        profile = _schema(tuple(_kinds().values())).model_validate(data)
    except ValidationError as exc:
        raise ProfileError("\n".join(describe_error(source, err) for err in exc.errors())) from None
    problems = []
    for i, pair in enumerate(profile.ha_pairs):
        kind = profile.pair_kind(pair)
        assert kind.pairs is not None
        try:
            profile.ha_pairs[i] = kind.pairs.spec.model_validate(data["ha_pairs"][i])
        except ValidationError as exc:
            problems += [describe_error(source, {**err, "loc": ("ha_pairs", i, *err["loc"])}, kind.name)
                         for err in exc.errors()]
    if problems:
        raise ProfileError("\n".join(problems))
    return profile


def describe_error(source: str, err: Any, kind: str | None = None) -> str:
    """One line: the file, the key path, what was expected (and which kind's schema said so)."""
    path = ""
    loc = list(err["loc"])
    if loc[:1] == ["devices"] and len(loc) > 2 and loc[2] in _kinds():
        kind = loc.pop(2)                     # the union's tag: which kind's schema said it
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "unknown_kind":
        path += ".kind"
    if err["type"] == "extra_forbidden":
        message = f"unknown key for kind {kind}" if kind else "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    got = err.get("input")
    if err["type"] == "unknown_kind" and isinstance(got, dict):
        got = got.get("kind")
    shown = "" if err["type"] in ("missing",) or isinstance(got, (dict, list)) else f" (got {got!r})"
    return f"{source}: {path or '(top level)'}: {message}{shown}"


class FaultFile(Strict):
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
        raise ProfileError("\n".join(describe_error(str(path), err) for err in exc.errors())) from None

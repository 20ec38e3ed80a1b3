"""What every device entry of a profile has, whatever its kind, and the port
keys of each surface. A kind's profile schema (`kinds/<kind>/kind.py`) is a
subclass of `DeviceSpec` with the port mixins of the surfaces it has, so a
key that means nothing to a kind (an HTTPS port on an ASA) is an unknown key
in that kind's schema."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


def one_of(value: str, choices: Collection[str]) -> str:
    """`value`, if it is one of `choices` (a kind's models): else the error a profile entry gets."""
    if value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Port = Field(default=0, ge=0, le=65535)


class DeviceSpec(Strict):
    """The keys every device entry has. `kind` is narrowed to one name by each
    kind's subclass (the profile's device list is a union on it)."""

    name: str = Field(min_length=1, max_length=63)
    kind: str
    model: str
    version: str
    hostname: str | None = None
    count: int | None = Field(default=None, ge=1, le=20000)
    start: int = Field(default=1, ge=0)
    username: str | None = None
    password: str | None = None
    # its BMC (surfaces/bmc: IPMI over LAN, a Redfish system): None = the kind's default
    bmc: bool | None = None
    ipmi_port: int = Port
    bmc_username: str | None = None     # default: the device's login
    bmc_password: str | None = None

    @model_validator(mode="after")
    def _template(self) -> DeviceSpec:
        if self.count is not None and "{n}" not in self.name:
            raise ValueError("a device with `count` needs `{n}` in its name (e.g. ftd-{n})")
        if self.count is None and "{n}" in self.name:
            raise ValueError("`{n}` in a name needs `count`")
        return self

    def expand(self) -> list[DeviceSpec]:
        """A template (`count`) as its devices: names and hostnames numbered,
        fixed ports counted up from the template's."""
        if self.count is None:
            return [self]
        out = []
        for i in range(self.count):
            n = self.start + i
            fields: dict[str, Any] = {key: getattr(self, key) for key in type(self).model_fields}  # nested models kept
            fields.update(name=self.name.format(n=n), count=None,
                          hostname=self.hostname.format(n=n) if self.hostname else None)
            for key, value in fields.items():
                if key.endswith("_port") and value:
                    fields[key] = value + i
            out.append(type(self).model_construct(**fields))
        return out


class LoginSettings(Strict):
    """A profile's changes to a kind's brake on SSH password guessing
    (simulator/terminal/logins.py LoginPolicy; keys left out keep the kind's value)."""

    max_tries: int | None = Field(default=None, ge=0)
    free_failures: int | None = Field(default=None, ge=0)
    delay: float | None = Field(default=None, ge=0)
    max_delay: float | None = Field(default=None, ge=0)
    interval: float | None = Field(default=None, gt=0)
    deny: int | None = Field(default=None, ge=0)
    unlock: float | None = Field(default=None, ge=0)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SshPort(BaseModel):
    ssh_port: int = Port
    ssh_login: LoginSettings | None = None
    # what the SSH server offers: asyncssh's defaults, old releases' (surfaces/ssh/algorithms.yaml),
    # or what the kind offers at the running version (kinds/<kind>/ssh.yaml `releases`)
    ssh_algorithms: Literal["modern", "legacy", "release"] = "modern"


class HttpsPort(BaseModel):
    https_port: int = Port


class ConsolePorts(BaseModel):
    console_port: int = Port                                          # telnet, as a terminal server gives
    console_ssh_port: int | None = Field(default=0, ge=0, le=65535)   # SSH user `console`; null: none


class PairSpec(Strict):
    """An HA (failover) pair of two devices of the profile; a kind with pairs
    may add keys (its `Pairs.spec`)."""

    name: str = Field(min_length=1)
    primary: str
    secondary: str
    probe_port: int = Port


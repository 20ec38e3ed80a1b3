"""Loading vendor facts (each kind's YAML files) into typed, validated objects.

Every kind keeps its facts beside its code (`kinds/<kind>/facts.yaml`, its
CLI trees, console texts...) and reads them with `read_yaml`; a schema for a
facts file subclasses `Facts`: strict (an unknown key is an error) and frozen."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

F = TypeVar("F", bound="Facts")
# libyaml's safe loader where PyYAML has it: the same documents, six times faster (a fifth of
# every `simulator` command's start went to parsing the kinds' facts in pure Python).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@cache
def read_yaml(path: str, package: str = "simulator") -> Any:
    """A YAML file by its path under a package: `read_yaml("kinds/ftd/facts.yaml")`, or
    from a kind's own folder, `read_yaml("facts.yaml", __package__)`."""
    text = resources.files(package).joinpath(path).read_text(encoding="utf-8")
    return yaml.load(text, Loader=SAFE_LOADER)


class FactsError(Exception):
    """A facts file of the simulator does not match its schema: a bug of ours, not the user's."""


@cache
def load(schema: type[F], path: str) -> F:
    """A facts file validated by its schema (once per process)."""
    try:
        return schema.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise FactsError(f"simulator/{path} does not match {schema.__name__}: {exc}") from None

"""The Swagger description a device serves (api_spec.yaml), and request
bodies checked against it: FDM refuses what its spec forbids, so a body's
fields must have their model's types and enum values, and its required
fields must be there (`BodyError`; api.py answers 422, key Validation, the
field's path as location). Fields a model does not name are ignored: clients
send back whole objects they read (with `links`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from simulator.facts import read_yaml

JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "boolean": (bool,), "integer": (int,),
                                           "number": (int, float), "object": (dict,), "array": (list,)}


class BodyError(ValueError):
    """A body field the spec forbids: the texts.api key, the field's path, the text's values."""

    def __init__(self, key: str, location: str, **values: str) -> None:
        super().__init__(key)
        self.key, self.location, self.values = key, location, values


@cache
def served_spec() -> dict[str, Any]:
    return dict(read_yaml("kinds/ftd/api_spec.yaml"))


@cache
def _body_models() -> dict[tuple[str, str], str]:
    """(method, path under the base path) -> the definition its body must match."""
    return {(method.upper(), path): param["schema"]["$ref"].rsplit("/", 1)[-1]
            for path, item in served_spec()["paths"].items() for method, op in item.items()
            for param in op.get("parameters", []) if param["in"] == "body"}


def check_body(method: str, path: str, body: dict[str, Any]) -> None:
    """Raise BodyError unless `body` matches the model of the operation at `path` (under the base path)."""
    model = _body_models().get((method, path))
    if model is not None:
        _check_object(body, model, "")


def _check_object(value: dict[str, Any], model: str, prefix: str) -> None:
    schema = served_spec()["definitions"][model]
    for name in schema.get("required", ()):
        if value.get(name) is None:
            raise BodyError("field_required", prefix + name, name=prefix + name)
    properties = schema.get("properties", {})
    for name, item in value.items():
        if name in properties:
            _check_value(item, properties[name], prefix + name)


def _check_value(value: Any, prop: dict[str, Any], where: str) -> None:
    if value is None and prop.get("x-nullable"):
        return
    kind = prop["type"]
    if not isinstance(value, JSON_TYPES[kind]) or isinstance(value, bool) and kind != "boolean":
        raise BodyError("field_type", where, name=where, type=kind)
    if "enum" in prop and value not in prop["enum"]:
        raise BodyError("field_enum", where, name=where, values=", ".join(prop["enum"]))
    if isinstance(value, dict) and "$ref" in prop:
        _check_object(value, prop["$ref"].rsplit("/", 1)[-1], where + ".")

"""The Swagger description an FMC serves (api_spec.yaml) and request bodies
checked against it: a field of the wrong type, a required field missing or a
value outside its enum is refused with FMC's 400 before the handler runs.
Fields a model does not name are ignored (clients send back what they read)."""

from __future__ import annotations

from functools import cache
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.fmc.facts import text

JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "boolean": (bool,), "integer": (int,),
                                           "number": (int, float), "object": (dict,), "array": (list,)}


@cache
def served_spec() -> dict[str, Any]:
    return dict(read_yaml("kinds/fmc/api_spec.yaml"))


@cache
def body_models() -> dict[str, str]:
    """operationId -> the definition its body must match."""
    return {op["operationId"]: param["schema"]["$ref"].rsplit("/", 1)[-1]
            for item in served_spec()["paths"].values() for op in item.values()
            for param in op.get("parameters", []) if param["in"] == "body"}


def body_problem(operation: str | None, body: Any) -> str | None:
    """What is wrong with the first field of `body` its operation's model refuses (None: fine)."""
    model = body_models().get(operation or "")
    if model is None:
        return None
    return _value_problem(body, {"$ref": f"#/definitions/{model}"}, "body")


def _value_problem(value: Any, schema: dict[str, Any], where: str) -> str | None:
    if "$ref" in schema:
        schema = {**served_spec()["definitions"][schema["$ref"].rsplit("/", 1)[-1]], **{
            k: v for k, v in schema.items() if k != "$ref"}}
    kind = schema.get("type", "object")
    if not isinstance(value, JSON_TYPES[kind]) or (isinstance(value, bool) and kind != "boolean"):
        return text("bad_field", name=where)
    if "enum" in schema and value not in schema["enum"]:
        return text("bad_enum", name=where, values=", ".join(schema["enum"]))
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                return text("bad_field", name=name)
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties and (problem := _value_problem(item, properties[name], name)):
                return problem
    if isinstance(value, list) and "items" in schema:
        for item in value:
            if problem := _value_problem(item, schema["items"], where):
                return problem
    return None

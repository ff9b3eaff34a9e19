"""JSON shape checks: our answers against real responses and Google's discovery schemas."""

from typing import Any

Shape = dict[str, Any]


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def merged_shape(samples: list[Any]) -> Shape:
    """The union of the shapes of several real values: types seen, keys seen, key counts."""
    shape: Shape = {"types": set(), "keys": {}, "items": [], "count": len(samples), "seen": {}}
    children: dict[str, list[Any]] = {}
    for sample in samples:
        shape["types"].add(json_type(sample))
        if isinstance(sample, dict):
            for key, value in sample.items():
                children.setdefault(key, []).append(value)
        elif isinstance(sample, list):
            shape["items"].extend(sample)
    shape["keys"] = {key: merged_shape(values) for key, values in children.items()}
    shape["seen"] = {key: len(values) for key, values in children.items()}
    shape["items"] = merged_shape(shape["items"]) if shape["items"] else None
    return shape


def shape_problems(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Where `value` has a key the real samples never had, or a type they never had."""
    problems = []
    kind = json_type(value)
    if kind not in shape["types"]:
        problems.append(f"{path}: {kind}, real values are {sorted(shape['types'])}")
        return problems
    if isinstance(value, dict):
        for key, child in value.items():
            if key not in shape["keys"]:
                problems.append(f"{path}.{key}: not in the real responses")
            else:
                problems += shape_problems(child, shape["keys"][key], f"{path}.{key}")
    elif isinstance(value, list) and shape["items"] is not None:
        for i, child in enumerate(value):
            problems += shape_problems(child, shape["items"], f"{path}[{i}]")
    return problems


def always_present(shape: Shape) -> set[str]:
    """Keys every real sample of an object had."""
    return {key for key, seen in shape["seen"].items() if seen == shape["count"]}


_SCHEMA_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "number": "number"}


def schema_problems(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], path: str = "$"
) -> list[str]:
    """Where `value` breaks a discovery schema (unknown property or wrong JSON type)."""
    if "$ref" in schema:
        return schema_problems(value, schemas[schema["$ref"]], schemas, path)
    kind = json_type(value)
    expected = schema.get("type")
    if expected in _SCHEMA_TYPES:
        wanted = _SCHEMA_TYPES[expected]
        ok = kind == wanted or (wanted == "number" and kind == "integer")
        return [] if ok else [f"{path}: {kind}, schema says {wanted}"]
    if expected == "array":
        if kind != "array":
            return [f"{path}: {kind}, schema says array"]
        return [
            p
            for i, item in enumerate(value)
            for p in schema_problems(item, schema["items"], schemas, f"{path}[{i}]")
        ]
    if kind != "object":
        return [f"{path}: {kind}, schema says object"]
    problems = []
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, child in value.items():
        if key in properties:
            problems += schema_problems(child, properties[key], schemas, f"{path}.{key}")
        elif extra is not None:
            problems += schema_problems(child, extra, schemas, f"{path}.{key}")
        else:
            problems.append(f"{path}.{key}: not a property of the schema")
    return problems

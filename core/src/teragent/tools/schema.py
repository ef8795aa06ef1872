"""Tool arguments checked against the tool's JSON Schema, before the tool runs: the
subset models use (types, required, enum, properties, items, additionalProperties),
with a message that names the argument and what was expected."""

from __future__ import annotations

from typing import Any

__all__ = ["validate_arguments"]

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


def _check(schema: dict[str, Any], value: Any, where: str) -> str | None:
    label = "arguments" if where == "arguments" else f"argument {where!r}"
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        ok = False
        for t in names:
            py = _JSON_TYPES.get(t)
            if py is None:
                ok = True
                break
            if isinstance(value, bool) and t in ("integer", "number"):
                continue
            if isinstance(value, py):
                ok = True
                break
        if not ok:
            return f"{label} must be of type {' or '.join(names)}, got {type(value).__name__}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{label} must be one of {schema['enum']!r}, got {value!r}"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            if req not in value:
                return f"missing required argument {req!r}" if where == "arguments" \
                    else f"{label} is missing required field {req!r}"
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                return f"unexpected argument(s) {', '.join(map(repr, extra))}; " \
                       f"allowed: {', '.join(sorted(props)) or '(none)'}"
        for key, sub in props.items():
            if key in value and isinstance(sub, dict):
                err = _check(sub, value[key], key if where == "arguments"
                             else f"{where}.{key}")
                if err:
                    return err
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            err = _check(schema["items"], item, f"{where}[{i}]")
            if err:
                return err
    return None


def validate_arguments(schema: dict[str, Any], params: Any) -> str | None:
    """Validate tool arguments against a JSON Schema subset (types, required, enum,
    properties, items, additionalProperties). Returns a message, or ``None`` if valid."""
    if not isinstance(params, dict):
        return f"arguments must be a JSON object, got {type(params).__name__}"
    return _check(schema or {"type": "object"}, params, "arguments")

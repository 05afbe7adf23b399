"""Checking an intent's parameters against the JSON schema it declares.

Intents declare ``params_schema`` as a small JSON Schema object (``properties`` with
``type`` integer / number / string / boolean / array, optional ``enum``, ``minimum``,
``maximum``, ``default``; ``additionalProperties: false``). ``checked_params`` validates
the user's parameters against it — before anything is read or planned — and fills in the
defaults, so a typo gets a clear error naming the valid parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clamp.errors import InputError

TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
}


def checked_params(
    intent: str, schema: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any]:
    """``params`` validated against ``schema``, with the schema's defaults filled in."""
    if not isinstance(params, Mapping):
        raise InputError(f"{intent} parameters must be an object")
    properties: Mapping[str, Any] = schema.get("properties") or {}
    unknown = sorted(set(params) - set(properties))
    if unknown and schema.get("additionalProperties") is False:
        valid = ", ".join(sorted(properties)) or "none"
        raise InputError(f"unknown parameter(s) {unknown} for {intent}; valid: {valid}")
    out: dict[str, Any] = {}
    for name, spec in properties.items():
        if name in params:
            out[name] = _checked(intent, name, spec, params[name])
        elif "default" in spec:
            out[name] = spec["default"]
    for name in schema.get("required") or ():
        if name not in out:
            raise InputError(f"{intent} needs the parameter {name!r}")
    return out


def _checked(intent: str, name: str, spec: Mapping[str, Any], value: Any) -> Any:
    kind = str(spec.get("type", "string"))
    allowed = TYPES.get(kind, (object,))
    # bool is an int in Python; a JSON integer is never true/false.
    if not isinstance(value, allowed) or (
        kind in ("integer", "number") and isinstance(value, bool)
    ):
        raise InputError(
            f"{intent}: {name} must be a{'n' if kind[0] in 'aeiou' else ''} {kind}, not {value!r}"
        )
    if "enum" in spec and value not in spec["enum"]:
        choices = ", ".join(str(v) for v in spec["enum"])
        raise InputError(f"{intent}: {name} must be one of {choices}, not {value!r}")
    if "minimum" in spec and value < spec["minimum"]:
        raise InputError(f"{intent}: {name} must be at least {spec['minimum']}, not {value}")
    if "maximum" in spec and value > spec["maximum"]:
        raise InputError(f"{intent}: {name} must be at most {spec['maximum']}, not {value}")
    return value


def parse_param(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from the command line: integers, ``true``/``false`` and text."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"--param {text!r} is not KEY=VALUE (e.g. --param days=30)")
    value: Any = raw.strip()
    if value.lower() in ("true", "false"):
        value = value.lower() == "true"
    elif value.lstrip("-").isdigit():
        value = int(value)
    return key.strip(), value

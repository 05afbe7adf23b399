"""Google's discovery documents as a test oracle: which method a request called, and what
its response may contain.

The documents are the ones google-api-python-client ships (``discovery_cache/documents``).
``method_for`` finds the method a (verb, path) calls; ``problems`` walks a JSON value
against a schema (``$ref``, ``properties``, ``items``, ``additionalProperties``) and lists
every unknown field, wrong JSON type (int64/uint64 ``format`` → strings, int32 → numbers)
and enum value outside the declared ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
APIS = (
    "compute.v1",
    "storage.v1",
    "cloudresourcemanager.v1",
    "cloudresourcemanager.v3",
    "cloudidentity.v1",
    "sqladmin.v1",
    "cloudasset.v1",
)
STRING_NUMBERS = frozenset({"int64", "uint64"})


@dataclass(frozen=True)
class Method:
    """One REST method of one discovery document."""

    api: str
    id: str
    verb: str
    pattern: re.Pattern[str]
    literal: int  # characters of the path that are not parameters: more is more specific
    response: str | None


@cache
def document(api: str) -> dict[str, Any]:
    """The discovery document of ``api`` (``compute.v1``, …)."""
    loaded: dict[str, Any] = json.loads((DOCUMENTS / f"{api}.json").read_text())
    return loaded


def _methods(resources: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource in resources.values():
        yield from (resource.get("methods") or {}).values()
        yield from _methods(resource.get("resources") or {})


def _regex(path: str) -> tuple[re.Pattern[str], int]:
    parts = re.split(r"(\{\+?[^}]+\})", path)
    regex = "".join(
        (".+" if p.startswith("{+") else "[^/]+") if p.startswith("{") else re.escape(p)
        for p in parts
    )
    literal = sum(len(p) for p in parts if not p.startswith("{"))
    return re.compile(f"^{regex}$"), literal


@cache
def methods() -> tuple[Method, ...]:
    """Every method of the documents Clamp's Google calls use."""
    found = []
    for api in APIS:
        doc = document(api)
        for method in _methods(doc["resources"]):
            pattern, literal = _regex(doc["servicePath"] + method.get("flatPath", method["path"]))
            response = (method.get("response") or {}).get("$ref")
            found.append(
                Method(api, method["id"], method["httpMethod"], pattern, literal, response)
            )
    return tuple(found)


def method_for(verb: str, path: str) -> Method | None:
    """The most specific method a request (verb, path without the leading ``/``) calls."""
    hits = [m for m in methods() if m.verb == verb and m.pattern.match(path)]
    return max(hits, key=lambda m: m.literal, default=None)


def problems(api: str, schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    """Every way ``value`` departs from ``schema`` in ``api``'s document."""
    if "$ref" in schema:
        schema = document(api)["schemas"][schema["$ref"]]
    kind = schema.get("type")
    if kind == "any":
        return []
    if kind == "object" or "properties" in schema or "additionalProperties" in schema:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        out: list[str] = []
        known = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = known.get(key, extra)
            if sub is None:
                out.append(f"{where}.{key}: unknown field")
            else:
                out += problems(api, sub, item, f"{where}.{key}")
        return out
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not an array"]
        return [
            p
            for i, v in enumerate(value)
            for p in problems(api, schema["items"], v, f"{where}[{i}]")
        ]
    return _scalar(schema, value, where)


def _scalar(schema: dict[str, Any], value: Any, where: str) -> list[str]:
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: {value!r} is not a string" + (f" ({fmt})" if fmt else "")]
        if fmt in STRING_NUMBERS and not re.fullmatch(r"-?\d+", value):
            return [f"{where}: {value!r} is not an {fmt}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} is not one of {schema['enum']}"]
        return []
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not an integer ({fmt})"]
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    return [f"{where}: the schema has no type {kind!r}"]

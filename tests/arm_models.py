"""Checking ARM JSON against the azure-mgmt model classes that deserialize it.

Two generations of models: the TypeSpec ones (network, compute, storage, subscriptions:
``rest_field`` attributes with type hints) and the msrest ones (locks, authorization:
``_attribute_map`` with flattened keys such as ``properties.level``). Either way an
object is checked for unknown keys (recursively), JSON types (int64 fields are JSON
integers in ARM, never strings or booleans), and the output fields a read must carry.
"""

from __future__ import annotations

import datetime
import enum
import re
import sys
import types
import typing
from functools import cache
from typing import Any

Problems = list[str]
_READ_ONLY_REQUIRED = ("id", "name", "type")


# -- TypeSpec models ------------------------------------------------------------------------
@cache
def _fields(cls: type) -> dict[str, Any]:
    """rest name → type hint of a TypeSpec model class."""
    cls()  # the metaclass computes _attr_to_rest_field on first construction
    module = sys.modules[cls.__module__]
    package = sys.modules[cls.__module__.rsplit(".", 1)[0]]
    hints = typing.get_type_hints(cls, globalns=vars(module), localns={"_models": package})
    rest = cls._attr_to_rest_field  # type: ignore[attr-defined]
    return {field._rest_name: hints[attr] for attr, field in rest.items() if attr in hints}


def _concrete(cls: type, value: dict[str, Any]) -> type:
    """The subclass a discriminated model's value names (itself otherwise)."""
    mapping = getattr(cls, "__mapping__", None) or {}
    _fields(cls)
    for field in getattr(cls, "_attr_to_rest_field", {}).values():
        if getattr(field, "_is_discriminator", False) and value.get(field._rest_name) in mapping:
            return typing.cast(type, mapping[value[field._rest_name]])
    return cls


def _is_model(hint: Any) -> bool:
    """A TypeSpec model class (``_calculated`` is its base's; the field map appears only
    once the class is first constructed)."""
    return isinstance(hint, type) and hasattr(hint, "_calculated")


def check_typespec(cls: type, value: Any, path: str, problems: Problems) -> None:
    """Every key of ``value`` is a field of ``cls``, of its declared JSON type."""
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object, got {type(value).__name__}")
        return
    cls = _concrete(cls, value)
    fields = _fields(cls)
    for key, item in value.items():
        if key not in fields:
            problems.append(f"{path}.{key}: not a field of {cls.__name__}")
            continue
        _check_hint(fields[key], item, f"{path}.{key}", problems)


def _check_hint(hint: Any, value: Any, path: str, problems: Problems) -> None:
    if value is None or hint is Any:
        return
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if all(a is str or (isinstance(a, type) and issubclass(a, enum.Enum)) for a in options):
            options = [str]  # an extensible enum: any string on the wire
        if len(options) == 1:
            _check_hint(options[0], value, path, problems)
        return  # a true union of models: not used by the types checked here
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check_hint(typing.get_args(hint)[0], item, f"{path}[{i}]", problems)
        return
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        for key, item in value.items():
            _check_hint(typing.get_args(hint)[1], item, f"{path}[{key!r}]", problems)
        return
    if _is_model(hint):
        check_typespec(hint, value, path, problems)
        return
    _check_scalar(hint, value, path, problems)


def _check_scalar(hint: Any, value: Any, path: str, problems: Problems) -> None:
    expected: tuple[type, ...]
    if hint is bool:
        expected = (bool,)
    elif hint is int:
        expected = (int,)
    elif hint is float:
        expected = (int, float)
    elif hint in (str, datetime.datetime, datetime.date, bytes) or (
        isinstance(hint, type) and issubclass(hint, enum.Enum)
    ):
        expected = (str,)
    else:
        return  # Any-like or a type this check does not model
    if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
        problems.append(f"{path}: expected {hint.__name__}, got {value!r}")


# -- msrest models --------------------------------------------------------------------------
def _tree(cls: type) -> dict[str, Any]:
    """The nested wire keys of an msrest model: a leaf is its msrest type string."""
    tree: dict[str, Any] = {}
    for spec in cls._attribute_map.values():  # type: ignore[attr-defined]
        parts = [p.replace("\\.", ".") for p in re.split(r"(?<!\\)\.", spec["key"])]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = spec["type"]
    return tree


def check_msrest(cls: type, value: Any, path: str, problems: Problems) -> None:
    """Every key of ``value`` is a wire key of ``cls``, of its declared type."""
    namespace = vars(sys.modules[cls.__module__])
    _check_tree(_tree(cls), value, path, problems, namespace)


def _check_tree(
    tree: dict[str, Any], value: Any, path: str, problems: Problems, ns: dict[str, Any]
) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object, got {type(value).__name__}")
        return
    for key, item in value.items():
        if key not in tree:
            problems.append(f"{path}.{key}: not a field of the model")
        elif isinstance(tree[key], dict):
            _check_tree(tree[key], item, f"{path}.{key}", problems, ns)
        else:
            _check_msrest_type(tree[key], item, f"{path}.{key}", problems, ns)


def _check_msrest_type(
    kind: str, value: Any, path: str, problems: Problems, ns: dict[str, Any]
) -> None:
    if value is None or kind == "object":
        return
    if kind.startswith("["):
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {value!r}")
            return
        for i, item in enumerate(value):
            _check_msrest_type(kind[1:-1], item, f"{path}[{i}]", problems, ns)
        return
    if kind.startswith("{"):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {value!r}")
            return
        for key, item in value.items():
            _check_msrest_type(kind[1:-1], item, f"{path}[{key!r}]", problems, ns)
        return
    scalars: dict[str, tuple[type, ...]] = {
        "str": (str,),
        "iso-8601": (str,),
        "bool": (bool,),
        "int": (int,),
        "long": (int,),
        "float": (int, float),
    }
    if kind in scalars:
        bad_bool = isinstance(value, bool) and kind != "bool"
        if not isinstance(value, scalars[kind]) or bad_bool:
            problems.append(f"{path}: expected {kind}, got {value!r}")
    elif kind in ns and hasattr(ns[kind], "_attribute_map"):
        _check_tree(_tree(ns[kind]), value, path, problems, ns)


# -- output fields a read carries -----------------------------------------------------------
def has_field(cls: type, *keys: str) -> bool:
    """Whether the model declares the nested wire key ``keys`` (e.g. properties,
    provisioningState)."""
    if hasattr(cls, "_attribute_map"):
        node: Any = _tree(cls)
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return False
            node = node[key]
        return True
    hint: Any = cls
    for key in keys:
        while typing.get_origin(hint) in (typing.Union, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        if not _is_model(hint) or key not in _fields(hint):
            return False
        hint = _fields(hint)[key]
    return True


def check_output_fields(cls: type, value: dict[str, Any], path: str, problems: Problems) -> None:
    """id, name and type; the etag and provisioning state where the model has them."""
    for key in _READ_ONLY_REQUIRED:
        if has_field(cls, key) and not value.get(key):
            problems.append(f"{path}: no {key}")
    if has_field(cls, "etag") and not value.get("etag"):
        problems.append(f"{path}: no etag")
    if has_field(cls, "properties", "provisioningState") and not (
        value.get("properties") or {}
    ).get("provisioningState"):
        problems.append(f"{path}: no properties.provisioningState")

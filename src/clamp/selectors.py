"""Selecting resources by tags/labels and by where they live, for rule scopes and stages.

    {tags: {env: [dev, test]}, subscriptions: [SUB-ID], projects: [PROJECT-ID]}

A resource matches when every tag named has one of the listed values, and — if any
subscriptions or projects are listed — it lives in one of them. An empty selector matches
everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clamp.errors import InputError
from clamp.fields import check_fields
from clamp.model import Provider

KEYS = ("tags", "subscriptions", "projects")


@dataclass(frozen=True)
class Selector:
    """Which resources a rule or stage covers."""

    tags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    subscriptions: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, data: Any, where: str) -> Selector:
        """A selector from YAML/TOML; ``InputError`` naming ``where`` and the field."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InputError(f"{where}: must be a mapping with {', '.join(KEYS)}")
        check_fields(data, KEYS, where)
        tags = data.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise InputError(f"{where}.tags: must map a tag name to its values")
        parsed = {}
        for key, values in tags.items():
            values = [values] if isinstance(values, str | int | bool) else values
            if not isinstance(values, list) or not values:
                raise InputError(f"{where}.tags.{key}: must be a value or a list of values")
            parsed[str(key)] = frozenset(tag_text(v) for v in values)
        return cls(parsed, _names(data, "subscriptions", where), _names(data, "projects", where))

    def matches(self, provider: Provider, scope: str, tags: Mapping[str, str]) -> bool:
        """Whether a resource (its cloud, subscription/project and tags) is selected."""
        if any(tags.get(key) not in values for key, values in self.tags.items()):
            return False
        if not (self.subscriptions or self.projects):
            return True
        if provider == Provider.AZURE:
            return scope.lower() in {s.lower() for s in self.subscriptions}
        return scope in self.projects


def tag_text(value: Any) -> str:
    """A YAML/TOML scalar as the text a tag holds (``true`` stays ``true``, not ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _names(data: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}.{key}: must be a list of ids")
    return frozenset(value)

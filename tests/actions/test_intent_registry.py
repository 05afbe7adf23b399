"""Every intent describes itself: name, category, schema, permissions, reversibility."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

import clamp.actions  # noqa: F401  (registers the intents)
from clamp.actions.interface import INTENTS, Category, Intent, remediations
from clamp.checks import CHECKS
from clamp.model import Provider

JSON_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
SCHEMA_KEYWORDS = {
    "type",
    "properties",
    "items",
    "required",
    "additionalProperties",
    "description",
    "format",
    "enum",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "default",
    "pattern",
}
PERMISSION_FORMS = {
    Provider.AZURE: re.compile(
        r"Microsoft\.[A-Za-z]+(/[A-Za-z]+)+/(read|write|delete|action)"
        r"|[A-Z][A-Za-z]+\.(Read|ReadWrite)\.All"  # Microsoft Graph permissions
    ),
    Provider.GCP: re.compile(r"[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+"),
}
INTENT_NAMES = INTENTS.names()


def _check_schema(schema: Any, where: str) -> None:
    """A small JSON-schema well-formedness check (keywords and types Clamp uses)."""
    assert isinstance(schema, Mapping), where
    assert set(schema) <= SCHEMA_KEYWORDS, (
        f"{where}: unknown keywords {set(schema) - SCHEMA_KEYWORDS}"
    )
    assert schema.get("type") in JSON_TYPES, f"{where}: type {schema.get('type')!r}"
    for name, sub in (schema.get("properties") or {}).items():
        _check_schema(sub, f"{where}.{name}")
    if "items" in schema:
        _check_schema(schema["items"], f"{where}[]")
    for name in schema.get("required") or []:
        assert name in (schema.get("properties") or {}), f"{where}: required {name!r} undefined"
    assert isinstance(schema.get("additionalProperties", True), bool | Mapping), where


def test_intents_are_registered() -> None:
    assert "restrict_ingress" in INTENT_NAMES


@pytest.mark.parametrize("name", INTENT_NAMES)
def test_intent_declares_name_category_and_reversibility(name: str) -> None:
    intent = INTENTS.get(name)
    assert issubclass(intent, Intent)
    assert intent.name == name
    assert isinstance(intent.category, Category)
    assert isinstance(intent.reversible, bool)
    assert intent.__doc__ and intent.__doc__.strip()


@pytest.mark.parametrize("name", INTENT_NAMES)
def test_intent_fixes_only_known_checks(name: str) -> None:
    intent = INTENTS.get(name)
    assert isinstance(intent.fixes, tuple)
    # Remediation fixes findings; containment acts on a target and fixes none.
    assert bool(intent.fixes) == (intent.category == Category.REMEDIATION)
    unknown = [check for check in intent.fixes if check not in CHECKS]
    assert not unknown, f"{name} fixes unknown checks {unknown}"


@pytest.mark.parametrize("name", INTENT_NAMES)
def test_intent_params_schema_is_a_json_schema_object(name: str) -> None:
    schema = INTENTS.get(name).params_schema
    json.dumps(schema)
    assert schema["type"] == "object"
    assert isinstance(schema.get("properties"), Mapping)
    assert schema.get("additionalProperties") is False, "unknown parameters must be rejected"
    _check_schema(schema, name)


@pytest.mark.parametrize("name", INTENT_NAMES)
def test_intent_lists_least_privilege_permissions_per_cloud(name: str) -> None:
    intent = INTENTS.get(name)
    assert intent.permissions, f"{name} supports no cloud"
    for provider, permissions in intent.permissions.items():
        assert permissions, f"{name} lists no {provider} permission"
        assert len(set(permissions)) == len(permissions), "duplicate permissions"
        for permission in permissions:
            assert PERMISSION_FORMS[provider].fullmatch(permission), permission


@pytest.mark.parametrize("name", INTENT_NAMES)
def test_only_declared_irreversible_intents_cannot_be_undone(name: str) -> None:
    intent = INTENTS.get(name)
    if intent.irreversible:
        assert not intent.reversible


def test_every_check_has_exactly_one_preferred_fix_and_it_comes_first() -> None:
    for check_id, _check in CHECKS:
        preferring = [n for n, intent in INTENTS if check_id in intent.preferred]
        assert len(preferring) == 1, (check_id, preferring)
        assert remediations(check_id)[0] == preferring[0]
        for name in remediations(check_id):
            assert check_id in INTENTS.get(name).fixes


def test_an_intent_prefers_only_checks_it_fixes() -> None:
    for name, intent in INTENTS:
        assert set(intent.preferred) <= set(intent.fixes), name
        assert set(intent.fixes) <= set(CHECKS.names()), name

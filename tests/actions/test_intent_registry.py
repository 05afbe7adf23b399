"""Every intent describes itself: schema, permissions, category, reversibility."""

from __future__ import annotations

import clamp.actions  # noqa: F401  (registers the intents)
from clamp.actions.interface import INTENTS, Category
from clamp.checks import CHECKS
from clamp.model import Provider


def test_every_intent_declares_what_it_needs() -> None:
    assert INTENTS.names()
    for name, intent in INTENTS:
        assert intent.name == name
        assert isinstance(intent.category, Category)
        assert isinstance(intent.reversible, bool)
        assert intent.params_schema["type"] == "object"
        assert "properties" in intent.params_schema
        for provider in Provider:
            assert intent.permissions[provider], f"{name} lists no {provider} permission"
        assert intent.fixes and all(check in CHECKS for check in intent.fixes)


def test_every_check_is_fixed_by_a_registered_intent() -> None:
    for check_id, check in CHECKS:
        assert check.remediations and all(i in INTENTS for i in check.remediations), check_id
        assert check.compliance, check_id

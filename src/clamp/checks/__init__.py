"""Detection rules over normalized facets: pure functions, no I/O, no SDK imports.

``evaluate`` runs every registered check; ``exposures_of`` and ``internet_allow_rules``
(from ``clamp.exposure``) serve the action engine's planning and verification.
"""

from __future__ import annotations

from collections.abc import Iterable

from clamp.bulk import paused_gc
from clamp.checks import database as _database  # noqa: F401
from clamp.checks import identity as _identity  # noqa: F401
from clamp.checks import network as _network  # noqa: F401  (registers the checks)
from clamp.checks import password as _password  # noqa: F401
from clamp.checks import storage as _storage  # noqa: F401
from clamp.checks.interface import CHECKS, Check, Inventory
from clamp.config import Settings
from clamp.exposure import Exposure, exposures_of, internet_allow_rules
from clamp.model import Finding, Resource


def evaluate(resources: Iterable[Resource], settings: Settings) -> list[Finding]:
    """Every registered check over the resources (one resource is enough to verify a fix)."""
    with paused_gc():
        inventory = Inventory(resources)
        return [finding for _, check in CHECKS for finding in check(settings).evaluate(inventory)]


__all__ = [
    "CHECKS",
    "Check",
    "Exposure",
    "Inventory",
    "evaluate",
    "exposures_of",
    "internet_allow_rules",
]

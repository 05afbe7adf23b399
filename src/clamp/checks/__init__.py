"""Detection rules over normalized facets: pure functions, no I/O, no SDK imports."""

from __future__ import annotations

from collections.abc import Iterable

from clamp.checks import network as _network  # noqa: F401  (registers the checks)
from clamp.checks.interface import CHECKS, Check, Inventory
from clamp.config import Settings
from clamp.model import Finding, Resource


def evaluate(resources: Iterable[Resource], settings: Settings) -> list[Finding]:
    """Every registered check over the resources (one resource is enough to verify a fix)."""
    inventory = Inventory(resources)
    return [finding for _, check in CHECKS for finding in check(settings).evaluate(inventory)]


__all__ = ["CHECKS", "Check", "Inventory", "evaluate"]

"""Comparing raw cloud objects: does what the cloud has now match what Clamp expects?

Clouds add read-only and defaulted fields on every write (etags, provisioning state,
timestamps, empty lists), so a match is a *subset* match on the fields Clamp wrote,
with empty values and absent keys treated alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

VOLATILE_KEYS = frozenset(
    {
        "etag",
        "provisioningState",
        "id",
        "selfLink",
        "creationTimestamp",
        "type",
        "resourceGuid",
        "kind",
        "fingerprint",
        "labelFingerprint",
        # Cloud Storage stamps these on every write; concurrency is the write's own
        # ifMetagenerationMatch, and any real field change still shows.
        "metageneration",
        "updated",
        "effectiveTime",
        "lockedTime",
        # ARM stamps role assignments when they are (re-)created.
        "createdOn",
        "updatedOn",
        "createdBy",
        "updatedBy",
    }
)


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def matches(expected: Mapping[str, Any] | None, actual: Mapping[str, Any] | None) -> bool:
    """Whether ``actual`` has every non-volatile field of ``expected`` with the same value.

    ``None`` means "absent": it matches only an absent object."""
    if expected is None or actual is None:
        return expected is None and actual is None
    return _subset(expected, actual)


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return _empty(expected) and _empty(actual)
        return all(
            _subset(value, actual.get(key))
            for key, value in expected.items()
            if key not in VOLATILE_KEYS
        )
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return _empty(expected) and _empty(actual)
        return len(expected) == len(actual) and all(
            _subset(e, a) for e, a in zip(expected, actual, strict=True)
        )
    if _empty(expected):
        return _empty(actual)
    if isinstance(expected, str) and isinstance(actual, str):
        return (
            expected.lower() == actual.lower() if expected.startswith("/") else expected == actual
        )
    return bool(expected == actual)

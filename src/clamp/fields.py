"""Checking the fields of a user's file (rules, playbooks, selectors, config) before reading
them, and the durations they hold (``30m``, ``24h``, ``7d``)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from clamp.errors import InputError

DURATION = re.compile(r"^(\d+)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def check_fields(data: Mapping[str, Any], known: Collection[str], where: str) -> None:
    """Refuse a mapping with fields outside ``known``, naming them and the valid ones."""
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"{where}: unknown field(s) {unknown}; valid: {sorted(known)}")


def parse_duration(raw: Any, where: str) -> timedelta:
    """A duration such as ``30s``, ``30m``, ``24h`` or ``7d``; anything else is refused."""
    found = DURATION.match(str(raw).strip())
    if found is None:
        raise InputError(f"{where}: a duration such as 30m, 24h or 7d, not {raw!r}")
    return timedelta(**{UNITS[found.group(2)]: int(found.group(1))})

"""Checking the fields of a user's file (rules, playbooks, selectors) before reading them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from clamp.errors import InputError


def check_fields(data: Mapping[str, Any], known: Collection[str], where: str) -> None:
    """Refuse a mapping with fields outside ``known``, naming them and the valid ones."""
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"{where}: unknown field(s) {unknown}; valid: {sorted(known)}")

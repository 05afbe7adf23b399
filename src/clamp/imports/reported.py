"""Who reported a finding: Clamp, another tool (an import), or both. Apart from the
importers' interface, so that printing findings does not load it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def source_of(details: Mapping[str, Any]) -> str:
    """Who reported a finding, as ``clamp findings`` shows it: ``clamp`` for Clamp's own
    (with the other tools that reported it too), else the tool, and whether Clamp has
    confirmed it yet."""
    imported = details.get("source")
    if imported:
        return str(imported) if details.get("confirmed") else f"{imported} (unconfirmed)"
    also = sorted({str(e.get("source")) for e in details.get("reported_by") or [] if e})
    return ", ".join(["clamp", *also])


def is_imported(details: Mapping[str, Any]) -> bool:
    """Whether a finding came from another tool and Clamp's own read has not confirmed it."""
    return bool(details.get("source")) and not details.get("confirmed")

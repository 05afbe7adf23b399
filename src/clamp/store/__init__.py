"""Persistence: findings and their lifecycle, the action journal, the audit log.

``Store.open(url)`` connects (SQLite by default, PostgreSQL with
``postgresql+psycopg://``) and migrates with Alembic; ``clamp.store.codec`` turns the
records into the JSON that ``--format json`` prints.

``Store`` and ``AuditLog`` load SQLAlchemy, so they are imported on first use (PEP 562):
``from clamp.store import FindingRecord`` stays cheap for commands that open no store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clamp.store.records import AuditEntry, AuditNote, FindingRecord, ScanSummary

if TYPE_CHECKING:
    from clamp.store.audit import AuditLog
    from clamp.store.store import Store

__all__ = ["AuditEntry", "AuditLog", "AuditNote", "FindingRecord", "ScanSummary", "Store"]


def __getattr__(name: str) -> Any:
    """Import ``Store`` and ``AuditLog`` (and with them SQLAlchemy) when first asked for."""
    if name == "Store":
        from clamp.store.store import Store

        return Store
    if name == "AuditLog":
        from clamp.store.audit import AuditLog

        return AuditLog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

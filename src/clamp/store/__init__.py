"""Persistence: findings and their lifecycle, the action journal, the audit log.

``Store.open(url)`` connects (SQLite by default, PostgreSQL with
``postgresql+psycopg://``) and migrates with Alembic; ``clamp.store.codec`` turns the
records into the JSON that ``--format json`` prints.
"""

from __future__ import annotations

from clamp.store.audit import AuditLog
from clamp.store.records import AuditEntry, AuditNote, FindingRecord, ScanSummary
from clamp.store.store import Store

__all__ = ["AuditEntry", "AuditLog", "AuditNote", "FindingRecord", "ScanSummary", "Store"]

"""Stored rows to records, for the readers on SQLAlchemy Core and the ORM writers alike:
a Core ``Row`` of ``clamp.store.tables`` and an ORM object of ``clamp.store.rows`` are
both read by attribute. No ``sqlalchemy.orm`` here."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_

from clamp.model import ActionRecord, Finding, FindingStatus, Provider, Severity
from clamp.store import codec, tables
from clamp.store.records import FindingRecord

if TYPE_CHECKING:
    from sqlalchemy import Row

    from clamp.store.rows import ActionRow, FindingRow

OPEN, RESOLVED, SUPPRESSED = FindingStatus.OPEN, FindingStatus.RESOLVED, FindingStatus.SUPPRESSED
_FINDINGS = tables.findings.c


def expired_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: a suppression whose expiry has passed (the finding behaves as open)."""
    return and_(
        _FINDINGS.status == SUPPRESSED.value,
        _FINDINGS.suppressed_until.is_not(None),
        _FINDINGS.suppressed_until <= now,
    )


def is_expired(row: FindingRow | Row[Any], now: datetime) -> bool:
    """Whether the finding's suppression has expired (it behaves as open)."""
    until = row.suppressed_until
    return row.status == SUPPRESSED.value and until is not None and until <= now


def finding_record(row: FindingRow | Row[Any], now: datetime) -> FindingRecord:
    """The finding and its lifecycle as stored (an expired suppression reads as open)."""
    status = OPEN if is_expired(row, now) else FindingStatus(row.status)
    finding = Finding(
        check=row.check,
        provider=Provider(row.provider),
        resource=row.resource,
        scope=row.scope,
        severity=Severity(row.severity),
        title=row.title,
        details=row.details,
        status=status,
    )
    return FindingRecord(
        finding=finding,
        status=status,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        suppressed_reason=row.suppressed_reason,
        suppressed_until=row.suppressed_until,
        suppressed_by=row.suppressed_by,
    )


def action_row_json(row: ActionRow | Row[Any]) -> dict[str, Any]:
    """A journal row as ``codec.action_to_json`` writes the action (its columns are those keys)."""
    data = {column.key: getattr(row, column.key) for column in tables.actions.columns}
    data.update(created=codec.iso(row.created), updated=codec.iso(row.updated))
    return data


def action_record(row: ActionRow | Row[Any]) -> ActionRecord:
    """The journaled action of a row."""
    return codec.action_from_json(action_row_json(row))

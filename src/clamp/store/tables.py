"""The store's tables as SQLAlchemy 2 typed declarative models: here those that the
findings, the journal, the audit log, incidents and the outbox need; the rules', the
service's, the events' and the flow logs' tables in their own modules, loaded with their
books (``clamp.store.schema`` holds them all).

Enums are stored as their string values (no native enum types, so migrations stay
portable between SQLite and PostgreSQL). Every datetime column is ``UTCDateTime``:
timezone-aware UTC in Python on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first audit entry, and the chain head of an empty log."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so values are stored as
    naive UTC and get ``tzinfo=UTC`` back on read. Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalize to UTC; strip the zone only where the backend cannot hold it."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Clamp stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class FindingRow(Base):
    """One finding with its lifecycle (open, resolved, suppressed)."""

    __tablename__ = "findings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    check: Mapped[str] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(16))
    resource: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), index=True)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    suppressed_reason: Mapped[str | None] = mapped_column(Text)
    suppressed_until: Mapped[datetime | None]
    suppressed_by: Mapped[str | None] = mapped_column(String(256))

    __table_args__ = (Index("ix_findings_provider_scope", "provider", "scope"),)


class ScanRow(Base):
    """One recorded scan: what it covered and how the findings moved."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recorded: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(256))
    scopes: Mapped[list[list[str]]] = mapped_column(JSON)
    resources: Mapped[int] = mapped_column(Integer)
    new: Mapped[int] = mapped_column(Integer)
    open: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    suppressed: Mapped[int] = mapped_column(Integer)


class ActionRow(Base):
    """One journaled action: its plan, status and the changes as the cloud realized them."""

    __tablename__ = "actions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    finding: Mapped[str] = mapped_column(String(64), index=True)
    intent: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(256))
    created: Mapped[datetime] = mapped_column(index=True)
    updated: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text)
    in_flight: Mapped[bool] = mapped_column(Boolean, index=True)
    undoes: Mapped[str | None] = mapped_column(String(64))
    plan: Mapped[dict[str, Any]]
    applied: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    baseline: Mapped[dict[str, str]] = mapped_column(JSON, server_default="{}")


class AuditEntryRow(Base):
    """One audit entry; ``hash`` chains it to the entry before (``prev_hash``)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    timestamp: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(256))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHeadRow(Base):
    """The single chain-head row: last seq and hash; appenders lock it to serialize."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class IncidentRow(Base):
    """One incident (the whole record in ``data``)."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    open: Mapped[bool] = mapped_column(Boolean, index=True)
    created: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class RunRow(Base):
    """One playbook run with its steps (the whole record in ``data``)."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    created: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class ApprovalRow(Base):
    """One approval request (the whole record in ``data``)."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    decision: Mapped[str] = mapped_column(String(16), index=True)
    created: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class NoticeRow(Base):
    """One notification in the outbox, written in the same transaction as the change it
    tells of (an audited event, a finding a scan opened or resolved)."""

    __tablename__ = "notices"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    """The order the notices were written in (their ids are random)."""
    id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(256))
    subject: Mapped[str] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(16))
    scope: Mapped[str | None] = mapped_column(String(256))
    data: Mapped[dict[str, Any]]
    routed: Mapped[bool] = mapped_column(Boolean, index=True)
    """Whether the dispatcher has made its deliveries (one per matching sink)."""

    __table_args__ = (Index("ix_notices_kind_subject", "kind", "subject"),)


class NoticeDeliveryRow(Base):
    """One notice on its way to one sink: attempts, when it is next due, the last error;
    ``dead`` once it ran out of attempts (the dead letters)."""

    __tablename__ = "notice_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice: Mapped[str] = mapped_column(String(32), index=True)
    sink: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    due: Mapped[datetime] = mapped_column(index=True)
    updated: Mapped[datetime]
    error: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ux_notice_deliveries_notice_sink", "notice", "sink", unique=True),)

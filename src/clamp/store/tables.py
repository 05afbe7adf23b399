"""The store's tables as SQLAlchemy Core ``Table`` objects, the one place their columns are
declared: here those that the findings, the journal, the audit log, incidents and the
outbox need; the rules', the service's, the events' and the flow logs' tables in their own
modules, loaded with their books (``clamp.store.schema`` holds them all).

The commands that only read (``clamp findings``, ``actions``, ``audit verify``) query these
with SQLAlchemy Core and never load ``sqlalchemy.orm``; the writers' ORM classes are mapped
onto the same tables in ``clamp.store.rows``.

Enums are stored as their string values (no native enum types, so migrations stay
portable between SQLite and PostgreSQL). Every datetime column is ``UTCDateTime``:
timezone-aware UTC in Python on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

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


METADATA = MetaData()
"""Every table of the store (the other tables' modules add theirs when loaded)."""


def _when(name: str, *, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(name, UTCDateTime(), nullable=nullable, index=index)


findings = Table(
    "findings",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("check", String(128), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("resource", Text, nullable=False),
    Column("scope", String(256), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    _when("first_seen"),
    _when("last_seen"),
    _when("resolved_at", nullable=True),
    Column("suppressed_reason", Text),
    _when("suppressed_until", nullable=True),
    Column("suppressed_by", String(256)),
    Index("ix_findings_provider_scope", "provider", "scope"),
)
"""One finding with its lifecycle (open, resolved, suppressed)."""

scans = Table(
    "scans",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _when("recorded"),
    Column("source", String(256), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("resources", Integer, nullable=False),
    Column("new", Integer, nullable=False),
    Column("open", Integer, nullable=False),
    Column("resolved", Integer, nullable=False),
    Column("reopened", Integer, nullable=False),
    Column("suppressed", Integer, nullable=False),
)
"""One recorded scan: what it covered and how the findings moved."""

actions = Table(
    "actions",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("finding", String(64), nullable=False, index=True),
    Column("intent", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("actor", String(256), nullable=False),
    _when("created", index=True),
    _when("updated", nullable=True),
    Column("reason", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("in_flight", Boolean, nullable=False, index=True),
    Column("undoes", String(64)),
    Column("plan", JSON, nullable=False),
    Column("applied", JSON, nullable=False),
    Column("baseline", JSON, nullable=False, server_default="{}"),
)
"""One journaled action: its plan, status and the changes as the cloud realized them."""

audit_log = Table(
    "audit_log",
    METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    _when("timestamp"),
    Column("event", String(128), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
)
"""One audit entry; ``hash`` chains it to the entry before (``prev_hash``)."""

audit_head = Table(
    "audit_head",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
"""The single chain-head row: last seq and hash; appenders lock it to serialize."""

incidents = Table(
    "incidents",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("open", Boolean, nullable=False, index=True),
    _when("created"),
    Column("data", JSON, nullable=False),
)
"""One incident (the whole record in ``data``)."""

runs = Table(
    "runs",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("incident", String(64), nullable=False, index=True),
    Column("status", String(32), nullable=False, index=True),
    _when("created"),
    Column("data", JSON, nullable=False),
)
"""One playbook run with its steps (the whole record in ``data``)."""

approvals = Table(
    "approvals",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("decision", String(16), nullable=False, index=True),
    _when("created"),
    Column("data", JSON, nullable=False),
)
"""One approval request (the whole record in ``data``)."""

notices = Table(
    "notices",
    METADATA,
    # the order the notices were written in (their ids are random)
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("kind", String(64), nullable=False),
    _when("created", index=True),
    Column("actor", String(256), nullable=False),
    Column("subject", Text, nullable=False),
    Column("severity", String(16)),
    Column("provider", String(16)),
    Column("scope", String(256)),
    Column("data", JSON, nullable=False),
    # whether the dispatcher has made its deliveries (one per matching sink)
    Column("routed", Boolean, nullable=False, index=True),
    Index("ix_notices_kind_subject", "kind", "subject"),
)
"""One notification in the outbox, written in the same transaction as the change it tells
of (an audited event, a finding a scan opened or resolved)."""

notice_deliveries = Table(
    "notice_deliveries",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice", String(32), nullable=False, index=True),
    Column("sink", String(128), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    _when("due", index=True),
    _when("updated"),
    Column("error", Text, nullable=False),
    Index("ux_notice_deliveries_notice_sink", "notice", "sink", unique=True),
)
"""One notice on its way to one sink: attempts, when it is next due, the last error;
``dead`` once it ran out of attempts (the dead letters)."""

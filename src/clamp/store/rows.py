"""The writers' ORM classes, mapped onto the Core tables of ``clamp.store.tables`` (declared
once, there): the commands that only read never load this module or ``sqlalchemy.orm``.

``Base`` is also the declarative base of the rules', the service's, the events' and the
flow logs' tables (their own modules), on the same ``MetaData``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase, Mapped

from clamp.store import tables
from clamp.store.tables import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""

    metadata = tables.METADATA
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class FindingRow(Base):
    """One finding with its lifecycle (open, resolved, suppressed)."""

    __table__ = tables.findings

    id: Mapped[str]
    check: Mapped[str]
    provider: Mapped[str]
    resource: Mapped[str]
    scope: Mapped[str]
    severity: Mapped[str]
    title: Mapped[str]
    details: Mapped[dict[str, Any]]
    status: Mapped[str]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    suppressed_reason: Mapped[str | None]
    suppressed_until: Mapped[datetime | None]
    suppressed_by: Mapped[str | None]


class ScanRow(Base):
    """One recorded scan: what it covered and how the findings moved."""

    __table__ = tables.scans

    id: Mapped[int]
    recorded: Mapped[datetime]
    source: Mapped[str]
    scopes: Mapped[list[list[str]]]
    resources: Mapped[int]
    new: Mapped[int]
    open: Mapped[int]
    resolved: Mapped[int]
    reopened: Mapped[int]
    suppressed: Mapped[int]


class ActionRow(Base):
    """One journaled action: its plan, status and the changes as the cloud realized them."""

    __table__ = tables.actions

    id: Mapped[str]
    finding: Mapped[str]
    intent: Mapped[str]
    status: Mapped[str]
    actor: Mapped[str]
    created: Mapped[datetime]
    updated: Mapped[datetime | None]
    reason: Mapped[str]
    result: Mapped[str]
    in_flight: Mapped[bool]
    undoes: Mapped[str | None]
    plan: Mapped[dict[str, Any]]
    applied: Mapped[list[dict[str, Any]]]
    baseline: Mapped[dict[str, str]]


class AuditEntryRow(Base):
    """One audit entry; ``hash`` chains it to the entry before (``prev_hash``)."""

    __table__ = tables.audit_log

    seq: Mapped[int]
    timestamp: Mapped[datetime]
    event: Mapped[str]
    actor: Mapped[str]
    payload: Mapped[str]
    prev_hash: Mapped[str]
    hash: Mapped[str]


class AuditHeadRow(Base):
    """The single chain-head row: last seq and hash; appenders lock it to serialize."""

    __table__ = tables.audit_head

    id: Mapped[int]
    seq: Mapped[int]
    hash: Mapped[str]


class IncidentRow(Base):
    """One incident (the whole record in ``data``)."""

    __table__ = tables.incidents

    id: Mapped[str]
    open: Mapped[bool]
    created: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class RunRow(Base):
    """One playbook run with its steps (the whole record in ``data``)."""

    __table__ = tables.runs

    id: Mapped[str]
    incident: Mapped[str]
    status: Mapped[str]
    created: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class ApprovalRow(Base):
    """One approval request (the whole record in ``data``)."""

    __table__ = tables.approvals

    id: Mapped[str]
    decision: Mapped[str]
    created: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class NoticeRow(Base):
    """One notification in the outbox (``clamp.store.tables.notices``)."""

    __table__ = tables.notices

    seq: Mapped[int]
    id: Mapped[str]
    kind: Mapped[str]
    created: Mapped[datetime]
    actor: Mapped[str]
    subject: Mapped[str]
    severity: Mapped[str | None]
    provider: Mapped[str | None]
    scope: Mapped[str | None]
    data: Mapped[dict[str, Any]]
    routed: Mapped[bool]


class NoticeDeliveryRow(Base):
    """One notice on its way to one sink (``clamp.store.tables.notice_deliveries``)."""

    __table__ = tables.notice_deliveries

    id: Mapped[int]
    notice: Mapped[str]
    sink: Mapped[str]
    status: Mapped[str]
    attempts: Mapped[int]
    due: Mapped[datetime]
    updated: Mapped[datetime]
    error: Mapped[str]

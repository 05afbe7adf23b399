"""The flow-log tables: aggregates (all that is kept of flows), per-blob and per-file
cursors, and coverage (which resources had flow logging, per time bucket)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from clamp.store.rows import Base


class FlowAggregateRow(Base):
    """Flows folded per destination resource, port, protocol, source, direction, rule,
    decision and time bucket; ``key`` is a digest of those, unique."""

    __tablename__ = "flow_aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    provider: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str | None] = mapped_column(String(1024))
    """Looked up case-insensitively (``lower``), which no plain index serves: none kept."""
    destination: Mapped[str] = mapped_column(String(64), index=True)
    port: Mapped[int | None] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str | None] = mapped_column(String(512))
    decision: Mapped[str] = mapped_column(String(8))
    bucket: Mapped[datetime] = mapped_column(index=True)
    flows: Mapped[int] = mapped_column(BigInteger)
    bytes_sent: Mapped[int] = mapped_column(BigInteger)
    bytes_received: Mapped[int] = mapped_column(BigInteger)
    packets_sent: Mapped[int] = mapped_column(BigInteger)
    packets_received: Mapped[int] = mapped_column(BigInteger)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class FlowCursorRow(Base):
    """How far one flow-log source (a file, a blob) has been ingested: records taken from
    a file; a blob's etag, the committed blocks read and the bytes they span."""

    __tablename__ = "flow_cursors"

    source: Mapped[str] = mapped_column(String(1024), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(128))
    blocks: Mapped[dict[str, Any]]
    offset: Mapped[int] = mapped_column(BigInteger)
    records: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[datetime]


class FlowCoverageRow(Base):
    """One resource (a VNet, subnet, NIC, NSG, subnetwork, firewall rule or VM) seen in
    the flow logs of one time bucket: its logging was on then."""

    __tablename__ = "flow_coverage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    resource: Mapped[str] = mapped_column(String(1024))
    bucket: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (Index("ux_flow_coverage_resource_bucket", "resource", "bucket", unique=True),)

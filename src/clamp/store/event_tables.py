"""The cloud change events' tables: events, their identities and the delivery counters
(``EventBook``); loaded with the book, registered on ``Base``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clamp.store.rows import Base


class EventRow(Base):
    """One cloud change event, stored before its delivery is acknowledged: when the cloud
    says it happened, when Clamp received it, processed it, and acted on it."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    resource: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(256))
    final: Mapped[bool] = mapped_column(Boolean)
    event_time: Mapped[datetime | None]
    received: Mapped[datetime] = mapped_column(index=True)
    processed: Mapped[datetime | None] = mapped_column(index=True)
    acted: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(Text)
    due: Mapped[datetime | None] = mapped_column(index=True)
    """When rules with an enforcement delay are next due to act on the event's findings."""
    opened: Mapped[str | None] = mapped_column(Text)
    """The ids of the findings the event opened (JSON), while delayed rules wait."""


class EventKeyRow(Base):
    """One identity of a stored event (Event Grid id, Pub/Sub message id, audit insertId,
    operation id): a delivery sharing any of them is a duplicate."""

    __tablename__ = "event_keys"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    event: Mapped[str] = mapped_column(String(512), index=True)


class EventCounterRow(Base):
    """A running count of deliveries: received, rejected, duplicates, ignored."""

    __tablename__ = "event_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)

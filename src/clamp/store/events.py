"""Cloud change events in the store: each stored once (by any of its keys), before the
delivery is acknowledged, with its times; and the delivery counters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from clamp.events.record import CloudEvent, EventKind
from clamp.model import Provider
from clamp.store.event_tables import EventCounterRow, EventKeyRow, EventRow

COUNTERS = ("received", "rejected", "duplicates", "ignored")
RECENT = 10_000
"""Latency figures are taken over the newest events processed."""


class Intake(StrEnum):
    """What storing a delivered event did."""

    NEW = "new"
    DUPLICATE = "duplicate"
    COMPLETES = "completes"
    """A duplicate that ends the long-running operation a stored event began: the stored
    event is to be processed again, now that the change is done."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored, with its times."""

    event: CloudEvent
    received: datetime
    processed: datetime | None = None
    acted: datetime | None = None
    result: str = ""
    due: datetime | None = None
    """When rules with an enforcement delay are next due to act on ``opened``."""
    opened: tuple[str, ...] = ()
    """The findings the event opened, kept while delayed rules wait."""


def _stored(row: EventRow) -> StoredEvent:
    event = CloudEvent(
        provider=Provider(row.provider),
        keys=(row.id,),
        resource=row.resource,
        kind=EventKind(row.kind),
        type=row.type,
        event_time=row.event_time,
        final=row.final,
    )
    opened = tuple(json.loads(row.opened)) if row.opened else ()
    return StoredEvent(event, row.received, row.processed, row.acted, row.result, row.due, opened)


class EventBook:
    """Events and counters in the store's database."""

    def __init__(self, reads: sessionmaker[Session], writes: sessionmaker[Session]) -> None:
        self._reads = reads
        self._writes = writes

    def record(self, event: CloudEvent, received: datetime) -> Intake:
        """Store ``event`` unless one sharing a key is stored (then count a duplicate)."""
        try:
            return self._record(event, received)
        except IntegrityError:  # a concurrent delivery of the same event won
            self.count("duplicates")
            return Intake.DUPLICATE

    def _record(self, event: CloudEvent, received: datetime) -> Intake:
        with self._writes.begin() as session:
            known = session.scalars(
                select(EventKeyRow).where(EventKeyRow.key.in_(event.keys))
            ).all()
            if known:
                row = session.get(EventRow, known[0].event)
                have = {k.key for k in known}
                session.add_all(
                    EventKeyRow(key=k, event=known[0].event) for k in event.keys if k not in have
                )
                _bump(session, "duplicates")
                if row is not None and event.final and not row.final:
                    row.final, row.processed, row.result = True, None, ""
                    return Intake.COMPLETES
                return Intake.DUPLICATE
            session.add(
                EventRow(
                    id=event.id,
                    provider=event.provider.value,
                    resource=event.resource,
                    kind=event.kind.value,
                    type=event.type[:256],
                    final=event.final,
                    event_time=event.event_time,
                    received=received,
                    processed=None,
                    acted=None,
                    result="",
                )
            )
            session.add_all(EventKeyRow(key=k, event=event.id) for k in dict.fromkeys(event.keys))
            _bump(session, "received")
            return Intake.NEW

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to one of ``COUNTERS``."""
        with self._writes.begin() as session:
            _bump(session, name, n)

    def get(self, event_id: str) -> StoredEvent | None:
        """One stored event."""
        with self._reads() as session:
            row = session.get(EventRow, event_id)
            return _stored(row) if row is not None else None

    def pending(self) -> list[StoredEvent]:
        """Events stored but not processed (a crash between ack and processing), oldest first."""
        query = select(EventRow).where(EventRow.processed.is_(None)).order_by(EventRow.received)
        with self._reads() as session:
            return [_stored(row) for row in session.scalars(query)]

    def done(
        self,
        event_id: str,
        when: datetime,
        result: str,
        acted: datetime | None = None,
        *,
        due: datetime | None = None,
        opened: Sequence[str] = (),
    ) -> None:
        """Record that an event was processed, what came of it, when its first action call
        was issued, and — while rules with an enforcement delay wait — when they are due
        and the findings they are to act on."""
        with self._writes.begin() as session:
            done_in(session, event_id, when, result, acted, due=due, opened=opened)

    def waited(
        self, event_id: str, note: str, acted: datetime | None, due: datetime | None
    ) -> None:
        """Record what delayed rules did: ``note`` added to the result, the first action
        call kept, and when the next ones are due (None: none wait any more)."""
        with self._writes.begin() as session:
            row = session.get(EventRow, event_id)
            if row is None:
                return
            row.result = "; ".join(filter(None, (row.result, note)))
            row.acted = row.acted or acted
            row.due = due
            if due is None:
                row.opened = None

    def due(self, now: datetime) -> list[StoredEvent]:
        """Processed events whose delayed rules are due at ``now``, the earliest first."""
        query = select(EventRow).where(EventRow.due <= now).order_by(EventRow.due)
        with self._reads() as session:
            return [_stored(row) for row in session.scalars(query)]

    def counters(self) -> dict[str, int]:
        """Every counter, and how many events were processed."""
        with self._reads() as session:
            counts = {name: 0 for name in COUNTERS}
            counts.update((r.name, r.value) for r in session.scalars(select(EventCounterRow)))
            done = EventRow.processed.is_not(None)
            counts["processed"] = session.scalar(select(func.count()).where(done)) or 0
        return counts

    def recent(self, limit: int = RECENT) -> list[StoredEvent]:
        """The newest processed events (for latency figures)."""
        query = (
            select(EventRow)
            .where(EventRow.processed.is_not(None))
            .order_by(EventRow.processed.desc())
            .limit(limit)
        )
        with self._reads() as session:
            return [_stored(row) for row in session.scalars(query)]


def done_in(
    session: Session,
    event_id: str,
    when: datetime,
    result: str,
    acted: datetime | None = None,
    *,
    due: datetime | None = None,
    opened: Sequence[str] = (),
) -> None:
    """``EventBook.done`` inside the caller's write transaction."""
    row = session.get(EventRow, event_id)
    if row is not None:
        row.processed, row.result, row.acted = when, result, acted
        row.due, row.opened = due, json.dumps(list(opened)) if due else None


def _bump(session: Session, name: str, n: int = 1) -> None:
    row = session.get(EventCounterRow, name)
    if row is None:
        session.add(EventCounterRow(name=name, value=n))
    else:
        row.value += n

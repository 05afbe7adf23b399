"""Cloud change events in the store: each stored once (by any of its keys), before the
delivery is acknowledged, with its times; and the delivery counters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from clamp.events.record import CloudEvent, EventKind
from clamp.model import Provider
from clamp.store.event_tables import EventCounterRow, EventKeyRow, EventRow

COUNTERS = ("received", "rejected", "duplicates", "ignored")
RECENT = 10_000
"""Latency figures are taken over the newest events processed."""
_IN_CHUNK = 500
"""Keys looked up per statement (well under SQLite's limit on bound parameters)."""


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

    def __init__(
        self, reads: sessionmaker[Session], writes: sessionmaker[Session], engine: Engine
    ) -> None:
        self._reads = reads
        self._writes = writes
        self._engine = engine
        """The writer engine, for the intake's Core statements."""

    def record(self, event: CloudEvent, received: datetime) -> Intake:
        """Store ``event`` unless one sharing a key is stored (then count a duplicate)."""
        return self.record_many([(event, received)])[0]

    def record_many(self, events: Sequence[tuple[CloudEvent, datetime]]) -> list[Intake]:
        """Store each ``(event, received)`` like ``record``, all in one transaction (a
        delivery's batch, or concurrent deliveries' events gathered by a group commit)."""
        try:
            return self._record_many(events)
        except IntegrityError:  # another process stored one of them meanwhile: one by one
            return [self._record_alone(event, received) for event, received in events]

    def _record_alone(self, event: CloudEvent, received: datetime) -> Intake:
        try:
            return self._record_many([(event, received)])[0]
        except IntegrityError:  # a concurrent delivery of the same event won
            self.count("duplicates")
            return Intake.DUPLICATE

    def _record_many(self, events: Sequence[tuple[CloudEvent, datetime]]) -> list[Intake]:
        """A few statements however many events: the keys looked up at once, the new rows
        inserted in bulk, the counters bumped once — in Core, no ORM session (the intake
        path: its unit of work cost as much as the statements)."""
        wanted = list({k for event, _ in events for k in event.keys})
        with self._engine.begin() as session:
            owner: dict[str, str] = {}  # key -> the stored event holding it
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                query = select(EventKeyRow.key, EventKeyRow.event).where(EventKeyRow.key.in_(chunk))
                owner.update((key, held) for key, held in session.execute(query))
            final = _finals(session, set(owner.values()))
            rows: dict[str, dict[str, object]] = {}
            keys: list[dict[str, str]] = []
            completed: set[str] = set()
            outcomes = []
            for event, received in events:
                held = next((owner[k] for k in event.keys if k in owner), None)
                if held is None:
                    held = event.id
                    rows[held] = _row(event, received)
                    final[held] = event.final
                    outcomes.append(Intake.NEW)
                elif event.final and not final.get(held, True):
                    final[held] = True
                    if held in rows:
                        rows[held].update(final=True)
                    else:
                        completed.add(held)
                    outcomes.append(Intake.COMPLETES)
                else:
                    outcomes.append(Intake.DUPLICATE)
                for key in dict.fromkeys(event.keys):
                    if key not in owner:
                        owner[key] = held
                        keys.append({"key": key, "event": held})
            if rows:
                session.execute(insert(EventRow), list(rows.values()))
            if keys:
                session.execute(insert(EventKeyRow), keys)
            if completed:
                reopen = update(EventRow).where(EventRow.id.in_(completed))
                session.execute(reopen.values(final=True, processed=None, result=""))
            if rows:
                _add(session, "received", len(rows))
            if len(events) > len(rows):
                _add(session, "duplicates", len(events) - len(rows))
            return outcomes

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to one of ``COUNTERS``."""
        with self._engine.begin() as connection:
            _add(connection, name, n)

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
        covers: Sequence[str] = (),
    ) -> list[datetime]:
        """Record that an event was processed, what came of it, when its first action call
        was issued, and — while rules with an enforcement delay wait — when they are due
        and the findings they are to act on; and the events of ``covers`` as done by its
        re-read. When each of those was received."""
        with self._writes.begin() as session:
            return done_in(
                session, event_id, when, result, acted, due=due, opened=opened, covers=covers
            )

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
    covers: Sequence[str] = (),
) -> list[datetime]:
    """``EventBook.done`` inside the caller's write transaction: an ``UPDATE`` for the
    event, one for those it covers (however many)."""
    kept = json.dumps(list(opened)) if due else None
    done = update(EventRow).where(EventRow.id == event_id)
    session.execute(
        done.values(processed=when, result=result, acted=acted, due=due, opened=kept),
        execution_options={"synchronize_session": False},
    )
    ids = [i for i in dict.fromkeys(covers) if i != event_id]
    received: list[datetime] = []
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        shared = update(EventRow).where(EventRow.id.in_(chunk))
        values = {"processed": when, "result": f"re-read with {event_id}", "acted": None}
        session.execute(
            shared.values(**values, due=None, opened=None),
            execution_options={"synchronize_session": False},
        )  # (no RETURNING: SQLite has it only since 3.35)
        received += session.scalars(select(EventRow.received).where(EventRow.id.in_(chunk)))
    return received


def _row(event: CloudEvent, received: datetime) -> dict[str, object]:
    return {
        "id": event.id,
        "provider": event.provider.value,
        "resource": event.resource,
        "kind": event.kind.value,
        "type": event.type[:256],
        "final": event.final,
        "event_time": event.event_time,
        "received": received,
        "processed": None,
        "acted": None,
        "result": "",
        "due": None,
        "opened": None,
    }


def _finals(session: Connection, ids: set[str]) -> dict[str, bool]:
    """Whether each stored event of ``ids`` is final (its operation done)."""
    if not ids:
        return {}
    query = select(EventRow.id, EventRow.final).where(EventRow.id.in_(ids))
    return {event_id: final for event_id, final in session.execute(query)}


def _add(connection: Connection, name: str, n: int) -> None:
    """Add ``n`` to the counter ``name`` (made at its first use)."""
    counter = EventCounterRow
    bump = update(counter).where(counter.name == name).values(value=counter.value + n)
    if connection.execute(bump).rowcount == 0:
        connection.execute(insert(counter).values(name=name, value=n))

"""The outbox of outbound notifications, and each notice's deliveries to the sinks.

A notice is written in the same transaction as the change it tells of, so a crash keeps
both or neither: every audited event of ``NOTIFIED_EVENTS`` (``AuditLog.append_in`` calls
``enqueue_in``), and each finding a scan or an event's re-read opened, reopened or resolved
(``Store.record_scan`` / ``record_findings`` call ``findings_moved_in``). Delivery happens
later and apart (``clamp.notify.dispatcher``): a sink that is down never fails a fix.

A delivery is one notice on its way to one sink: ``pending`` (due at ``due``),
``delivered``, or ``dead`` after its last attempt failed (the dead letters).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from clamp.errors import InputError, NotFoundError
from clamp.model import Finding
from clamp.store import tables
from clamp.store.lifecycle import chunks, rows_by_id
from clamp.store.notice_records import (
    NOTIFIED_EVENTS,
    Delivery,
    DeliveryStatus,
    Notice,
    Outcome,
)
from clamp.store.records import FindingRecord, RuleAction
from clamp.store.row_records import action_row_json, finding_record
from clamp.store.rows import ActionRow, FindingRow, NoticeDeliveryRow, NoticeRow


def _notice(row: NoticeRow) -> Notice:
    return Notice(
        row.id,
        row.kind,
        row.created,
        row.actor,
        row.subject,
        row.severity,
        row.provider,
        row.scope,
        row.data,
    )


# -- writing, inside the caller's transaction ---------------------------------------------
def enqueue_in(
    session: Session,
    event: str,
    actor: str,
    payload: Mapping[str, Any],
    when: datetime,
    subject: str | None = None,
) -> None:
    """Queue a notice of an audited event (if it is one the sinks hear of)."""
    if event not in NOTIFIED_EVENTS:
        return
    keys = ("action", "approval", "run", "incident", "rule")
    if subject is None:
        subject = str(next((payload[k] for k in keys if k in payload), ""))
    data: dict[str, Any] = {"event": dict(payload)}
    finding_id = payload.get("finding") or (
        payload.get("subject") if payload.get("kind") == "plan" else None
    )
    if event.startswith(("action.", "undo.")):
        row = session.get(ActionRow, subject)
        if row is not None:  # the journal row this entry is written with
            data["action"] = action_row_json(row)
    finding = session.get(FindingRow, finding_id) if finding_id else None
    if finding is not None:
        data["finding_id"] = finding.id
    session.add(
        NoticeRow(
            id=uuid.uuid4().hex,
            kind=event,
            created=when,
            actor=actor,
            subject=subject,
            severity=finding.severity if finding else None,
            provider=finding.provider if finding else None,
            scope=finding.scope if finding else None,
            data=data,
            routed=False,
        )
    )


def rule_matched_in(session: Session, action: RuleAction) -> None:
    """Queue a ``rule.notified`` notice of a ``notify`` rule's match, once per rule and
    finding while the finding stays open (a rule runs again and again; it told already)."""
    actor, finding = f"rule:{action.rule}", action.finding
    opened = session.scalar(
        select(func.max(NoticeRow.seq)).where(
            NoticeRow.kind.in_(("finding.opened", "finding.reopened")),
            NoticeRow.subject == finding,
        )
    )
    told = select(NoticeRow.seq).where(
        NoticeRow.kind == "rule.notified", NoticeRow.subject == finding, NoticeRow.actor == actor
    )
    if opened is not None:
        told = told.where(NoticeRow.seq > opened)
    if session.scalar(told.limit(1)) is not None:
        return
    payload = {
        "rule": action.rule,
        "finding": finding,
        "intent": action.intent,
        "summary": action.reason,
    }
    enqueue_in(session, "rule.notified", actor, payload, action.created, subject=finding)


def findings_moved_in(
    session: Session,
    moved: Iterable[tuple[str, Finding | FindingRow]],
    when: datetime,
    actor: str,
) -> None:
    """Queue one notice per finding a scan (or an event's re-read) opened, reopened or
    resolved: ``moved`` holds ``(kind, finding)`` pairs (the scan's finding, or the row)."""
    rows = [
        {
            "id": uuid.uuid4().hex,
            "kind": kind,
            "created": when,
            "actor": actor,
            "subject": item.id,
            "severity": str(item.severity),
            "provider": str(item.provider),
            "scope": item.scope,
            "data": {"finding_id": item.id, "check": item.check, "title": item.title},
            "routed": False,
        }
        for kind, item in moved
    ]
    if rows:
        session.execute(tables.notices.insert(), rows)  # Core executemany: no ORM objects


# -- the dispatcher's side -----------------------------------------------------------------
class NoticeBook:
    """The outbox and its deliveries."""

    def __init__(self, reads: sessionmaker[Session], writes: sessionmaker[Session]) -> None:
        self._reads = reads
        self._writes = writes

    def route(self, sinks_for: Callable[[Notice], list[str]], now: datetime) -> int:
        """Give each notice not yet routed one pending delivery per sink ``sinks_for`` names
        (none: nobody wants it); how many deliveries were made."""
        made = 0
        with self._writes.begin() as session:
            query = select(NoticeRow).where(NoticeRow.routed.is_(False)).order_by(NoticeRow.seq)
            for row in session.scalars(query.with_for_update(skip_locked=True)):
                for sink in sinks_for(_notice(row)):
                    session.add(_pending(row.id, sink, now))
                    made += 1
                row.routed = True
        return made

    def claim(self, now: datetime, lease: timedelta, *, limit: int = 100) -> list[Delivery]:
        """Pending deliveries due at ``now``, oldest first, each leased for ``lease`` (its
        due time moved past it) in one write transaction: a second dispatcher does not
        send them too, and one whose process dies mid-send is tried again after the lease."""
        query = (
            select(NoticeDeliveryRow)
            .where(
                NoticeDeliveryRow.status == DeliveryStatus.PENDING.value,
                NoticeDeliveryRow.due <= now,
            )
            .order_by(NoticeDeliveryRow.due, NoticeDeliveryRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._writes.begin() as session:
            rows = list(session.scalars(query))
            notices = {n.id: n for n in _notices_of(session, {r.notice for r in rows})}
            claimed = [_delivery(row, notices[row.notice]) for row in rows]
            for row in rows:
                row.due = now + lease
        return claimed

    def record(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Record what a batch of attempts came to, in one transaction."""
        with self._writes.begin() as session:
            rows = session.scalars(
                select(NoticeDeliveryRow).where(
                    NoticeDeliveryRow.id.in_([o.delivery for o in outcomes])
                )
            )
            by_id = {row.id: row for row in rows}
            for outcome in outcomes:
                row = by_id.get(outcome.delivery)
                if row is None:
                    continue
                row.attempts += 1
                row.updated, row.error = now, outcome.error or ""
                if outcome.error is None:
                    row.status = DeliveryStatus.DELIVERED.value
                elif outcome.retry_at is None:
                    row.status = DeliveryStatus.DEAD.value
                else:
                    row.due = outcome.retry_at

    def deliveries(self, status: DeliveryStatus | None = None) -> list[Delivery]:
        """Deliveries (in one status), oldest first."""
        query = select(NoticeDeliveryRow, NoticeRow).join(
            NoticeRow, NoticeRow.id == NoticeDeliveryRow.notice
        )
        if status is not None:
            query = query.where(NoticeDeliveryRow.status == status.value)
        with self._reads() as session:
            rows = session.execute(query.order_by(NoticeDeliveryRow.id))
            return [_delivery(d, n) for d, n in rows]

    def notices(self) -> list[Notice]:
        """Every notice in the outbox, oldest first."""
        with self._reads() as session:
            query = select(NoticeRow).order_by(NoticeRow.seq)
            return [_notice(row) for row in session.scalars(query)]

    def findings(self, ids: Iterable[str]) -> dict[str, FindingRecord]:
        """The stored findings among ``ids`` (what a batch of notices is about), by id."""
        now = datetime.now(UTC)
        with self._reads() as session:
            rows = rows_by_id(session, sorted(set(ids)))
            return {fid: finding_record(row, now) for fid, row in rows.items()}

    def prune(self, before: datetime) -> int:
        """Delete the notices written before ``before`` that are done with: routed, and
        delivered to every sink that wanted them (dead letters and pending ones stay);
        how many notices went."""
        unfinished = select(NoticeDeliveryRow.notice).where(
            NoticeDeliveryRow.status != DeliveryStatus.DELIVERED.value
        )
        done = (
            select(NoticeRow.id)
            .where(NoticeRow.routed.is_(True), NoticeRow.created < before)
            .where(NoticeRow.id.not_in(unfinished))
        )
        with self._writes.begin() as session:
            ids = list(session.scalars(done))
            for chunk in chunks(ids):
                session.execute(
                    delete(NoticeDeliveryRow).where(NoticeDeliveryRow.notice.in_(chunk))
                )
                session.execute(delete(NoticeRow).where(NoticeRow.id.in_(chunk)))
        return len(ids)

    def unrouted(self) -> int:
        """How many notices wait for the dispatcher to route them."""
        with self._reads() as session:
            query = select(func.count()).select_from(NoticeRow).where(NoticeRow.routed.is_(False))
            return int(session.scalar(query) or 0)

    def retry(self, delivery_id: int | None, now: datetime) -> int:
        """Make one dead letter (or, with ``None``, every one) pending again and due now,
        with a fresh count of attempts; how many."""
        dead = NoticeDeliveryRow.status == DeliveryStatus.DEAD.value
        with self._writes.begin() as session:
            stmt = update(NoticeDeliveryRow).where(dead)
            if delivery_id is not None:
                row = session.get(NoticeDeliveryRow, delivery_id)
                if row is None:
                    raise NotFoundError(
                        f"no delivery {delivery_id} in the outbox",
                        hint="run `clamp notify failed` to list the dead letters",
                    )
                if row.status != DeliveryStatus.DEAD.value:
                    raise InputError(f"delivery {delivery_id} is {row.status}, not a dead letter")
                stmt = stmt.where(NoticeDeliveryRow.id == delivery_id)
            values = {"status": DeliveryStatus.PENDING.value, "attempts": 0, "due": now}
            result = cast(CursorResult[Any], session.execute(stmt.values(**values)))
            return int(result.rowcount)


def _notices_of(session: Session, ids: set[str]) -> list[NoticeRow]:
    return (
        list(
            session.scalars(
                select(NoticeRow).where(NoticeRow.id.in_(sorted(ids))).order_by(NoticeRow.seq)
            )
        )
        if ids
        else []
    )


def _pending(notice: str, sink: str, now: datetime) -> NoticeDeliveryRow:
    return NoticeDeliveryRow(
        notice=notice,
        sink=sink,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        due=now,
        updated=now,
        error="",
    )


def _delivery(row: NoticeDeliveryRow, notice: NoticeRow) -> Delivery:
    return Delivery(
        row.id,
        _notice(notice),
        row.sink,
        DeliveryStatus(row.status),
        row.attempts,
        row.due,
        row.updated,
        row.error,
    )

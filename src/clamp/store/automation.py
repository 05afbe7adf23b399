"""What automation keeps: the last scan's inventory, each rule's state, and every thing a
rule did (the basis of its hourly cap, failure budget and clean-run count)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from clamp.model import Outcome, Provider, Resource
from clamp.store.audit import AuditLog
from clamp.store.codec import record_from_json, record_to_json, to_jsonable
from clamp.store.notices import rule_matched_in
from clamp.store.records import AuditNote, InventoryItem, RuleAction, RuleState
from clamp.store.rule_tables import InventoryRow, RuleActionRow, RuleStateRow

T = TypeVar("T")


class RuleBook:
    """Inventory, rule state and rule actions in the store's database."""

    def __init__(
        self, reads: sessionmaker[Session], writes: sessionmaker[Session], audit: AuditLog
    ) -> None:
        self._reads = reads
        self._writes = writes
        self._audit = audit

    # -- inventory ------------------------------------------------------------------------
    def record_inventory(
        self, scopes: Sequence[tuple[Provider, str]], resources: Iterable[Resource]
    ) -> None:
        """Replace the inventory of ``scopes`` with what a scan just saw.

        Rows are made and written a batch at a time: a scan's raw objects (read again from
        an export file, ``inventory.exported``) are never all in memory at once."""
        now = datetime.now(UTC)
        scanned = set(scopes)
        latest = {r.id: r for r in resources if (r.provider, r.scope) in scanned}
        where = or_(
            *(
                and_(InventoryRow.provider == Provider(p).value, InventoryRow.scope == s)
                for p, s in scopes
            )
        )
        with self._writes.begin() as session:
            if scopes:
                session.execute(delete(InventoryRow).where(where))
            # a resource filed under another scope before (a bucket by project number,
            # then by project id) is replaced, not duplicated
            for ids in _batches(list(latest)):
                session.execute(delete(InventoryRow).where(InventoryRow.id.in_(ids)))
            for batch in _batches(list(latest.values()), 2000):
                session.add_all(_row(r, now) for r in batch)
                session.flush()  # written: the session keeps no strong hold on them

    def record_resource(self, resource: Resource) -> None:
        """Insert or replace one resource of the inventory, as an event's re-read just
        saw it, when no scan has seen it or its tags changed since (so rules scoped by
        tags know them); otherwise the scan's row stays, with no write."""
        with self._reads() as session:
            known = session.get(InventoryRow, resource.id)
            if known is not None and dict(known.tags or {}) == dict(resource.tags):
                return
        with self._writes.begin() as session:
            session.merge(_inventory_row(resource))

    def record_resource_in(self, session: Session, resource: Resource) -> None:
        """``record_resource`` inside the caller's write transaction."""
        known = session.execute(
            select(InventoryRow.tags).where(InventoryRow.id == resource.id)
        ).first()
        if known is None or dict(known[0] or {}) != dict(resource.tags):
            session.merge(_inventory_row(resource))

    def inventory(self) -> list[InventoryItem]:
        """Every resource of the last scan of each scope."""
        with self._reads() as session:
            return [
                InventoryItem(
                    row.id, Provider(row.provider), row.scope, row.type, row.tags, row.raw
                )
                for row in session.scalars(select(InventoryRow).order_by(InventoryRow.id))
            ]

    def tags_of(self, resources: Iterable[str] | None = None) -> dict[str, Mapping[str, str]]:
        """Each inventoried resource's tags (labels), by lower-cased id: of every resource,
        or of ``resources`` only (matched case-insensitively, as ARM ids compare: an
        event's few findings need not read a whole estate's tags)."""
        query = select(InventoryRow.id, InventoryRow.tags)
        with self._reads() as session:
            if resources is None:
                rows = list(session.execute(query))
            else:
                wanted = list(dict.fromkeys(r.lower() for r in resources))
                rows = [
                    row
                    for batch in _batches(wanted)
                    for row in session.execute(query.where(func.lower(InventoryRow.id).in_(batch)))
                ]
            return {str(i).lower(): dict(t or {}) for i, t in rows}

    # -- rule state -----------------------------------------------------------------------
    def state(self, name: str) -> RuleState | None:
        """A rule's state, or None if it never ran."""
        with self._reads() as session:
            row = session.get(RuleStateRow, name)
            return None if row is None else record_from_json(RuleState, row.data)

    def states(self) -> list[RuleState]:
        """Every rule's state, by name."""
        with self._reads() as session:
            rows = session.scalars(select(RuleStateRow).order_by(RuleStateRow.name))
            return [record_from_json(RuleState, row.data) for row in rows]

    def save_state(self, state: RuleState, audit: AuditNote | None = None) -> None:
        """Insert or update a rule's state, with its audit entry (enabled, promoted, halted,
        …) in the same transaction: a crash cannot keep one without the other."""
        with self._writes.begin() as session:
            session.merge(RuleStateRow(name=state.name, data=record_to_json(state)))
            if audit is not None:
                self._audit.append_in(session, audit.event, audit.actor, audit.payload)

    # -- rule actions ---------------------------------------------------------------------
    def record(self, action: RuleAction) -> None:
        """Append what a rule did to one finding."""
        row = RuleActionRow(
            rule=action.rule, run=action.run, created=action.created, data=record_to_json(action)
        )
        with self._writes.begin() as session:
            session.add(row)
            if action.outcome == Outcome.PLANNED:  # a notify rule's match: tell the sinks
                rule_matched_in(session, action)

    def tally(
        self,
        rule: str,
        counted: Mapping[str, tuple[datetime | None, Sequence[Outcome]]],
    ) -> dict[str, int]:
        """How many of a rule's actions, for each name of ``counted``, came out as one of
        its outcomes since its moment (None: ever): counted by the database, in one query,
        without reading the actions (a rule that acted thousands of times counts as fast)."""
        outcome = RuleActionRow.data["outcome"].as_string()
        columns = []
        for since, outcomes in counted.values():
            wanted = [outcome.in_([o.value for o in outcomes])]
            if since is not None:
                wanted.append(RuleActionRow.created >= since)
            columns.append(func.coalesce(func.sum(case((and_(*wanted), 1), else_=0)), 0))
        with self._reads() as session:
            row = session.execute(select(*columns).where(RuleActionRow.rule == rule)).one()
        return {name: int(n) for name, n in zip(counted, row, strict=True)}

    def actions(self, rule: str, *, since: datetime | None = None) -> list[RuleAction]:
        """What a rule did (since a moment), oldest first."""
        query = select(RuleActionRow).where(RuleActionRow.rule == rule)
        if since is not None:
            query = query.where(RuleActionRow.created >= since)
        with self._reads() as session:
            rows = session.scalars(query.order_by(RuleActionRow.id))
            return [record_from_json(RuleAction, row.data) for row in rows]


def _batches(items: list[T], size: int = 500) -> Iterator[list[T]]:
    """``items`` in slices (by default small enough for one ``IN (…)`` on every database)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _inventory_row(resource: Resource) -> InventoryRow:
    """The inventory row of a resource an event's re-read saw."""
    return _row(resource, datetime.now(UTC))


def _row(resource: Resource, seen: datetime) -> InventoryRow:
    """The inventory row of a resource seen at ``seen``."""
    return InventoryRow(
        id=resource.id,
        provider=resource.provider.value,
        scope=resource.scope,
        type=str(resource.type),
        tags=dict(resource.tags),
        raw=to_jsonable(resource.raw),
        seen=seen,
    )

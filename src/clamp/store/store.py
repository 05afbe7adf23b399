"""The ``Store``: findings with their lifecycle, the action journal and the audit log.

One ``Store`` per process and database URL; every method runs in its own transaction,
so a ``Store`` is safe to share between threads and several processes may use the
same database (SQLite serializes writers, PostgreSQL locks what must be serialized).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Select, or_, select

from clamp.config import Settings
from clamp.errors import InputError, NotFoundError
from clamp.model import ActionRecord, Finding, FindingStatus, Provider, Resource, Severity
from clamp.store import codec, tables
from clamp.store.audit import AuditLog
from clamp.store.database import open_engine, parse_url, upgrade, writer
from clamp.store.records import AuditNote, FindingRecord, FindingsUpdate, ScanSummary
from clamp.store.row_records import (
    OPEN,
    RESOLVED,
    SUPPRESSED,
    action_record,
    expired_clause,
    finding_record,
)
from clamp.store.sessions import Sessions

# The reads run on SQLAlchemy Core over ``clamp.store.tables``; the writers' ORM (its rows,
# the findings' lifecycle, the outbox) loads with the first write. Each book's module (and
# its tables) loads with the book's first use: ``clamp findings`` needs none of the users,
# jobs, events or flow logs.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from clamp.store.automation import RuleBook
    from clamp.store.events import EventBook
    from clamp.store.flows import FlowBook
    from clamp.store.incidents import IncidentBook
    from clamp.store.jobs import JobBook
    from clamp.store.notices import NoticeBook
    from clamp.store.rows import ActionRow, FindingRow, ScanRow
    from clamp.store.users import UserBook

_FINDINGS, _ACTIONS, _SCANS = tables.findings.c, tables.actions.c, tables.scans.c
_NEWEST_FIRST = (_ACTIONS.created.desc(), _ACTIONS.id.desc())


def _summary(row: ScanRow | Row[Any]) -> ScanSummary:
    return ScanSummary(
        new=row.new,
        open=row.open,
        resolved=row.resolved,
        reopened=row.reopened,
        suppressed=row.suppressed,
        resources=row.resources,
        source=row.source,
        scopes=tuple((Provider(p), s) for p, s in row.scopes),
        recorded=row.recorded,
    )


def _action_row(record: ActionRecord) -> ActionRow:
    from clamp.store.rows import ActionRow

    # the journal's columns are the keys of the action's JSON, datetimes kept native
    data = codec.action_to_json(record)
    return ActionRow(**{**data, "created": record.created, "updated": record.updated})


def _now() -> datetime:
    return datetime.now(UTC)


def _notify_moved(
    session: Session,
    opened: list[tuple[bool, Finding]],
    gone: list[FindingRow],
    now: datetime,
    actor: str,
) -> None:
    """Queue the notices of the findings just opened (``True``: reopened) and resolved."""
    from clamp.store.notices import findings_moved_in

    moved: list[tuple[str, Finding | FindingRow]] = [
        ("finding.reopened" if back else "finding.opened", finding) for back, finding in opened
    ]
    moved.extend(("finding.resolved", row) for row in gone)
    findings_moved_in(session, moved, now, actor)


def _found_on(
    session: Session, resources: Collection[str], findings: Sequence[Finding], now: datetime
) -> FindingsUpdate:
    """In ``session``: ``findings`` on ``resources`` open or refresh, open findings on those
    resources that are no longer found resolve; nothing else is touched."""
    from clamp.store.lifecycle import live_on_resources, lock_findings, open_seen, resolve_unseen

    wanted = {r.lower() for r in resources}
    seen = {f.id: f for f in findings if f.resource.lower() in wanted}
    opened: list[str] = []
    back: set[str] = set()
    lock_findings(session)
    open_seen(session, seen, now, opened, back)
    rows = live_on_resources(session, wanted)
    gone = [row for row in rows if resolve_unseen(row, seen, now)]
    _notify_moved(session, [(fid in back, seen[fid]) for fid in opened], gone, now, "clamp")
    return FindingsUpdate(tuple(opened), len(gone))


class Store:
    """Clamp's persistence over SQLAlchemy: SQLite by default, PostgreSQL for teams."""

    def __init__(self, url: str) -> None:
        self.url = parse_url(url)
        self.engine = open_engine(self.url)
        self._sessions = Sessions(self.engine)
        self._audit = AuditLog(self._sessions)

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """A migrated store at ``url`` (default: ``CLAMP_DATABASE_URL``, else the user's SQLite)."""
        store = cls(url if url is not None else Settings.from_env().database_url)
        store.migrate()
        return store

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision; safe to call every start."""
        upgrade(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def _reads(self) -> sessionmaker[Session]:
        return self._sessions.reads

    @property
    def _writes(self) -> sessionmaker[Session]:
        return self._sessions.writes

    @property
    def audit(self) -> AuditLog:
        """The hash-chained audit log."""
        return self._audit

    # The books hold no state of their own (the session makers and the audit log are the
    # store's), so two threads building one at once would build two equal ones.
    @cached_property
    def rules(self) -> RuleBook:
        """The last scan's inventory, automation rules' state and what they did."""
        from clamp.store.automation import RuleBook

        return RuleBook(self._reads, self._writes, self._audit)

    @cached_property
    def incidents(self) -> IncidentBook:
        """Incidents, playbook runs and the approval queue."""
        from clamp.store.incidents import IncidentBook

        return IncidentBook(self._sessions, self._audit)

    @cached_property
    def users(self) -> UserBook:
        """The service's users, their API tokens and its keys."""
        from clamp.store.users import UserBook

        return UserBook(self._reads, self._writes, self._audit)

    @cached_property
    def jobs(self) -> JobBook:
        """The scans and rule runs the service made."""
        from clamp.store.jobs import JobBook

        return JobBook(self._reads, self._writes)

    @cached_property
    def events(self) -> EventBook:
        """Cloud change events received, and the delivery counters."""
        from clamp.store.events import EventBook

        return EventBook(self._reads, self._writes, writer(self.engine))

    @cached_property
    def notices(self) -> NoticeBook:
        """The outbox of outbound notifications and their deliveries."""
        from clamp.store.notices import NoticeBook

        return NoticeBook(self._reads, self._writes)

    @cached_property
    def flows(self) -> FlowBook:
        """Kept flow-log aggregates, ingestion cursors and logging coverage."""
        from clamp.store.flows import FlowBook

        return FlowBook(self._reads, self._writes)

    # -- findings -------------------------------------------------------------------------
    def record_scan(
        self,
        scopes: Sequence[tuple[Provider, str]],
        findings: Sequence[Finding],
        *,
        resources: int,
        source: str,
        checks: Collection[str] | None = None,
    ) -> ScanSummary:
        """Record what a scan of ``scopes`` found and move the findings' lifecycle.

        New findings open; seen ones refresh; resolved ones reopen; open findings of these
        scopes that the scan no longer sees resolve — only those of ``checks`` when the scan
        evaluated just those (``None``: every check ran). A live suppression stays as it is.
        """
        from clamp.store.lifecycle import live_in_scopes, lock_findings, open_seen, resolve_unseen
        from clamp.store.rows import ScanRow

        now = _now()
        seen = {f.id: f for f in findings}
        resolved = 0
        opened: list[str] = []
        with self._writes.begin() as session:
            lock_findings(session)
            back: set[str] = set()
            new, open_, reopened, suppressed = open_seen(session, seen, now, opened, back)
            gone: list[FindingRow] = []
            for row in live_in_scopes(session, scopes):
                if checks is not None and row.check not in checks:
                    continue  # not evaluated by this scan: it says nothing about the finding
                if resolve_unseen(row, seen, now):
                    gone.append(row)
            resolved = len(gone)
            _notify_moved(session, [(fid in back, seen[fid]) for fid in opened], gone, now, source)
            scan = ScanRow(
                recorded=now,
                source=source,
                scopes=[[Provider(p).value, s] for p, s in scopes],
                resources=resources,
                new=new,
                open=open_,
                resolved=resolved,
                reopened=reopened,
                suppressed=suppressed,
            )
            session.add(scan)
            return _summary(scan)

    def record_reported(self, findings: Sequence[Finding]) -> tuple[str, ...]:
        """Record findings another tool reported (``clamp import``): they open or refresh
        (resolved ones reopen); nothing resolves and no scan is recorded, since Clamp read
        nothing. The ids of the findings opened."""
        from clamp.store.lifecycle import lock_findings, open_seen

        opened: list[str] = []
        with self._writes.begin() as session:
            lock_findings(session)
            open_seen(session, {f.id: f for f in findings}, _now(), opened)
        return tuple(opened)

    def record_findings(
        self, resources: Collection[str], findings: Sequence[Finding]
    ) -> FindingsUpdate:
        """Record what re-reading ``resources`` (cloud ids) found: ``findings`` open or
        refresh, open findings on those resources that are no longer found resolve;
        findings on any other resource are not touched."""
        with self._writes.begin() as session:
            return _found_on(session, resources, findings, _now())

    def record_fixed(self, finding_ids: Collection[str], *, fixed: bool, actor: str) -> int:
        """What a verified action proved about ``finding_ids``: gone (``fixed``: open ones
        resolve) or back (an undo restored the before-image: resolved ones reopen); the
        number of findings that moved. Suppressed findings stay as they are."""
        from clamp.store.lifecycle import lock_findings
        from clamp.store.notices import findings_moved_in
        from clamp.store.rows import FindingRow

        now = _now()
        frm, to = (OPEN, RESOLVED) if fixed else (RESOLVED, OPEN)
        with self._writes.begin() as session:
            lock_findings(session)
            rows = session.scalars(
                select(FindingRow).where(
                    FindingRow.id.in_(sorted(finding_ids)), FindingRow.status == frm.value
                )
            ).all()
            for row in rows:
                row.status, row.resolved_at = to.value, (now if fixed else None)
            moved = "finding.resolved" if fixed else "finding.reopened"
            findings_moved_in(session, [(moved, row) for row in rows], now, actor)
        return len(rows)

    def record_reread(
        self,
        resource: Resource,
        findings: Sequence[Finding],
        event_id: str,
        result: Callable[[FindingsUpdate], str],
        covers: Sequence[str] = (),
    ) -> tuple[FindingsUpdate, datetime | None, list[datetime]]:
        """Record what an event's re-read of ``resource`` found, in one write: its tags
        in the inventory (``RuleBook.record_resource``), its findings (``record_findings``)
        and — when they opened none, so no rule is to run on them — the event as done
        with ``result(update)``, with the events of ``covers`` its re-read served. The
        update, when the event was done (None: not yet), and when those it covered were
        received."""
        from clamp.store.events import done_in

        with self._writes.begin() as session:
            update = _found_on(session, [resource.id], findings, _now())
            self.rules.record_resource_in(session, resource)
            done, covered = None, []
            if not update.opened:
                done = _now()
                covered = done_in(session, event_id, done, result(update), covers=covers)
        return update, done, covered

    def findings(
        self,
        *,
        status: FindingStatus | None = None,
        min_severity: Severity | None = None,
        severities: set[Severity] | None = None,
    ) -> list[FindingRecord]:
        """Findings by effective status and severity, most severe first."""
        now = _now()
        query = select(tables.findings)
        match status:
            case None:
                pass
            case FindingStatus.OPEN:
                query = query.where(or_(_FINDINGS.status == OPEN.value, expired_clause(now)))
            case FindingStatus.SUPPRESSED:
                query = query.where(
                    _FINDINGS.status == SUPPRESSED.value,
                    or_(_FINDINGS.suppressed_until.is_(None), _FINDINGS.suppressed_until > now),
                )
            case FindingStatus.RESOLVED:
                query = query.where(_FINDINGS.status == RESOLVED.value)
        wanted = set(Severity) if severities is None else {Severity(s) for s in severities}
        if min_severity is not None:
            wanted = {s for s in wanted if s.rank >= Severity(min_severity).rank}
        if wanted != set(Severity):
            query = query.where(_FINDINGS.severity.in_(sorted(s.value for s in wanted)))
        with self.engine.connect() as connection:
            records = [finding_record(row, now) for row in connection.execute(query)]
        records.sort(key=lambda r: (-r.severity.rank, r.check, r.provider, r.resource))
        return records

    def finding(self, finding_id: str) -> FindingRecord:
        """One finding by id; ``NotFoundError`` if Clamp has never seen it."""
        query = select(tables.findings).where(_FINDINGS.id == finding_id)
        with self.engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            raise self._no_finding(finding_id)
        return finding_record(row, _now())

    @staticmethod
    def _no_finding(finding_id: str) -> NotFoundError:
        return NotFoundError(
            f"no finding {finding_id!r} in the store",
            hint="run `clamp findings` to list finding ids (or `clamp scan` first)",
        )

    def suppress(
        self, finding_id: str, *, reason: str, until: datetime | None, actor: str
    ) -> FindingRecord:
        """Accept a finding for a reason, optionally until a time; audited. Suppressing a
        suppressed finding again without ``until`` keeps the expiry it has."""
        from clamp.store.rows import FindingRow

        now = _now()
        if not reason.strip():
            raise InputError("a suppression needs a reason")
        if until is not None and until.tzinfo is None:
            raise InputError(f"suppression expiry {until.isoformat()} has no time zone")
        if until is not None and until <= now:
            raise InputError(f"suppression expiry {codec.iso(until)} is in the past")
        with self._writes.begin() as session:
            row = session.get(FindingRow, finding_id)
            if row is None:
                raise self._no_finding(finding_id)
            previous = finding_record(row, now).status
            if until is None and previous == SUPPRESSED and row.suppressed_until is not None:
                until = row.suppressed_until
            row.status, row.resolved_at = SUPPRESSED.value, None
            row.suppressed_reason, row.suppressed_until, row.suppressed_by = reason, until, actor
            self._audit.append_in(
                session,
                "finding.suppressed",
                actor,
                {
                    "finding": finding_id,
                    "reason": reason,
                    "until": codec.iso(until),
                    "previous_status": previous.value,
                },
            )
            return finding_record(row, now)

    def unsuppress(self, finding_id: str, *, actor: str, reason: str = "") -> FindingRecord:
        """Lift a suppression: the finding is open again until a scan says otherwise; audited."""
        from clamp.store.lifecycle import clear_suppression
        from clamp.store.rows import FindingRow

        with self._writes.begin() as session:
            row = session.get(FindingRow, finding_id)
            if row is None:
                raise self._no_finding(finding_id)
            if row.status != SUPPRESSED.value:
                raise InputError(f"finding {finding_id} is {row.status}, not suppressed")
            row.status = OPEN.value
            clear_suppression(row)
            self._audit.append_in(
                session, "finding.unsuppressed", actor, {"finding": finding_id, "reason": reason}
            )
            return finding_record(row, _now())

    def scans(self, *, limit: int = 20) -> list[ScanSummary]:
        """The most recent recorded scans, newest first."""
        query = select(tables.scans).order_by(_SCANS.recorded.desc(), _SCANS.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_summary(row) for row in connection.execute(query)]

    # -- actions (the journal) ------------------------------------------------------------
    def save_action(self, record: ActionRecord, audit: AuditNote | None = None) -> None:
        """Insert or update one journaled action by id, with its audit entry in the same
        transaction."""
        with self._writes.begin() as session:
            session.merge(_action_row(record))
            if audit is not None:
                self._audit.append_in(session, audit.event, audit.actor, audit.payload)

    def action(self, action_id: str) -> ActionRecord:
        """One action by id; ``NotFoundError`` if there is none."""
        query = select(tables.actions).where(_ACTIONS.id == action_id)
        with self.engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            raise NotFoundError(
                f"no action {action_id!r} in the journal",
                hint="run `clamp actions` to list action ids",
            )
        return action_record(row)

    def actions(self) -> list[ActionRecord]:
        """Every journaled action, newest first."""
        return self._actions(select(tables.actions).order_by(*_NEWEST_FIRST))

    def in_flight_actions(self) -> list[ActionRecord]:
        """Actions journaled but not settled (a crash interrupted them), oldest first."""
        query = select(tables.actions).where(_ACTIONS.in_flight.is_(True))
        return self._actions(query.order_by(_ACTIONS.created, _ACTIONS.id))

    def actions_for(self, finding_id: str) -> list[ActionRecord]:
        """The actions taken on one finding, newest first."""
        query = select(tables.actions).where(_ACTIONS.finding == finding_id)
        return self._actions(query.order_by(*_NEWEST_FIRST))

    def _actions(self, query: Select[Any]) -> list[ActionRecord]:
        with self.engine.connect() as connection:
            return [action_record(row) for row in connection.execute(query)]

    def copy_tables(self, other: Store, names: Sequence[str]) -> None:
        """Copy every row of the tables ``names`` into ``other`` (a scratch store for a
        rehearsal)."""
        from clamp.store.schema import METADATA  # every table, whichever books were used

        for name in names:
            table = METADATA.tables[name]
            with self.engine.connect() as source:
                rows = [dict(row) for row in source.execute(table.select()).mappings()]
            if rows:
                with other.engine.begin() as target:
                    target.execute(table.insert(), rows)

"""Flow logs in the store: aggregates, cursors and coverage; the store's ``FlowHistory``.

Ingestion writes through a ``FlowWriter`` inside one transaction: the aggregates a source
added, its cursor and its coverage commit together, so a crash or a re-run never counts a
record twice. Aggregates are upserted (``INSERT … ON CONFLICT (key) DO UPDATE`` adding the
counts, on SQLite and PostgreSQL alike); on SQLite, the rows a worker process folded
arrive staged as a database of their own and are merged in one statement
(``store.flow_staging``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from clamp.events.flows.aggregate import AGGREGATE_COLUMNS
from clamp.events.flows.model import Coverage, FlowAggregate, FlowDecision
from clamp.model import Direction, Provider
from clamp.store.flow_staging import (
    SQLITE_SELECT,
    SQLITE_VALUES,
    RowForm,
    SqliteMerge,
    Staged,
    as_list,
    sqlite_form,
)
from clamp.store.flow_tables import FlowAggregateRow, FlowCoverageRow, FlowCursorRow

BATCH = 500
"""Ids per ``IN`` clause."""
ABSENCE = "absence of flows is not proof of no traffic: only logged resources show flows"
NOTES = {
    Provider.AZURE.value: "Azure writes flow logs about every minute into hourly blobs; "
    "a flow log covers only its target (VNet, subnet, NIC or NSG)",
    Provider.GCP.value: "VPC Flow Logs sample packets (the subnet's sampling rate) and record "
    "only allowed traffic; Firewall Rules Logging caps the connections it logs per VM",
}


@dataclass
class Cursor:
    """How far one source was ingested."""

    source: str
    etag: str | None = None
    blocks: list[str] = field(default_factory=list)
    offset: int = 0
    records: int = 0


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _batches(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


class SqliteTime:
    """Epoch milliseconds as SQLAlchemy's SQLite ``DATETIME`` stores a time: naive UTC text
    with microseconds (what SQLite's ``strftime('%Y-%m-%d %H:%M:%f')`` makes, plus
    ``000``): each minute formatted once, then the text of its second and millisecond."""

    LIMIT = 100_000
    """Minutes remembered before the memory is emptied (about ten weeks)."""
    _ENDS: ClassVar[list[str]] = []
    """``SS.mmm000`` for each millisecond of a minute (made once per process)."""

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}
        if not SqliteTime._ENDS:
            SqliteTime._ENDS = [f"{s:02d}.{ms:03d}000" for s in range(60) for ms in range(1000)]

    def __call__(self, ms: int) -> str:
        """``ms`` as stored."""
        text = self._minutes.get(ms // 60_000)
        if text is None:
            text = self._minute(ms // 60_000)
        return text + self._ENDS[ms % 60_000]

    def _minute(self, minute: int) -> str:
        if len(self._minutes) >= self.LIMIT:
            self._minutes.clear()
        text = self._minutes[minute] = _dt(minute * 60_000).strftime("%Y-%m-%d %H:%M:")
        return text


def stored_time(dialect: str) -> Callable[[int], Any]:
    """How the flow tables store a time given in epoch ms on ``dialect``: an aware UTC
    datetime on PostgreSQL, SQLite's text. Rows are made with it where they are folded
    (worker processes too: picklable), so the writer only binds them."""
    return _dt if dialect == "postgresql" else SqliteTime()


def upsert_sql(source: str) -> str:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` of the rows ``source`` gives (``VALUES``
    of placeholders, driver-level, so a batch of aggregates costs one ``executemany``; or
    a ``SELECT``), adding the counts, keeping the earliest first and latest last time;
    the same text on SQLite and PostgreSQL."""
    table = FlowAggregateRow.__tablename__
    columns = ", ".join(AGGREGATE_COLUMNS)
    added = ", ".join(
        f"{c} = {table}.{c} + excluded.{c}"
        for c in ("flows", "bytes_sent", "bytes_received", "packets_sent", "packets_received")
    )
    return (
        f"INSERT INTO {table} ({columns}) {source} ON CONFLICT (key) DO UPDATE SET "
        f"{added}, "
        f"first_seen = CASE WHEN excluded.first_seen < {table}.first_seen "
        f"THEN excluded.first_seen ELSE {table}.first_seen END, "
        f"last_seen = CASE WHEN excluded.last_seen > {table}.last_seen "
        f"THEN excluded.last_seen ELSE {table}.last_seen END"
    )


SQLITE_CACHE_KIB = 65_536
"""SQLite's page cache while ingesting (its default is 2 MiB)."""


def _cover_sql(placeholder: str) -> str:
    """``INSERT … ON CONFLICT DO NOTHING`` of one coverage row (resource, bucket)."""
    table = FlowCoverageRow.__tablename__
    return (
        f"INSERT INTO {table} (provider, resource, bucket) VALUES ({placeholder}, "
        f"{placeholder}, {placeholder}) ON CONFLICT (resource, bucket) DO NOTHING"
    )


class FlowWriter:
    """Writes of one ingestion transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._dialect = session.get_bind().dialect.name
        postgres = self._dialect == "postgresql"
        self.form = RowForm(stored_time(self._dialect), None, as_list)
        """How this store takes aggregate rows (``Aggregator.drain`` makes them so)."""
        self.time = self.form.time
        self._merge: SqliteMerge | None = None
        if postgres:
            values = ", ".join("%s" for _ in AGGREGATE_COLUMNS)
            self._upsert = upsert_sql(f"VALUES ({values})")
        else:
            self.form = sqlite_form(self.time)
            self._upsert = upsert_sql(SQLITE_VALUES)
        self._cover = _cover_sql("%s" if postgres else "?")
        if not postgres:  # the upserts walk a unique index: keep more of it in memory
            session.connection().exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

    def cursor(self, source: str) -> Cursor:
        """The stored cursor of ``source`` (a fresh one if never ingested)."""
        row = self.session.get(FlowCursorRow, source)
        if row is None:
            return Cursor(source)
        blocks = list((row.blocks or {}).get("ids") or [])
        return Cursor(source, row.etag, blocks, row.offset, row.records)

    def save_cursor(self, cursor: Cursor) -> None:
        """Store how far ``cursor.source`` is ingested."""
        row = FlowCursorRow(
            source=cursor.source,
            etag=cursor.etag,
            blocks={"ids": list(cursor.blocks)},
            offset=cursor.offset,
            records=cursor.records,
            updated=datetime.now(UTC),
        )
        self.session.merge(row)

    def add(self, rows: Staged) -> None:
        """Add aggregate rows (``AGGREGATE_COLUMNS`` order, as ``form`` says), as a list
        or staged by ``form.stage``: counts add up per key."""
        if isinstance(rows, bytes):
            if self._merge is None:
                self._merge = SqliteMerge(self.session.connection(), upsert_sql(SQLITE_SELECT))
            self._merge.merge(rows)
        elif rows:
            self.session.connection().exec_driver_sql(self._upsert, rows)

    def cover(self, provider: str, buckets: Iterable[tuple[str, int]]) -> None:
        """Record that these resources had flow logging in these buckets (epoch ms)."""
        time = self.time
        values = [(provider, r.lower(), time(ms)) for r, ms in buckets]
        if values:
            self.session.connection().exec_driver_sql(self._cover, values)

    def prune(self, before: datetime) -> None:
        """Delete aggregates and coverage of buckets that start before ``before``."""
        self.session.execute(delete(FlowAggregateRow).where(FlowAggregateRow.bucket < before))
        self.session.execute(delete(FlowCoverageRow).where(FlowCoverageRow.bucket < before))
        # a Pub/Sub entry's cursor only guards against redelivery (``events.flows.intake``)
        self.session.execute(
            delete(FlowCursorRow).where(
                FlowCursorRow.source.startswith("entry:"), FlowCursorRow.updated < before
            )
        )


def _aggregate(row: FlowAggregateRow) -> FlowAggregate:
    return FlowAggregate(
        provider=Provider(row.provider),
        resource_id=row.resource_id,
        destination=row.destination,
        port=row.port,
        protocol=row.protocol,
        source=row.source,
        direction=Direction(row.direction),
        rule=row.rule,
        decision=FlowDecision(row.decision),
        bucket=row.bucket,
        flows=row.flows,
        bytes_sent=row.bytes_sent,
        bytes_received=row.bytes_received,
        packets_sent=row.packets_sent,
        packets_received=row.packets_received,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
    )


class FlowBook:
    """Kept flows in the store's database; a ``FlowHistory``."""

    def __init__(
        self,
        reads: sessionmaker[Session],
        writes: sessionmaker[Session],
        bucket: timedelta = timedelta(hours=1),
    ) -> None:
        self._reads = reads
        self._writes = writes
        self.bucket = bucket

    @contextmanager
    def writing(self) -> Iterator[FlowWriter]:
        """One ingestion transaction: everything written commits together, or nothing."""
        with self._writes.begin() as session:
            yield FlowWriter(session)

    def ingested(self) -> bool:
        """Whether any flow log was ever ingested (else previews say there are none)."""
        with self._reads() as session:
            return session.scalar(select(FlowCoverageRow.provider).limit(1)) is not None

    def observed(
        self,
        *,
        since: datetime,
        destinations: Collection[str] | None = None,
        resource_ids: Collection[str] | None = None,
        direction: Direction | None = Direction.INGRESS,
    ) -> list[FlowAggregate]:
        """Aggregates whose bucket ends after ``since``, to these destination IPs or
        resources (ids compared case-insensitively; all when both are None)."""
        start = since - self.bucket
        base = select(FlowAggregateRow).where(FlowAggregateRow.bucket > start)
        if direction is not None:
            base = base.where(FlowAggregateRow.direction == direction.value)
        queries = []
        if destinations is None and resource_ids is None:
            queries.append(base)
        for chunk in _batches(sorted(destinations or ())):
            queries.append(base.where(FlowAggregateRow.destination.in_(chunk)))
        for chunk in _batches(sorted({r.lower() for r in resource_ids or ()})):
            queries.append(base.where(func.lower(FlowAggregateRow.resource_id).in_(chunk)))
        found: dict[int, FlowAggregate] = {}
        with self._reads() as session:
            for query in queries:
                for row in session.scalars(query.order_by(FlowAggregateRow.bucket)):
                    found.setdefault(row.id, _aggregate(row))
        return sorted(found.values(), key=lambda a: (a.bucket, a.destination, a.source))

    def coverage(self, *, since: datetime, resource_ids: Collection[str]) -> Coverage:
        """Which of ``resource_ids`` had flow logs in every bucket from ``since`` to the
        last bucket ingested; the others are unlogged, with what is known in the notes."""
        now = datetime.now(UTC)
        asked = {r.lower(): r for r in resource_ids}
        wanted = sorted(asked)
        seen: dict[str, set[datetime]] = {}
        providers: set[str] = set()
        with self._reads() as session:
            newest = session.scalar(select(func.max(FlowCoverageRow.bucket)))
            for chunk in _batches(wanted):
                query = select(FlowCoverageRow).where(
                    FlowCoverageRow.resource.in_(chunk),
                    FlowCoverageRow.bucket > since - self.bucket,
                )
                for row in session.scalars(query):
                    seen.setdefault(row.resource, set()).add(row.bucket)
                    providers.add(row.provider)
        expected = self._buckets(since, newest) if newest is not None else []
        logged, unlogged, notes = [], [], [ABSENCE]
        for resource in wanted:
            have = seen.get(resource, set())
            missing = [b for b in expected if b not in have]
            if have and not missing:
                logged.append(asked[resource])
                continue
            unlogged.append(asked[resource])
            if have:
                notes.append(
                    f"{asked[resource]}: flow records in {len(have)} of {len(expected)} buckets "
                    f"since {since.isoformat()}, first {min(have).isoformat()}"
                )
        notes.extend(NOTES[p] for p in sorted(providers))
        return Coverage(
            since, min(now, newest + self.bucket) if newest else now, logged, unlogged, notes
        )

    def _buckets(self, since: datetime, newest: datetime) -> list[datetime]:
        size = int(self.bucket.total_seconds() * 1000)
        start_ms = int(since.timestamp() * 1000) // size * size
        end_ms = int(newest.timestamp() * 1000)
        return [_dt(ms) for ms in range(start_ms, end_ms + 1, size)]

    def prune(self, before: datetime) -> int:
        """Delete aggregates and coverage of buckets that start before ``before``."""
        with self._writes.begin() as session:
            result: Any = session.execute(
                delete(FlowAggregateRow).where(FlowAggregateRow.bucket < before)
            )
            gone = result.rowcount
            session.execute(delete(FlowCoverageRow).where(FlowCoverageRow.bucket < before))
        return int(gone or 0)

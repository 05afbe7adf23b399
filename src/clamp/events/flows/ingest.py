"""Flow-log ingestion: files and folders of Azure ``PT1H.json`` blobs and GCP LogEntries
(JSON arrays or NDJSON), any mix, folded into the store's aggregates.

One call is one transaction: aggregates, cursors and coverage commit together, so a
malformed file anywhere stores nothing and a crash leaves the store as it was. A file's
cursor counts the records (Azure) or entries (GCP) taken from it: a re-run skips those and
takes only what was appended since.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from clamp.bulk import paused_gc
from clamp.events.flows import workers
from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.fold import (
    Addresses,
    FlowFold,
    FoldedFile,
    IngestSummary,
    files_under,
    source_of,
)
from clamp.store.flow_tables import FlowAggregateRow
from clamp.store.flows import FlowWriter
from clamp.store.store import Store


def count_aggregates(writer: FlowWriter) -> int:
    """How many aggregate rows the store holds (for "new aggregates")."""
    return writer.session.scalar(select(func.count()).select_from(FlowAggregateRow)) or 0


class FlowIngest(FlowFold):
    """Folds flow logs into the store's aggregates within one transaction per call."""

    def __init__(
        self, writer: FlowWriter, config: FlowsConfig, addresses: Addresses, *, count: bool = True
    ) -> None:
        super().__init__(config, addresses)
        self.writer = writer
        self._before = count_aggregates(writer) if count else None

    def full(self) -> None:
        """Write what the aggregator holds (memory stays flat)."""
        self.flush()

    def flush(self) -> None:
        """Write what the aggregator holds into the open transaction."""
        form = self.writer.form
        self._write(*self.aggregator.drain(form.time, form.missing))

    def _write(
        self, rows: list[tuple[Any, ...]] | bytes, covered: dict[str, set[tuple[str, int]]]
    ) -> None:
        self.writer.add(rows)
        for provider, buckets in covered.items():
            self.writer.cover(provider, buckets)

    def file(self, path: Path) -> None:
        """Ingest one file (an Azure blob or GCP LogEntries), from its cursor on."""
        cursor = self.writer.cursor(source_of(path))
        cursor.records = self.take_file(path, cursor.records)
        self.flush()
        self.writer.save_cursor(cursor)

    def folded(self, path: Path, folded: FoldedFile) -> None:
        """Write a file another process folded (from the cursor it was given)."""
        self._write(folded.rows, folded.covered)
        self.summary.merge(folded.summary)
        self.aggregator.span(folded.first_ms, folded.last_ms)
        cursor = self.writer.cursor(source_of(path))
        cursor.records = folded.records
        self.writer.save_cursor(cursor)

    def finish(self) -> IngestSummary:
        """Write the rest and prune buckets past retention; the summary."""
        self.flush()
        aggregator, summary = self.aggregator, self.summary
        if aggregator.first_ms is not None and aggregator.last_ms is not None:
            summary.first = datetime.fromtimestamp(aggregator.first_ms / 1000, UTC)
            summary.last = datetime.fromtimestamp(aggregator.last_ms / 1000, UTC)
        if self._before is not None:
            summary.aggregates = max(0, count_aggregates(self.writer) - self._before)
        self.writer.prune(datetime.now(UTC) - timedelta(days=self.config.retention_days))
        return summary


def ingest_paths(store: Store, config: FlowsConfig, paths: Iterable[Path]) -> IngestSummary:
    """Ingest files and folders in one transaction (a malformed file stores nothing); a
    folder's files are folded by worker processes (``events.flows.workers``). The cyclic
    garbage collector is paused meanwhile: folds build millions of small acyclic objects
    (parsed records, keys, rows), which it would rescan again and again."""
    store.flows.bucket = config.bucket
    addresses = Addresses.of(store.rules.inventory())
    files = list({path.resolve(): path for path in files_under(paths)}.values())
    spread = workers.spread(files, config.workers)
    with paused_gc(), store.flows.writing() as writer:
        ingest = FlowIngest(writer, config, addresses)
        if spread:
            jobs = [(p, writer.cursor(source_of(p)).records) for p in files if p in spread]
            folds = workers.folded_files(jobs, config, addresses, spread.workers, writer.form)
            for path, folded in folds:
                ingest.folded(path, folded)
        for path in files:
            if path not in spread:
                ingest.file(path)
        return ingest.finish()

"""Flow-log ingestion: files and folders of Azure ``PT1H.json`` blobs and GCP LogEntries
(JSON arrays or NDJSON), any mix, folded into the store's aggregates.

One call is one transaction: aggregates, cursors and coverage commit together, so a
malformed file anywhere stores nothing and a crash leaves the store as it was. A file's
cursor counts the records (Azure) or entries (GCP) taken from it: a re-run skips those and
takes only what was appended since.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from clamp.errors import InputError
from clamp.events.flows.aggregate import Aggregator
from clamp.events.flows.config import FlowsConfig
from clamp.model import Provider, ResourceType
from clamp.providers.azure import flowlogs as azure
from clamp.providers.gcp import flowlogs as gcp
from clamp.store.flow_tables import FlowAggregateRow
from clamp.store.flows import Cursor, FlowWriter
from clamp.store.store import Store

AZURE, GCP = Provider.AZURE.value, Provider.GCP.value
HEAD = 512
SUFFIXES = (".json", ".ndjson", ".jsonl")


@dataclass
class IngestSummary:
    """What one ingestion did."""

    files: int = 0
    tuples: int = 0
    aggregates: int = 0
    """Aggregate rows the store did not have before."""
    skipped: int = 0
    """Records, entries or blocks already ingested before, not counted again."""
    first: datetime | None = None
    last: datetime | None = None
    coverage: set[str] = field(default_factory=set)
    """What had flow logging on, as the logs show (VNets, NSGs, subnetworks, rules, VMs)."""

    def merge(self, other: IngestSummary) -> None:
        """Add another ingestion's figures to these."""
        self.files += other.files
        self.tuples += other.tuples
        self.aggregates += other.aggregates
        self.skipped += other.skipped
        self.coverage |= other.coverage
        if other.first and (self.first is None or other.first < self.first):
            self.first = other.first
        if other.last and (self.last is None or other.last > self.last):
            self.last = other.last

    def as_json(self) -> dict[str, Any]:
        """The summary as ``--format json`` prints it."""
        return {
            "files": self.files,
            "tuples": self.tuples,
            "new_aggregates": self.aggregates,
            "skipped": self.skipped,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "coverage": sorted(self.coverage),
        }


@dataclass(frozen=True)
class Addresses:
    """Where flows go when a log does not name the resource: private IPs and (Azure) NIC
    MAC addresses of the inventory, to the VM (or NIC) they belong to."""

    ips: Mapping[str, str] = field(default_factory=dict)
    macs: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Iterable[Any]) -> Addresses:
        """From inventory items (``RuleBook.inventory()``)."""
        ips: dict[str, str] = {}
        macs: dict[str, str] = {}
        for item in items:
            if item.type == ResourceType.AZURE_NIC.value:
                resource, found, mac = azure.nic_addresses(item.raw)
                ips.update(dict.fromkeys(found, resource))
                if mac:
                    macs[mac] = resource
            elif item.type == ResourceType.GCP_INSTANCE.value:
                ips.update(dict.fromkeys(gcp.instance_addresses(item.raw), item.id))
        return cls(ips, macs)


def files_under(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, and the flow-log files under the folders named, sorted."""
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            yield from sorted(p for p in found if not any(s.startswith(".") for s in p.parts))
        elif path.is_file():
            yield path
        else:
            raise InputError(f"{path}: no such file or folder")


def count_aggregates(writer: FlowWriter) -> int:
    """How many aggregate rows the store holds (for "new aggregates")."""
    return writer.session.scalar(select(func.count()).select_from(FlowAggregateRow)) or 0


class FlowIngest:
    """Folds flow logs into the store's aggregates within one transaction per call."""

    def __init__(
        self, writer: FlowWriter, config: FlowsConfig, addresses: Addresses, *, count: bool = True
    ) -> None:
        self.writer = writer
        self.config = config
        self.addresses = addresses
        self.aggregator = Aggregator(config.bucket, addresses.ips)
        self.summary = IngestSummary()
        self._before = count_aggregates(writer) if count else None

    def _fold(self, provider: str, rows: Iterable[Any], targets: Iterable[str]) -> None:
        targets = [t for t in targets if t]
        self.summary.tuples += self.aggregator.fold(provider, rows, targets)
        self._covered(targets)

    def _covered(self, targets: list[str]) -> None:
        self.summary.coverage.update(targets)
        if self.aggregator.size >= self.config.flush_keys:
            self.flush()

    def flush(self) -> None:
        """Write what the aggregator holds into the open transaction."""
        rows, covered = self.aggregator.drain()
        self.writer.add(rows)
        for provider, buckets in covered.items():
            self.writer.cover(provider, buckets)

    def file(self, path: Path) -> None:
        """Ingest one file (an Azure blob or GCP LogEntries), from its cursor on."""
        cursor = self.writer.cursor(f"file:{path.resolve()}")
        with path.open("rb") as stream:
            head = stream.peek(HEAD)[:HEAD]
            if azure.is_flow_log_document(head):
                units = self._azure_units(azure.file_records(stream, str(path)), path, cursor)
            else:
                units = self._gcp_units(gcp.file_entries(stream, str(path)), path, cursor)
            for _ in units:
                pass
        self.flush()
        self.writer.save_cursor(cursor)
        self.summary.files += 1

    def _azure_units(self, records: Iterable[Any], path: Path, cursor: Cursor) -> Iterator[None]:
        for number, record in enumerate(records, 1):
            if number <= cursor.records:
                self.summary.skipped += 1
                continue
            self.azure_record(record, f"{path}: record {number}")
            cursor.records = number
            yield None

    def _gcp_units(self, entries: Iterable[Any], path: Path, cursor: Cursor) -> Iterator[None]:
        for number, entry in enumerate(entries, 1):
            if number <= cursor.records:
                self.summary.skipped += 1
                continue
            self.entry(entry, f"{path}: entry {number}")
            cursor.records = number
            yield None

    def entry(self, entry: Mapping[str, Any], where: str) -> bool:
        """Fold one GCP LogEntry in; False when it is not a flow-log entry."""
        if gcp.flow_log_kind(entry) is None:
            return False
        self._fold(GCP, gcp.entry_rows(entry, where), gcp.entry_targets(entry))
        return True

    def azure_record(self, record: Mapping[str, Any], where: str) -> None:
        """Fold one Azure flow-log record in (a blob's block)."""
        groups = azure.record_groups(record, where, self.addresses.macs)
        target = azure.record_target(record)
        targets = [target] if target else []
        self.summary.tuples += self.aggregator.fold_groups(AZURE, groups, where, targets)
        self._covered(targets)

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
    """Ingest files and folders in one transaction (a malformed file stores nothing)."""
    store.flows.bucket = config.bucket
    addresses = Addresses.of(store.rules.inventory())
    with store.flows.writing() as writer:
        ingest = FlowIngest(writer, config, addresses)
        for path in files_under(paths):
            ingest.file(path)
        return ingest.finish()

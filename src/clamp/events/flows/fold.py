"""Flow logs folded into aggregates in memory, with no store: a file from its cursor on, an
Azure record, a GCP LogEntry. ``events.flows.ingest`` writes what is folded; a worker
process (``events.flows.workers``) returns it as a ``FoldedFile``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from clamp.errors import InputError
from clamp.events.flows.aggregate import Aggregator
from clamp.events.flows.config import FlowsConfig
from clamp.model import Provider, ResourceType
from clamp.providers.azure import flowlogs as azure
from clamp.providers.gcp import flowlogs as gcp

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


@dataclass
class FoldedFile:
    """One file folded in memory (by a worker process): what ``FlowIngest`` writes."""

    records: int
    """The file's cursor after it: records (Azure) or entries (GCP) taken so far."""
    rows: list[tuple[Any, ...]] | bytes
    """Its aggregate rows, staged as the writer asked (``FlowWriter.form``)."""
    covered: dict[str, set[tuple[str, int]]]
    summary: IngestSummary
    first_ms: int | None
    last_ms: int | None


def source_of(path: Path) -> str:
    """The cursor name of a file."""
    return f"file:{path.resolve()}"


class FlowFold:
    """Flow logs folded into aggregates in memory; ``full`` is called when the aggregator
    holds ``flush_keys`` (``FlowIngest`` writes them then)."""

    def __init__(self, config: FlowsConfig, addresses: Addresses) -> None:
        self.config = config
        self.addresses = addresses
        self.aggregator = Aggregator(config.bucket, addresses.ips)
        self.summary = IngestSummary()

    def full(self) -> None:
        """The aggregator holds ``flush_keys`` aggregates (a file folded alone: kept)."""

    def _covered(self, targets: list[str]) -> None:
        self.summary.coverage.update(targets)
        if self.aggregator.size >= self.config.flush_keys:
            self.full()

    def take_file(self, path: Path, skip: int) -> int:
        """Fold one file (an Azure blob or GCP LogEntries) but its first ``skip`` records
        or entries; the records or entries it has been taken to."""
        taken = skip
        with path.open("rb") as stream:
            units: Iterator[Mapping[str, Any]]
            take: Callable[[Mapping[str, Any], str], object]
            if azure.is_flow_log_document(stream.peek(HEAD)[:HEAD]):
                units, take, unit = (
                    azure.file_records(stream, str(path)),
                    self.azure_record,
                    "record",
                )
            else:
                units, take, unit = gcp.file_entries(stream, str(path)), self.entry, "entry"
            where = f"{path}: {unit} "
            for number, item in enumerate(units, 1):
                if number <= skip:
                    self.summary.skipped += 1
                    continue
                take(item, f"{where}{number}")
                taken = number
        self.summary.files += 1
        return taken

    def entry(self, entry: Mapping[str, Any], where: str) -> bool:
        """Fold one GCP LogEntry in; False when it is not a flow-log entry."""
        flow = gcp.entry_flow(entry, where)
        if flow is None:
            return False
        row, targets = flow
        self.summary.tuples += self.aggregator.fold(GCP, (row,), targets)
        self._covered(targets)
        return True

    def azure_record(self, record: Mapping[str, Any], where: str) -> None:
        """Fold one Azure flow-log record in (a blob's block)."""
        groups = azure.record_groups(record, where, self.addresses.macs)
        target = azure.record_target(record)
        targets = [target] if target else []
        self.summary.tuples += self.aggregator.fold_groups(AZURE, groups, where, targets)
        self._covered(targets)

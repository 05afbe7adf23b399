"""Folding flow rows into aggregates, in bounded memory.

An aggregate's key is (provider, resource, destination, port, protocol, source, direction,
rule, decision, bucket). A row whose log did not name its resource gets one from the
inventory's addresses: the destination's for inbound flows, the source's for outbound.
``flows`` counts flows begun or refused in the bucket: every row but Azure's continuing
(C) and end (E) tuples, which carry more volume for a flow already counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from clamp.events.flows.rows import FlowRow
from clamp.model import Direction

INGRESS = Direction.INGRESS
KEY_FIELDS = (
    "provider",
    "resource_id",
    "destination",
    "port",
    "protocol",
    "source",
    "direction",
    "rule",
    "decision",
)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def aggregate_key(values: tuple[Any, ...]) -> str:
    """The digest that identifies an aggregate (its key fields and bucket)."""
    text = "\x1f".join("" if v is None else str(v) for v in values)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class Aggregator:
    """Aggregates in memory until drained; ``size`` says when to drain."""

    def __init__(self, bucket: timedelta, addresses: Mapping[str, str] | None = None) -> None:
        self.bucket_ms = int(bucket.total_seconds() * 1000)
        self.addresses: Mapping[str, str] = addresses or {}
        self.cells: dict[tuple[Any, ...], list[int]] = {}
        self.targets: set[tuple[str, str, int]] = set()
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    @property
    def size(self) -> int:
        """Aggregates held."""
        return len(self.cells)

    def fold(self, provider: str, rows: Iterable[FlowRow], targets: Iterable[str] = ()) -> int:
        """Fold ``rows`` in; ``targets`` (what had logging on) are covered in the rows'
        buckets. The number of rows."""
        size, cells, addresses = self.bucket_ms, self.cells, self.addresses
        count = 0
        low = high = -1
        for row in rows:
            ms = row[0]
            if count == 0:
                low = high = ms
            elif ms < low:
                low = ms
            elif ms > high:
                high = ms
            count += 1
            direction = row[6]
            resource = row[9]
            if resource is None:
                resource = addresses.get(row[2] if direction is INGRESS else row[1])
            key = (
                provider,
                resource,
                row[2],
                row[4],
                row[5],
                row[1],
                direction,
                row[8],
                row[7],
                ms - ms % size,
            )
            state = row[10]
            begun = 0 if state == "C" or state == "E" else 1
            cell = cells.get(key)
            if cell is None:
                cells[key] = [begun, row[11], row[12], row[13], row[14], ms, ms]
            else:
                cell[0] += begun
                cell[1] += row[11]
                cell[2] += row[12]
                cell[3] += row[13]
                cell[4] += row[14]
                if ms < cell[5]:
                    cell[5] = ms
                elif ms > cell[6]:
                    cell[6] = ms
        if count:
            self.first_ms = low if self.first_ms is None else min(self.first_ms, low)
            self.last_ms = high if self.last_ms is None else max(self.last_ms, high)
            for target in targets:
                self.targets.add((provider, target, low - low % size))
                self.targets.add((provider, target, high - high % size))
        return count

    def drain(self) -> tuple[list[dict[str, Any]], dict[str, set[tuple[str, datetime]]]]:
        """The aggregate rows to write and the coverage by provider; memory is freed."""
        rows: list[dict[str, Any]] = []
        covered: dict[str, set[tuple[str, datetime]]] = {}
        buckets: dict[int, datetime] = {}
        for key, cell in self.cells.items():
            ms = key[-1]
            bucket = buckets.get(ms) or buckets.setdefault(ms, _dt(ms))
            values = dict(zip(KEY_FIELDS, key[:-1], strict=True))
            values["direction"] = str(values["direction"])
            values["decision"] = str(values["decision"])
            rows.append(
                {
                    **values,
                    "key": aggregate_key(key),
                    "bucket": bucket,
                    "flows": cell[0],
                    "bytes_sent": cell[1],
                    "bytes_received": cell[2],
                    "packets_sent": cell[3],
                    "packets_received": cell[4],
                    "first_seen": _dt(cell[5]),
                    "last_seen": _dt(cell[6]),
                }
            )
            if key[1]:
                covered.setdefault(key[0], set()).add((key[1], bucket))
        for provider, target, ms in self.targets:
            covered.setdefault(provider, set()).add((target, _dt(ms)))
        self.cells = {}
        self.targets = set()
        return rows, covered

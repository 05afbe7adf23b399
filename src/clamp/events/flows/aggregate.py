"""Folding flow rows into aggregates, in bounded memory.

An aggregate's key is (provider, resource, destination, port, protocol, source, direction,
rule, decision, bucket). A row whose log did not name its resource gets one from the
inventory's addresses: the destination's for inbound flows, the source's for outbound.
``flows`` counts flows begun or refused in the bucket: every row but Azure's continuing
(C) and end (E) tuples, which carry more volume for a flow already counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from hashlib import blake2b
from sys import intern
from typing import Any

from clamp.errors import InputError
from clamp.events.flows.model import FlowDecision
from clamp.events.flows.rows import FlowRow, TupleGroup
from clamp.model import Direction

INGRESS = Direction.INGRESS
AGGREGATE_COLUMNS = (
    "key",
    "provider",
    "resource_id",
    "destination",
    "port",
    "protocol",
    "source",
    "direction",
    "rule",
    "decision",
    "bucket",
    "flows",
    "bytes_sent",
    "bytes_received",
    "packets_sent",
    "packets_received",
    "first_seen",
    "last_seen",
)


DIRECTIONS = {"I": Direction.INGRESS.value, "O": Direction.EGRESS.value}
"""A CSV tuple's direction letter as stored."""
STORED = {
    Direction.INGRESS: Direction.INGRESS.value,
    Direction.EGRESS: Direction.EGRESS.value,
    FlowDecision.ALLOWED: FlowDecision.ALLOWED.value,
    FlowDecision.DENIED: FlowDecision.DENIED.value,
}
"""A row's direction and decision as stored (plain text, not the enum)."""
ALLOWED, DENIED = FlowDecision.ALLOWED.value, FlowDecision.DENIED.value
CONTINUED = frozenset(("C", "E"))
"""Azure flow states that carry more volume for a flow already counted."""


def aggregate_key(values: tuple[Any, ...]) -> str:
    """What identifies an aggregate: its bucket (seconds, hex: an hour's new rows sit
    together at the end of the unique index instead of all over it) and a digest of its
    key fields (None written as nothing)."""
    provider, resource, dst, port, proto, src, direction, rule, decision, bucket = values
    text = (
        f"{provider}\x1f{resource or ''}\x1f{dst}\x1f{'' if port is None else port}\x1f{proto}"
        f"\x1f{src}\x1f{direction}\x1f{rule or ''}\x1f{decision}\x1f{bucket}"
    )
    prefix = _BUCKET_HEX.get(bucket)
    if prefix is None:
        if len(_BUCKET_HEX) >= 10_000:
            _BUCKET_HEX.clear()
        prefix = _BUCKET_HEX[bucket] = f"{bucket // 1000:010x}"
    digest = _KEY_HASH.copy()
    digest.update(text.encode())
    return prefix + digest.hexdigest()


_KEY_HASH = blake2b(digest_size=11)
"""The key's hash before any data, copied for each key: ``blake2b(data, digest_size=11)``
costs more than twice as much (its keyword parameters are parsed and its state set up
anew each time)."""
_BUCKET_HEX: dict[int, str] = {}
"""Each bucket's key prefix, made once (a batch has a few buckets, each with many keys)."""


class Aggregator:
    """Aggregates in memory until drained; ``size`` says when to drain.

    Cells are keyed as stored (``AGGREGATE_COLUMNS`` from ``provider`` to ``bucket``:
    port a number or None, direction and decision as words), so both folds meet in one
    dict and ``drain`` only adds the digest.
    """

    def __init__(self, bucket: timedelta, addresses: Mapping[str, str] | None = None) -> None:
        self.bucket_ms = int(bucket.total_seconds() * 1000)
        self.addresses: Mapping[str, str] = addresses or {}
        self.cells: dict[tuple[Any, ...], list[int]] = {}
        self.fields: dict[int, dict[tuple[str, str, str], tuple[int | None, str, str]]] = {}
        """By layout (its ``id``: layouts are the drivers' constants), a CSV tuple's port,
        protocol and direction as logged, to them as stored (the same few recur; emptied
        with the cells)."""
        self.targets: set[tuple[str, str, int]] = set()
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    @property
    def size(self) -> int:
        """Aggregates held."""
        return len(self.cells)

    def _seen(self, provider: str, low: int, high: int, targets: Iterable[str]) -> None:
        size, seen = self.bucket_ms, self.targets
        low, high = low - low % size, high - high % size
        for target in targets:
            seen.add((provider, target, low))
            if high != low:
                seen.add((provider, target, high))

    def fold(self, provider: str, rows: Iterable[FlowRow], targets: Iterable[str] = ()) -> int:
        """Fold ``rows`` in; ``targets`` (what had logging on) are covered in the rows'
        buckets. The number of rows."""
        size, cells, addresses, stored = self.bucket_ms, self.cells, self.addresses, STORED
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
                stored[direction],
                row[8],
                stored[row[7]],
                ms - ms % size,
            )
            begun = 0 if row[10] in CONTINUED else 1
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
            self._seen(provider, low, high, targets)
        return count

    def fold_groups(
        self, provider: str, groups: Iterable[TupleGroup], where: str, targets: Iterable[str] = ()
    ) -> int:
        """Fold CSV tuple groups in (the hot path: one split per tuple, no row built); a
        malformed tuple raises ``InputError`` naming ``where``."""
        size, cells, addresses, by_layout = self.bucket_ms, self.cells, self.addresses, self.fields
        ingress = INGRESS.value
        count = 0
        low = high = -1
        for group in groups:
            tuples = group.tuples
            if not tuples:
                continue
            layout = group.layout
            width, unit, protocols = layout.width, layout.ms_per_unit, layout.protocols
            fields = by_layout.get(id(layout))
            if fields is None:
                fields = by_layout[id(layout)] = {}
            denied, state_at = layout.denied, layout.state
            bs, br, ps, pr = layout.counts
            rule, logged = group.rule, group.resource
            try:
                for text in tuples:
                    f = text.split(",")
                    if len(f) != width:
                        raise ValueError(text)
                    ms = int(f[0]) * unit
                    as_logged = (f[4], f[5], f[6])
                    stored = fields.get(as_logged)
                    if stored is None:  # port, protocol, direction: first seen in this batch
                        port = f[4]
                        stored = fields[as_logged] = (
                            int(port) if port else None,
                            protocols.get(f[5]) or f[5],
                            DIRECTIONS[f[6]],
                        )
                    direction = stored[2]
                    src, dst = f[1], f[2]
                    key = (
                        provider,
                        logged or addresses.get(dst if direction is ingress else src),
                        dst,
                        stored[0],
                        stored[1],
                        src,
                        direction,
                        rule,
                        DENIED if f[denied] == "D" else ALLOWED,
                        ms - ms % size,
                    )
                    begun = 0 if f[state_at] in CONTINUED else 1
                    cell = cells.get(key)
                    if cell is None:
                        cells[key] = [
                            begun,
                            int(f[bs] or 0),
                            int(f[br] or 0),
                            int(f[ps] or 0),
                            int(f[pr] or 0),
                            ms,
                            ms,
                        ]
                    else:
                        cell[0] += begun
                        cell[1] += int(f[bs] or 0)
                        cell[2] += int(f[br] or 0)
                        cell[3] += int(f[ps] or 0)
                        cell[4] += int(f[pr] or 0)
                        if ms < cell[5]:
                            cell[5] = ms
                        elif ms > cell[6]:
                            cell[6] = ms
                many = len(tuples)
                first = int(tuples[0].split(",", 1)[0]) * unit if many > 1 else ms
            except KeyError as exc:
                raise InputError(f"{where}: malformed flow tuple (direction {exc})") from None
            except (ValueError, TypeError, AttributeError) as exc:
                raise InputError(f"{where}: malformed flow tuple ({str(exc)[:80]!r})") from None
            count += many
            if first > ms:  # ms: the last tuple's
                first, ms = ms, first
            if low < 0 or first < low:
                low = first
            if ms > high:
                high = ms
        if count:
            self._seen(provider, low, high, targets)
        return count

    def span(self, low: int | None, high: int | None) -> None:
        """Widen the times drained so far (epoch ms) to ``low`` and ``high``."""
        if low is not None:
            self.first_ms = low if self.first_ms is None else min(self.first_ms, low)
        if high is not None:
            self.last_ms = high if self.last_ms is None else max(self.last_ms, high)

    def drain(
        self, time: Callable[[int], Any] = int, missing: Any = None
    ) -> tuple[list[tuple[Any, ...]], dict[str, set[tuple[str, int]]]]:
        """The aggregate rows to write (``AGGREGATE_COLUMNS`` order, times as ``time`` makes
        them of epoch ms: the store's ``FlowWriter.form``, or the ms themselves; a missing
        resource, port or rule as ``missing``) and the coverage (resource, bucket ms) by
        provider; memory is freed."""
        cells = self.cells
        rows: list[tuple[Any, ...]] = []
        append = rows.append
        covered: dict[str, set[tuple[str, int]]] = {}
        low = high = None
        buckets: dict[int, Any] = {}  # a batch's few buckets, each made by ``time`` once
        for key, cell in cells.items():
            provider, resource, dst, port, protocol, src, direction, rule, decision, bucket = key
            count, sent, received, packets, back, first, last = cell
            start = buckets.get(bucket)
            if start is None:
                start = buckets[bucket] = time(bucket)
            append(
                (
                    aggregate_key(key),
                    provider,
                    missing if resource is None else intern(resource),  # pickled once a batch
                    intern(dst),
                    missing if port is None else port,
                    protocol,
                    intern(src),
                    direction,
                    missing if rule is None else intern(rule),
                    decision,
                    start,
                    count,
                    sent,
                    received,
                    packets,
                    back,
                    time(first),
                    time(last),
                )
            )
            if low is None or first < low:
                low = first
            if high is None or last > high:
                high = last
            if resource:
                covered.setdefault(provider, set()).add((resource, bucket))
        self.span(low, high)
        for provider, target, ms in self.targets:
            covered.setdefault(provider, set()).add((target, ms))
        self.cells = {}
        self.fields = {}
        self.targets = set()
        return rows, covered

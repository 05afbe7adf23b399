"""The figures of event intake, from the store: how many deliveries were received,
rejected, duplicated and processed, and the percentiles of the two latencies Clamp reports
— ``latency_ms`` from receipt to the first action call an event-triggered rule issued
(Clamp's part), ``cloud_delay_ms`` from the cloud's ``eventTime`` to receipt (the
cloud's part) — and ``processing_ms`` from receipt to the findings updated. Served by
``GET /api/v1/events/stats`` and printed by ``clamp events stats``: the same numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from clamp.store import Store


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and p99 (nearest rank) of ``values`` in milliseconds; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None}

    def rank(p: int) -> float:
        index = max(0, -(-p * len(ordered) // 100) - 1)
        return round(ordered[index], 3)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99)}


def milliseconds(start: datetime, end: datetime) -> float:
    """The time from ``start`` to ``end`` in milliseconds."""
    return (end - start).total_seconds() * 1000


def event_stats(store: Store) -> dict[str, object]:
    """Counts and latencies of the store's events (latencies over the recent ones)."""
    counts = store.events.counters()
    recent = store.events.recent()
    return {
        **counts,
        "latency_ms": percentiles([milliseconds(e.received, e.acted) for e in recent if e.acted]),
        "processing_ms": percentiles(
            [milliseconds(e.received, e.processed) for e in recent if e.processed]
        ),
        "cloud_delay_ms": percentiles(
            [milliseconds(e.event.event_time, e.received) for e in recent if e.event.event_time]
        ),
    }

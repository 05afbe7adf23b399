"""Prometheus metrics of event intake (``prometheus-client``), one registry per service.

The counts (``clamp_events_received_total``, ``_rejected_total``, ``_duplicates_total``,
``_processed_total``, ``_ignored_total``) are read from the store at each scrape, so they
are the numbers ``GET /api/v1/events/stats`` shows, across restarts and every process
sharing the store. The histograms are this process's observations:
``clamp_event_action_latency_seconds`` (receipt → the first action call an
event-triggered rule issued), ``clamp_event_processing_seconds`` (receipt → findings
updated) and ``clamp_event_cloud_delay_seconds`` (the cloud's ``eventTime`` → receipt).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from clamp.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Buckets for Clamp's part: milliseconds to seconds (an enforcement delay goes beyond)."""
SLOW = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
"""Buckets for the cloud's part: Event Grid and log sinks take seconds to minutes."""
HELP = {
    "received": "Cloud change events stored (each once)",
    "rejected": "Deliveries refused as unauthenticated",
    "duplicates": "Deliveries of events already stored",
    "ignored": "Delivered events of types Clamp does not act on",
    "processed": "Events whose resource was re-read and re-evaluated",
}


class _StoredCounts(Collector):
    """The store's event counters, as Prometheus counters."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[CounterMetricFamily]:
        counts = self.store.events.counters()
        for name, text in HELP.items():
            yield CounterMetricFamily(f"clamp_events_{name}", text, value=counts.get(name, 0))

    def describe(self) -> Iterator[CounterMetricFamily]:
        for name, text in HELP.items():
            yield CounterMetricFamily(f"clamp_events_{name}", text)


class EventMetrics:
    """The service's registry: the stored counts and the latency histograms."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StoredCounts(store))
        self.action_latency = Histogram(
            "clamp_event_action_latency_seconds",
            "Receipt of an event to the first action call its rules issued",
            buckets=FAST,
            registry=self.registry,
        )
        self.processing = Histogram(
            "clamp_event_processing_seconds",
            "Receipt of an event to its findings updated",
            buckets=FAST,
            registry=self.registry,
        )
        self.cloud_delay = Histogram(
            "clamp_event_cloud_delay_seconds",
            "The cloud's eventTime to Clamp's receipt",
            buckets=SLOW,
            registry=self.registry,
        )

    def received(self, event_time: datetime | None, received: datetime) -> None:
        """Observe the cloud's delay of one stored event."""
        if event_time is not None:
            self.cloud_delay.observe(max(0.0, (received - event_time).total_seconds()))

    def handled(self, received: datetime, processed: datetime, acted: datetime | None) -> None:
        """Observe one event's processing, and its action call when a rule acted."""
        self.processing.observe((processed - received).total_seconds())
        if acted is not None:
            self.action_latency.observe((acted - received).total_seconds())

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

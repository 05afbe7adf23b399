"""From a verified delivery to updated findings: store each event once (before the
delivery is acknowledged), then — on the service's pool, never in the request — re-read
only the changed resource, re-evaluate the checks on what was read, and record the
findings of those resources alone.

Then the rules that say ``trigger: event`` run on the findings the event opened
(``clamp.events.triggers``), and ``acted`` records when their first action call was issued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from clamp.config import Settings
from clamp.errors import ClampError, InputError, ResourceNotFound
from clamp.events.record import CloudEvent
from clamp.events.triggers import EventRules
from clamp.events.verify import AzureVerifier, GcpVerifier
from clamp.model import Provider
from clamp.providers.interface import CloudDriver
from clamp.scanning import evaluate_checks
from clamp.store import Store
from clamp.store.events import Intake, StoredEvent

log = logging.getLogger("clamp.events")


def _now() -> datetime:
    return datetime.now(UTC)


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and p99 (nearest rank) of ``values`` in milliseconds; None when empty."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p95": None, "p99": None}

    def rank(p: int) -> float:
        index = max(0, -(-p * len(ordered) // 100) - 1)
        return round(ordered[index], 3)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99)}


def _ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


class EventIntake:
    """Events of one service: verification, storage, processing and their figures."""

    def __init__(
        self, store: Store, drivers: Callable[[Provider], CloudDriver], settings: Settings
    ) -> None:
        self.store = store
        self.drivers = drivers
        self.settings = settings
        self.azure = AzureVerifier(settings.events.azure)
        self.gcp = GcpVerifier(settings.events.gcp)
        self.triggers: EventRules | None = None
        """The event-triggered rules, when the service sets them."""

    def rejected(self) -> None:
        """Count a delivery refused as unauthenticated."""
        self.store.events.count("rejected")

    def ignored(self, n: int) -> None:
        """Count events of types Clamp does not act on."""
        if n:
            self.store.events.count("ignored", n)

    def accept(self, events: Sequence[CloudEvent]) -> list[str]:
        """Store each event (duplicates counted, not stored); the ids to process now."""
        received = _now()
        due = []
        for event in events:
            match self.store.events.record(event, received):
                case Intake.NEW | Intake.COMPLETES:
                    due.append(event.id)
                case Intake.DUPLICATE:
                    pass
        return due

    def process(self, event_id: str) -> str:
        """Re-read the event's resource, re-evaluate it and record its findings."""
        stored = self.store.events.get(event_id)
        if stored is None:
            raise InputError(f"no event {event_id!r}")
        try:
            result, opened = self._refresh(stored.event)
        except ClampError as exc:
            result, opened = f"not evaluated: {exc}", ()
        processed = _now()
        acted = due = None
        if self.triggers is not None and opened:
            triggered = self.triggers.act(opened, stored.received)
            result = "; ".join(filter(None, (result, triggered.note)))
            acted, due = triggered.acted, triggered.due
        self.store.events.done(event_id, processed, result, acted, due=due, opened=opened)
        return result

    def due(self, now: datetime) -> list[StoredEvent]:
        """Events whose rules with an enforcement delay are due at ``now``."""
        return self.store.events.due(now)

    def act_delayed(self, event_id: str, now: datetime) -> str:
        """Run the event's rules whose enforcement delay has run out at ``now`` (each delay
        once)."""
        stored = self.store.events.get(event_id)
        if stored is None or stored.due is None or self.triggers is None:
            return ""
        triggered = self.triggers.act(stored.opened, stored.received, since=stored.due, now=now)
        self.store.events.waited(event_id, triggered.note, triggered.acted, triggered.due)
        return triggered.note

    def _refresh(self, event: CloudEvent) -> tuple[str, tuple[str, ...]]:
        """What re-reading the event's resource did, and the findings it opened."""
        driver = self.drivers(event.provider)
        resource = driver.evaluated_resource(event.resource)
        if resource is None:
            return f"nothing Clamp evaluates: {event.resource}", ()
        try:
            related = driver.read_related(resource)
        except ResourceNotFound:
            gone = self.store.record_findings([resource], [])
            return f"{resource} is gone: {gone.resolved} finding(s) resolved", ()
        changed = related[0].id  # what it was read with is context, judged by scans
        findings = [f for f in evaluate_checks(related, self.settings) if f.resource == changed]
        update = self.store.record_findings([changed], findings)
        words = f"re-read {changed}: {len(findings)} finding(s), {len(update.opened)} opened"
        return f"{words}, {update.resolved} resolved", update.opened

    def pending(self) -> list[StoredEvent]:
        """Events stored but never processed (the service stopped in between)."""
        return self.store.events.pending()

    def stats(self) -> dict[str, object]:
        """Counts and latencies: ``latency_ms`` receipt → the first action call an
        event-triggered rule issued, ``processing_ms`` receipt → findings updated,
        ``cloud_delay_ms`` the cloud's ``eventTime`` → receipt."""
        counts = self.store.events.counters()
        recent = self.store.events.recent()
        return {
            **counts,
            "latency_ms": percentiles([_ms(e.received, e.acted) for e in recent if e.acted]),
            "processing_ms": percentiles(
                [_ms(e.received, e.processed) for e in recent if e.processed]
            ),
            "cloud_delay_ms": percentiles(
                [_ms(e.event.event_time, e.received) for e in recent if e.event.event_time]
            ),
        }

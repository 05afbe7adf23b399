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
from contextlib import nullcontext
from datetime import UTC, datetime

from clamp.config import Settings
from clamp.errors import ClampError, InputError, ResourceNotFound
from clamp.events.metrics import EventMetrics
from clamp.events.record import CloudEvent
from clamp.events.stats import event_stats
from clamp.events.triggers import EventRules
from clamp.events.verify import AzureVerifier, GcpVerifier
from clamp.model import Provider, Resource
from clamp.providers.interface import CloudDriver
from clamp.providers.pacing import spare_calls
from clamp.scanning import evaluate_checks
from clamp.store import Store
from clamp.store.events import Intake, StoredEvent
from clamp.store.group_commit import GroupCommit
from clamp.store.records import FindingsUpdate

log = logging.getLogger("clamp.events")


def _now() -> datetime:
    return datetime.now(UTC)


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
        self.metrics = EventMetrics(store)
        self._record = GroupCommit(store.events.record_many)
        self._accepted: dict[str, StoredEvent] = {}
        """Events this process stored and has yet to process, so processing need not read
        them back (one that is not here, after a restart or on a worker, is read)."""
        """Concurrent deliveries' events stored in one transaction (``clamp.store.group_commit``)."""

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
        stored = self._record([(event, received) for event in events])
        for event, intake in zip(events, stored, strict=True):
            match intake:
                case Intake.NEW:
                    self.metrics.received(event.event_time, received)
                    self._accepted[event.id] = StoredEvent(event, received)
                    due.append(event.id)
                case Intake.COMPLETES:
                    due.append(event.id)
                case Intake.DUPLICATE:
                    pass
        return due

    def reread_key(self, event: CloudEvent) -> str:
        """What the event's re-read reads: events of one key share a re-read."""
        evaluated = self.drivers(event.provider).evaluated_resource(event.resource)
        return f"{event.provider.value}:{(evaluated or event.resource).lower()}"

    def process(self, event_id: str, covers: Sequence[str] = (), *, spare: bool = False) -> str:
        """Re-read the event's resource, re-evaluate it and record its findings; the events
        of ``covers`` (received before, on the same resource) are done by that re-read.
        With ``spare``, the re-read's calls leave the cloud's budget to others first
        (``spare_calls``); the calls of the rules it triggers never do."""
        stored = self._accepted.pop(event_id, None) or self.store.events.get(event_id)
        for other in covers:
            self._accepted.pop(other, None)
        if stored is None:
            raise InputError(f"no event {event_id!r}")
        try:
            with spare_calls() if spare else nullcontext():
                result, opened, finished, covered, read = self._refresh(stored.event, covers)
        except ClampError as exc:
            result, opened, finished, covered, read = f"not evaluated: {exc}", (), None, [], []
        acted = due = None
        if finished is not None:  # done with the findings (and covers), in the same write
            processed = finished
        else:
            processed = _now()
            if self.triggers is not None and opened:
                triggered = self.triggers.act(opened, stored.received, read=read)
                result = "; ".join(filter(None, (result, triggered.note)))
                acted, due = triggered.acted, triggered.due
            covered = self.store.events.done(
                event_id, processed, result, acted, due=due, opened=opened, covers=covers
            )
        self.metrics.handled(stored.received, processed, acted)
        for received in covered:
            self.metrics.handled(received, processed, None)
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
        if triggered.acted is not None and stored.acted is None:
            self.metrics.action_latency.observe((triggered.acted - stored.received).total_seconds())
        return triggered.note

    def _refresh(
        self, event: CloudEvent, covers: Sequence[str]
    ) -> tuple[str, tuple[str, ...], datetime | None, list[datetime], list[Resource]]:
        """What re-reading the event's resource did, the findings it opened, when the
        event (and those of ``covers``) was recorded as done with them (None: not yet,
        rules may run first), when those covered were received, and what was read (the
        rules it triggers plan from it)."""
        driver = self.drivers(event.provider)
        resource = driver.evaluated_resource(event.resource)
        if resource is None:
            return f"nothing Clamp evaluates: {event.resource}", (), None, [], []
        try:
            related = driver.read_related(resource)
        except ResourceNotFound:
            gone = self.store.record_findings([resource], [])
            return f"{resource} is gone: {gone.resolved} finding(s) resolved", (), None, [], []
        changed = related[0].id  # what it was read with is context, judged by scans
        findings = [f for f in evaluate_checks(related, self.settings) if f.resource == changed]

        def words(update: FindingsUpdate) -> str:
            found = f"re-read {changed}: {len(findings)} finding(s), {len(update.opened)} opened"
            return f"{found}, {update.resolved} resolved"

        # its tags (for rules scoped by them), its findings, and the event done when none
        # opened: one write
        update, done, covered = self.store.record_reread(
            related[0], findings, event.id, words, covers
        )
        return words(update), update.opened, done, covered, related

    def pending(self) -> list[StoredEvent]:
        """Events stored but never processed (the service stopped in between)."""
        return self.store.events.pending()

    def stats(self) -> dict[str, object]:
        """Counts and latencies (``clamp.events.stats``)."""
        return event_stats(self.store)

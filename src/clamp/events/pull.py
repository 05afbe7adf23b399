"""Pull mode: for installs without a public HTTPS endpoint, Clamp pulls the subscription a
push would have delivered from, and every message takes the push path — parsed by
``clamp.events.gcp.parse_push``, stored (deduplicated by its keys, the Pub/Sub messageId
among them) before it is acknowledged, then processed like a push: re-read, re-evaluated,
event rules.

A message the store already holds (delivered again after its ack deadline, or by another
subscription) is counted as a duplicate and acknowledged, and acts no more. A message
that is not a delivery Clamp understands is acknowledged too (Pub/Sub would redeliver it
forever) and counted as ignored. No OIDC token comes with a pull: the subscription's IAM
(``pubsub.subscriptions.consume``) protects it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Protocol

from clamp.actions.engine import ActionEngine
from clamp.automation.runner import RuleRunner
from clamp.config import Settings
from clamp.errors import InputError
from clamp.events.coalesce import Coalescer
from clamp.events.flows.intake import take_message
from clamp.events.gcp import parse_push
from clamp.events.intake import EventIntake
from clamp.events.record import CloudEvent
from clamp.events.triggers import EventRules
from clamp.model import Provider
from clamp.providers.interface import CloudDriver
from clamp.roles import EVENTS
from clamp.store import Store

log = logging.getLogger("clamp.events")


class Pulled(Protocol):
    """A received message: its ack id and its push body."""

    @property
    def ack_id(self) -> str: ...

    @property
    def body(self) -> bytes: ...


class Puller(Protocol):
    """Where messages are pulled from (``clamp.providers.gcp.pubsub_pull``)."""

    def pull(self, max_messages: int) -> Sequence[Pulled]: ...

    def acknowledge(self, ack_ids: Sequence[str]) -> None: ...


@dataclass
class PullCounts:
    """What pull rounds did: ``stored`` counts the events the store took (new ones, and
    the last entry of an operation whose first one it holds), ``duplicates`` those it
    already held, ``processed`` the events processed (an operation's entries are one)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    acknowledged: int = 0
    processed: int = 0

    def add(self, other: PullCounts) -> None:
        """Add ``other``'s counts to these."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


def pull_round(puller: Puller, intake: EventIntake, max_messages: int) -> PullCounts:
    """One pull: store what came, acknowledge it, then process the new events."""
    received = puller.pull(max_messages)
    counts = PullCounts(received=len(received))
    events: list[CloudEvent] = []
    flows = 0
    for message in received:
        if take_message(intake.store, intake.settings.flows, message.body) is not None:
            flows += 1  # a flow-log entry: folded into the aggregates (once), stored
            continue
        try:
            event, _message_id = parse_push(message.body)
        except InputError as exc:
            log.warning("pulled message %s ignored: %s", message.ack_id, exc)
            event = None
        if event is None:
            counts.ignored += 1
        else:
            events.append(event)
    intake.ignored(counts.ignored)
    due = intake.accept(events)  # in the store before the acknowledgement
    counts.stored = len(due) + flows
    counts.duplicates = len(events) - len(due)
    try:
        puller.acknowledge([m.ack_id for m in received])
        counts.acknowledged = len(received)
    finally:  # stored events are processed even when the acknowledgement fails
        counts.processed = _process(intake, events, due)
    return counts


def _process(intake: EventIntake, events: Sequence[CloudEvent], due: Sequence[str]) -> int:
    """Process the due events as the service does: those of one resource share one re-read
    (``clamp.events.coalesce``). How many events were processed."""
    waiting = Coalescer(intake.reread_key)
    by_id = {e.id: e for e in events}
    for event_id in due:
        waiting.add(by_id[event_id])
    while (turn := waiting.next()) is not None:
        intake.process(turn.event, turn.covers, spare=not turn.fresh)
    return len(set(due))


def local_intake(
    store: Store, drivers: Callable[[Provider], CloudDriver], settings: Settings
) -> EventIntake:
    """The service's intake, in this process: its event rules act as ``events``, a
    remediator like in the service (``clamp.api.service``)."""
    if settings.roles.enforced:
        settings = replace(settings, roles=settings.roles.with_machines())
    acting = replace(settings, actor=EVENTS)
    intake = EventIntake(store, drivers, settings)
    intake.triggers = EventRules(
        store, settings, lambda: RuleRunner(store, ActionEngine(store, drivers, acting), acting)
    )
    return intake

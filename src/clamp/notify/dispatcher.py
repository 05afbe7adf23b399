"""Delivery of the outbox: route new notices to the sinks whose filters want them, then
send each due delivery; a failure is retried with exponential backoff (or after the
sink's ``Retry-After``), and dead-lettered after the sink's ``max_attempts`` or at once
when the sink refused it as sent. Nothing here runs inside a fix: a sink that is down
only delays its own notices."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from clamp.config import Settings
from clamp.errors import ClampError
from clamp.notify.config import SinkConfig
from clamp.notify.interface import DeliveryFailed, DeliveryRefused, Sink
from clamp.notify.message import Message, render
from clamp.notify.sinks import build_sink
from clamp.store.notice_records import Delivery, Notice, Outcome
from clamp.store.records import FindingRecord

if TYPE_CHECKING:
    from clamp.store import Store

log = logging.getLogger("clamp.notify")
BACKOFF = timedelta(seconds=30)
"""The wait after a first failure; it doubles with every further one."""
MAX_BACKOFF = timedelta(hours=1)
MAX_RETRY_AFTER = timedelta(hours=6)
"""A sink's ``Retry-After`` is honoured up to this long."""
BATCH = 100
LEASE = timedelta(minutes=5)
"""How long a claimed delivery is this dispatcher's: past it, another may try it again."""


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    if retry_after is not None:
        return min(timedelta(seconds=retry_after), MAX_RETRY_AFTER)
    wait: timedelta = BACKOFF * 2 ** max(attempts - 1, 0)
    return min(wait, MAX_BACKOFF)


@dataclass(frozen=True)
class DrainReport:
    """What one pass over the outbox did."""

    routed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


class Dispatcher:
    """Drains one store's outbox to the configured sinks."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        sinks: Mapping[str, Sink] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self.configs: dict[str, SinkConfig] = {s.name: s for s in settings.notify.sinks}
        self._clients: list[httpx.Client] = []
        self._sinks: dict[str, Sink] = dict(sinks or {})

    def sink(self, name: str) -> Sink:
        """The sink configured under ``name`` (built on first use, with its own timeout)."""
        if name not in self._sinks:
            config = self.configs[name]
            http = httpx.Client(timeout=config.timeout)
            self._clients.append(http)
            self._sinks[name] = build_sink(config, self.settings, http)
        return self._sinks[name]

    def _built(self, name: str) -> Sink:
        """``sink(name)``; a sink that cannot be built now (no credentials yet) is a
        failed attempt of its own deliveries, never a stop for the others'."""
        try:
            return self.sink(name)
        except ClampError as exc:
            raise DeliveryFailed(f"{name}: cannot set up the sink: {exc}") from exc

    def close(self) -> None:
        """Release the sinks' connections."""
        for http in self._clients:
            http.close()
        for sink in self._sinks.values():
            close = getattr(sink, "close", None)
            if callable(close):
                close()

    def drain(self) -> DrainReport:
        """Route what is new and send what is due now; what one pass did. With no sink
        configured the notices wait, so a sink added later still hears of them."""
        if not self.configs:
            return DrainReport()
        now = self.clock()
        routed = self.store.notices.route(self._wanted_by, now)
        delivered = retrying = dead = 0
        rendered: dict[str, Message] = {}
        while batch := self.store.notices.claim(now, LEASE, limit=BATCH):
            about = self.store.notices.findings(
                str(d.notice.data["finding_id"]) for d in batch if d.notice.data.get("finding_id")
            )
            outcomes = [self._send(delivery, rendered, about, now) for delivery in batch]
            self.store.notices.record(outcomes, now)
            for outcome in outcomes:
                if outcome.error is None:
                    delivered += 1
                elif outcome.retry_at is None:
                    dead += 1
                else:
                    retrying += 1
        return DrainReport(routed, delivered, retrying, dead)

    def _wanted_by(self, notice: Notice) -> list[str]:
        return [name for name, config in self.configs.items() if config.wants(notice)]

    def _send(
        self,
        delivery: Delivery,
        rendered: dict[str, Message],
        findings: Mapping[str, FindingRecord],
        now: datetime,
    ) -> Outcome:
        config = self.configs.get(delivery.sink)
        if config is None:
            return Outcome(delivery.id, f"sink {delivery.sink} is no longer configured")
        notice = delivery.notice
        try:
            if notice.id not in rendered:
                rendered[notice.id] = render(notice, findings.get)
            self._built(delivery.sink).deliver(rendered[notice.id])
        except DeliveryRefused as exc:
            log.warning("notice %s refused by %s: %s", notice.id, delivery.sink, exc)
            return Outcome(delivery.id, str(exc))
        except DeliveryFailed as exc:
            attempts = delivery.attempts + 1
            if attempts >= config.max_attempts:
                return Outcome(delivery.id, str(exc))
            return Outcome(delivery.id, str(exc), now + backoff(attempts, exc.retry_after))
        except ValueError as exc:  # a notice that cannot be rendered: a bug; `retry` after a fix
            return Outcome(delivery.id, f"cannot render the notice: {exc}")
        return Outcome(delivery.id)

"""The sandbox's outbound deliveries: webhook POSTs made from background threads, as Event
Grid and Pub/Sub push make them — at least once (a failed POST is retried with a growing
back-off), with an optional duplicate and an optional delay (``DeliveryOptions``, set
through ``PUT /_sandbox/deliveries``).

What counts as delivered follows the clouds' documents: Event Grid "Delivery and retry"
(any 2xx succeeds; 400 and 413 are not retried; everything else, timeouts included, is
retried with exponential back-off) and Pub/Sub "Push subscriptions" (102, 200, 201, 202
and 204 acknowledge; anything else is retried with back-off). The clouds retry for up to
a day; the sandbox gives up after ``ATTEMPTS`` tries, a few seconds.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from clamp.errors import InputError

ATTEMPTS = 8
FIRST_RETRY = 0.05
"""Seconds before the first retry; doubled at every further one."""
TIMEOUT = 30.0
"""Event Grid waits 30 s for a webhook's answer; a push waits for the ack deadline."""
WORKERS = 4


@dataclass
class DeliveryOptions:
    """How deliveries misbehave on purpose: every delivery sent twice (``duplicate``),
    and held back ``delay_ms`` before the first try."""

    duplicate: bool = False
    delay_ms: int = 0

    @classmethod
    def from_json(cls, data: Any) -> DeliveryOptions:
        """Options from ``{"duplicate": bool, "delay_ms": int}``."""
        if not isinstance(data, Mapping) or set(data) - {"duplicate", "delay_ms"}:
            raise InputError('delivery options are {"duplicate": bool, "delay_ms": int}')
        duplicate, delay = data.get("duplicate", False), data.get("delay_ms", 0)
        if not isinstance(duplicate, bool) or not isinstance(delay, int) or delay < 0:
            raise InputError("duplicate is a boolean and delay_ms a non-negative integer")
        return cls(duplicate, delay)


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    delivery: Delivery = field(compare=False)


@dataclass
class Delivery:
    """One POST to make: its headers are built at each try (a token is fresh every time)."""

    url: str
    body: bytes
    headers: Callable[[int], dict[str, str]]
    """The headers of try ``n`` (0-based: Event Grid's ``aeg-delivery-count``)."""
    acknowledged: Callable[[int], bool]
    """Whether a status code acknowledges the delivery."""
    retried: Callable[[int], bool] = lambda status: True
    attempt: int = 0


class Deliveries:
    """A queue of deliveries and the threads that make them."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.options = DeliveryOptions()
        self.counts = {"queued": 0, "delivered": 0, "attempts": 0, "failed": 0}
        self._queue: list[_Due] = []
        self._seq = itertools.count()
        self._busy = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._client = httpx.Client(timeout=TIMEOUT)
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"clamp-sandbox-deliver-{n}")
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def send(self, delivery: Delivery) -> None:
        """Queue ``delivery`` (twice when the options say so), after the options' delay."""
        with self._cond:
            copies = 2 if self.options.duplicate else 1
            at = time.monotonic() + self.options.delay_ms / 1000
            for n in range(copies):
                copy = Delivery(**{**delivery.__dict__, "attempt": 0}) if n else delivery
                heapq.heappush(self._queue, _Due(at, next(self._seq), copy))
                self.counts["queued"] += 1
            self._cond.notify(copies)

    def call(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str]
    ) -> httpx.Response:
        """One request now, in the caller's thread (a handshake: its answer decides)."""
        return self._client.request(method, url, content=body, headers=dict(headers))

    def pending(self) -> int:
        """Deliveries queued or being made."""
        with self._cond:
            return len(self._queue) + self._busy

    def settled(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or being made; whether it came to that."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.01))
        return True

    def stats(self) -> dict[str, Any]:
        """Counts of deliveries and tries, and the options in force."""
        with self._cond:
            return {
                **self.counts,
                "pending": len(self._queue) + self._busy,
                **self.options.__dict__,
            }

    def stop(self) -> None:
        """Stop the threads (deliveries still queued are dropped)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._client.close()

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                if self._queue and self._queue[0].at <= now:
                    self._busy += 1
                    return heapq.heappop(self._queue).delivery
                wait = self._queue[0].at - now if self._queue else None
                self._cond.wait(wait)
        return None

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            try:
                self._try(delivery)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _try(self, delivery: Delivery) -> None:
        status: int | None
        try:
            headers = delivery.headers(delivery.attempt)
            status = self._client.post(
                delivery.url, content=delivery.body, headers=headers
            ).status_code
        except httpx.HTTPError:
            status = None  # refused, reset or timed out: retried like a 5xx
        with self._cond:
            self.counts["attempts"] += 1
            if status is not None and delivery.acknowledged(status):
                self.counts["delivered"] += 1
                return
            delivery.attempt += 1
            if delivery.attempt >= ATTEMPTS or (
                status is not None and not delivery.retried(status)
            ):
                self.counts["failed"] += 1
                return
            at = time.monotonic() + FIRST_RETRY * 2 ** (delivery.attempt - 1)
            heapq.heappush(self._queue, _Due(at, next(self._seq), delivery))
            self._cond.notify()

"""The in-process ``CallBudget``: one token bucket per key, at the clouds' documented rates.

A key names an account and an API (``clamp.providers.limits``); its rate comes from the
last part of the key, the API:

- ``arm`` — Azure Resource Manager throttles reads per subscription and principal with a
  token bucket of 250 requests refilled at 25 per second ("Understand how Azure Resource
  Manager throttles requests", learn.microsoft.com/azure/azure-resource-manager/management/
  request-limits-and-throttling).
- ``resource-graph`` is not paced by a fixed rate: Azure Resource Graph gives each user a
  quota ("for example, at most 15 queries within every 5-second window"; "the quota value is
  determined by many factors and is subject to change" — "Guidance for throttled requests in
  Azure Resource Graph") and says in every answer what is left (``x-ms-user-quota-remaining``,
  ``x-ms-user-quota-resets-after``); the driver holds the key back when nothing is
  (``clamp.providers.azure.clients.PacedCalls``), as that guidance does.

Keys of an API without a documented rate here are counted and honour ``Retry-After`` but
are not paced.

Calls made inside ``spare_calls()`` (an event's re-read of a resource Clamp re-read a
moment ago: most events are harmless writes) take a token only while a fifth of the bucket
would be left, so that the other calls — a fix, a re-read of a resource that changed for
the first time in a while — never queue behind them when a burst of events drains the
bucket. The calls a second stay the cloud's; only their order changes (within one
process: the workers' shared Redis budget takes every call alike).

A worker pool shares one budget across processes by passing its own
``CallBudget`` (Redis) where this one is built by default (``AzureClients(budget=...)``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """A token bucket's shape: ``per_second`` tokens refill a bucket of ``burst``."""

    per_second: float
    burst: float


RATES: Mapping[str, Rate] = {
    "arm": Rate(per_second=25.0, burst=250.0),
}
"""Rates by API (the key's last ``:``-part), from the documents named above."""
SPARE_SHARE = 0.2
"""The share of a bucket that calls made inside ``spare_calls`` leave to the others."""
_SPARE: ContextVar[bool] = ContextVar("clamp_spare_calls", default=False)


@contextmanager
def spare_calls() -> Iterator[None]:
    """Pace the calls made inside (in this thread) as calls that may wait for the others."""
    token = _SPARE.set(True)
    try:
        yield
    finally:
        _SPARE.reset(token)


@dataclass
class TokenBucket:
    """One key's bucket; ``take`` answers how long the caller must wait for its token."""

    rate: Rate | None
    tokens: float = 0.0
    stamp: float = 0.0
    not_before: float = 0.0
    """A ``Retry-After`` (or an exhausted quota) holds every call until then."""

    def __post_init__(self) -> None:
        self.tokens = self.rate.burst if self.rate else 0.0

    def take(self, now: float) -> float:
        """Reserve one token; the seconds until it may be used (0: at once)."""
        start = max(now, self.not_before)
        if self.rate is None:
            return start - now
        self._refill(start)
        self.tokens -= 1
        if self.tokens >= 0:
            return start - now
        return start - now + (-self.tokens) / self.rate.per_second

    def take_spare(self, now: float) -> float:
        """Take a token if ``SPARE_SHARE`` of the bucket is left after it (0: taken), else
        take none and answer how long to wait before asking again."""
        if self.not_before > now:
            return self.not_before - now
        if self.rate is None:
            return 0.0
        self._refill(now)
        keep = self.rate.burst * SPARE_SHARE
        if self.tokens - 1 >= keep - 1e-9:  # a refill's float error is no shortfall
            self.tokens -= 1
            return 0.0
        return (keep + 1 - self.tokens) / self.rate.per_second

    def _refill(self, now: float) -> None:
        if self.rate is not None and self.stamp:
            gained = (now - self.stamp) * self.rate.per_second
            self.tokens = min(self.rate.burst, self.tokens + gained)
        self.stamp = max(self.stamp, now)


@dataclass
class LocalBudget:
    """A thread-safe ``CallBudget`` for one process: a ``TokenBucket`` per key."""

    rates: Mapping[str, Rate] = field(default_factory=lambda: dict(RATES))
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def acquire(self, key: str) -> None:
        """Block until one call under ``key`` may go (its bucket has a token, no hold);
        inside ``spare_calls``, until one is to spare."""
        if not _SPARE.get():
            with self._lock:
                wait = self._bucket(key).take(self.clock())
            if wait > 0:
                self.sleep(wait)
            return
        while True:
            with self._lock:
                wait = self._bucket(key).take_spare(self.clock())
            if wait <= 0:
                return
            self.sleep(wait)

    def backoff(self, key: str, seconds: float) -> None:
        """Hold every call under ``key`` for ``seconds`` from now (a ``Retry-After``)."""
        with self._lock:
            bucket = self._bucket(key)
            bucket.not_before = max(bucket.not_before, self.clock() + max(seconds, 0.0))

    def _bucket(self, key: str) -> TokenBucket:
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(self.rates.get(key.rsplit(":", 1)[-1]))
        return self._buckets[key]

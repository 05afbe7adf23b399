"""Call budgets: how drivers pace their calls to a cloud and count them.

Every SDK call a driver makes asks its ``CallBudget`` first (``acquire``) under a key that
names the account and the API (``azure:<subscription>:arm``, ``azure:resource-graph``,
``gcp:<project>:compute``, ``gcp:<project>:cloudasset``); a 429 or a ``Retry-After`` tells
the budget to hold that key back (``backoff``). The in-process budget serves one process;
workers share one in Redis (``clamp.workers``). ``CallCounts`` is what a scan reports.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol


class CallBudget(Protocol):
    """Paces calls per key (an account and an API) to the cloud's documented limits."""

    def acquire(self, key: str) -> None:
        """Block until one call under ``key`` may go."""
        ...

    def backoff(self, key: str, seconds: float) -> None:
        """The cloud asked to wait ``seconds`` before the next call under ``key``."""
        ...


@dataclass
class CallCounts:
    """Calls made, retried and throttled, per API key; thread-safe to add to."""

    made: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def call(self, key: str, *, retry: bool = False, throttled: bool = False) -> None:
        """Count one call under ``key`` (a retry of an earlier one, or one answered 429)."""
        with self._lock:
            self.made[key] += 1
            if retry:
                self.retried[key] += 1
            if throttled:
                self.throttled[key] += 1

    def summary(self) -> str:
        """``N calls (R retried, T throttled)``, as a scan prints it."""
        made, retried, throttled = (
            sum(c.values()) for c in (self.made, self.retried, self.throttled)
        )
        return f"{made} calls ({retried} retried, {throttled} throttled)"

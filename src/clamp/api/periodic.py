"""A daemon thread that does one thing every few seconds while the service runs (the
scheduler's tick, the notification pump's pass), stopped with the service."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod


class Periodic(ABC):
    """Calls ``tick`` every ``interval`` seconds on a thread of its own, once ``start``-ed
    and only when ``active``; ``stop`` waits up to ``grace`` seconds for a tick in progress."""

    def __init__(self, name: str, interval: float, grace: float) -> None:
        self.interval = interval
        self.grace = grace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    @property
    @abstractmethod
    def active(self) -> bool:
        """Whether there is anything to do at all (else the thread never starts)."""

    @abstractmethod
    def tick(self) -> None:
        """One round of work; raising ends nothing but this round."""

    def start(self) -> None:
        """Start ticking (nothing happens when not ``active``)."""
        if self.active:
            self._thread.start()

    def stop(self) -> None:
        """Stop after the round in progress."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.grace)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

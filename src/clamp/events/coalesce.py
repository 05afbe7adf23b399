"""Events waiting for a worker, grouped by the resource their re-read reads: the first of a
group to start re-reads it once for all of them, since every event in the group arrived
before that re-read began (so it sees their changes). A burst of writes to one NSG — a
deployment, a flapping rule — then costs one re-read, not one per event, and takes one
worker (a worker is handed a turn per resource that starts to wait, not per event); events
that arrive while the re-read runs wait for the next one. Only in memory: after a crash
the events stored but not processed are processed one by one on start.

Turns go to news first: a resource Clamp has not re-read for ``FRESH_SECONDS`` (or never)
is re-read before the resources it re-read a moment ago, whatever their order of arrival,
and its re-read's calls go before theirs at the cloud (``Turn.fresh``: the others are made
as ``spare_calls``, ``clamp.providers.pacing``). So when a burst of harmless writes to a
few busy resources fills the queue and the cloud's call budget, the first change to a
quiet one — an SSH port opened on an NSG nobody touched all day — does not wait behind
them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from clamp.events.record import CloudEvent

FRESH_SECONDS = 60.0
"""How long after its last re-read a resource's next change counts as news."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One re-read: of ``key``, for ``event`` and the events it ``covers`` (received
    before it began, on the same resource); ``fresh`` when the resource was not re-read in
    the last ``FRESH_SECONDS``."""

    key: str
    event: str
    covers: list[str]
    fresh: bool


class Coalescer:
    """The waiting events of each re-read key (``key`` of an event: the resource Clamp
    evaluates that holds the changed object), fresh ones first."""

    def __init__(
        self, key: Callable[[CloudEvent], str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.key = key
        self.clock = clock
        self._fresh: dict[str, list[str]] = {}
        self._again: dict[str, list[str]] = {}
        """Waiting events by key, in the order their keys began to wait."""
        self._read: dict[str, float] = {}
        """When each key's last re-read began (in the last ``FRESH_SECONDS`` or so)."""
        self._pruned = clock()
        self._lock = threading.Lock()

    def add(self, event: CloudEvent) -> bool | None:
        """Note that ``event`` waits. None when its key was waiting already (the re-read
        of that key's turn serves it too); else a turn is due, and whether it is fresh."""
        key = self.key(event)
        with self._lock:
            for waiting in (self._fresh, self._again):
                if key in waiting:
                    waiting[key].append(event.id)
                    return None
            last = self._read.get(key)
            news = last is None or self.clock() - last >= FRESH_SECONDS
            (self._fresh if news else self._again)[key] = [event.id]
            return news

    def next(self, fresh: bool | None = None) -> Turn | None:
        """The re-read to make now: the key waiting longest among the fresh ones (with
        ``fresh`` None: else among the others; True or False: of those only); None when
        none waits."""
        with self._lock:
            if fresh is None:
                waiting = self._fresh or self._again
            else:
                waiting = self._fresh if fresh else self._again
            if not waiting:
                return None
            key = next(iter(waiting))
            events = list(dict.fromkeys(waiting.pop(key)))
            now = self.clock()
            if now - self._pruned >= FRESH_SECONDS:  # forget what is news again by now
                self._read = {k: t for k, t in self._read.items() if now - t < FRESH_SECONDS}
                self._pruned = now
            self._read[key] = now
        return Turn(key, events[0], events[1:], waiting is self._fresh)

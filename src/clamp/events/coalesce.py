"""Events waiting for a worker, grouped by the resource their re-read reads: the first of a
group to start re-reads it once for all of them, since every event in the group arrived
before that re-read began (so it sees their changes). A burst of writes to one NSG — a
deployment, a flapping rule — then costs one re-read, not one per event, and takes one
worker (only the first of a group to wait is handed to one); events that arrive while the
re-read runs wait for the next one. Only in memory: after a crash the
events stored but not processed are processed one by one on start."""

from __future__ import annotations

import threading
from collections.abc import Callable

from clamp.events.record import CloudEvent


class Coalescer:
    """The waiting events of each re-read key (``key`` of an event: the resource Clamp
    evaluates that holds the changed object)."""

    def __init__(self, key: Callable[[CloudEvent], str]) -> None:
        self.key = key
        self._waiting: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def add(self, event: CloudEvent) -> tuple[str, bool]:
        """Note that ``event`` waits; its key, and whether it is the first of its key to
        wait (the others are served by the re-read that first one starts, so they need no
        worker of their own)."""
        key = self.key(event)
        with self._lock:
            waiting = self._waiting.setdefault(key, [])
            waiting.append(event.id)
        return key, len(waiting) == 1

    def take(self, key: str, event_id: str) -> list[str] | None:
        """When ``event_id`` starts: the other events its re-read covers, or None when an
        earlier start already covered it."""
        with self._lock:
            waiting = self._waiting.get(key, [])
            if event_id not in waiting:
                return None
            del self._waiting[key]
        return [i for i in dict.fromkeys(waiting) if i != event_id]

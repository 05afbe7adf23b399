"""Group commit: the items of callers that arrive while a write runs are written together
by the next one, in one transaction, instead of one transaction each.

A caller queues its items and waits for the writer's turn; whoever gets the turn writes
everything queued by then (its own items, and those of every caller that waits behind
it) and hands each caller its share of the results. A lone caller writes at once, so
nothing waits for a batch to fill; under load, the writes of concurrent deliveries share
one ``BEGIN`` and one ``COMMIT`` (each transaction costs about the same however few
statements it runs). Every caller returns only once its items are committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False, slots=True)
class _Ticket(Generic[T, R]):
    items: Sequence[T]
    results: list[R] = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """``write(items) -> results`` (one result per item, in order), shared by concurrent
    callers."""

    def __init__(self, write: Callable[[list[T]], list[R]]) -> None:
        self._write = write
        self._queue: list[_Ticket[T, R]] = []
        self._queued = threading.Lock()
        self._turn = threading.Lock()

    def __call__(self, items: Sequence[T]) -> list[R]:
        """Write ``items`` (with whatever else is queued); their results, once committed."""
        if not items:
            return []
        ticket: _Ticket[T, R] = _Ticket(items)
        with self._queued:
            self._queue.append(ticket)
        with self._turn:
            if not ticket.done:  # nobody wrote it while this caller waited: write all queued
                with self._queued:
                    batch, self._queue = self._queue, []
                self._run(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.results

    def _run(self, batch: list[_Ticket[T, R]]) -> None:
        try:
            results = self._write([item for ticket in batch for item in ticket.items])
        except BaseException as exc:  # every caller of the batch sees the failure
            for ticket in batch:
                ticket.error, ticket.done = exc, True
            raise
        start = 0
        for ticket in batch:
            ticket.results = results[start : start + len(ticket.items)]
            ticket.done, start = True, start + len(ticket.items)

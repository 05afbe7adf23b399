"""Bulk builds with the cyclic collector paused: it runs again afterwards, and garbage
cycles built during the pause are still collected (they are moved, not frozen)."""

from __future__ import annotations

import gc
import threading
import weakref

from clamp.bulk import paused_gc


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_cycles_built_while_paused_are_collected_afterwards() -> None:
    with paused_gc():
        assert not gc.isenabled()
        first, second = _Node(), _Node()
        first.other, second.other = second, first  # a cycle only the collector frees
        watch = weakref.ref(first)
        del first, second
        assert watch() is not None
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0

    gc.collect()
    assert watch() is None


def test_the_collector_stays_paused_until_the_last_overlapping_pause_ends() -> None:
    """Two threads' pauses overlap (a scan's collection and a normalization in a driver's
    thread): the first to end must not restart the collector under the other."""
    inner_started, outer_ended = threading.Event(), threading.Event()
    seen: list[bool] = []

    def inner() -> None:
        with paused_gc():
            inner_started.set()
            outer_ended.wait(5)
            seen.append(gc.isenabled())

    worker = threading.Thread(target=inner)
    with paused_gc():
        worker.start()
        inner_started.wait(5)
    outer_ended.set()
    worker.join(5)
    assert seen == [False]
    assert gc.isenabled()

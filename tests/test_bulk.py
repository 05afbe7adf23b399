"""Bulk builds with the cyclic collector paused: it runs again afterwards, and garbage
cycles built during the pause are still collected (they are moved, not frozen)."""

from __future__ import annotations

import gc
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

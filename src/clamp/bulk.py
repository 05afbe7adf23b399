"""Helpers for building many small objects at once (normalizing and evaluating estates)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from sys import intern
from typing import Any

_PAUSES = threading.Lock()
_paused = 0
"""How many ``paused_gc`` blocks are open, in any thread (the collector is process-wide)."""
_was_enabled = True
"""Whether the collector ran before the first open block began."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector during a bulk, cycle-free build of many objects.

    Normalizing or evaluating a large estate allocates millions of small acyclic objects;
    CPython's generational collector would rescan them over and over (about half the time).
    Collecting holds every thread (a full collection over a scan's parsed pages took 0.7-1.6
    s, in which no call's answer was read). On the way out they go straight to the oldest
    generation (``freeze`` then ``unfreeze`` splice the lists): else the first allocation
    after ``enable`` collects the youngest generation, which then holds every object built
    (0.5 s per 100k resources), and the next older one holds them again. Blocks may nest and
    overlap across threads: the collector runs again when the last one ends, if it ran
    before the first began."""
    global _paused, _was_enabled
    with _PAUSES:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _PAUSES:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.freeze()
                gc.unfreeze()
                gc.enable()


def shared(values: Iterable[Any]) -> tuple[Any, ...]:
    """``values`` as a tuple, each string in it interned: the names, sources, tags and ids
    that a million resources repeat are then one string each (other values as they are);
    a tuple of strings many resources hold alike (a network, a tag) is one tuple."""
    out = tuple(values)
    if len(out) <= 4:
        try:
            known = _TUPLES.get(out)
        except TypeError:  # a value that is no string (malformed input): as it is
            return out
        if known is not None:
            return known
    out = tuple([intern(v) if type(v) is str else v for v in out])
    if len(out) <= 4 and all(type(v) is str for v in out):
        if len(_TUPLES) >= 65_536:  # a bound for long-running processes
            _TUPLES.clear()
        _TUPLES[out] = out
    return out


_TUPLES: dict[tuple[Any, ...], tuple[Any, ...]] = {}

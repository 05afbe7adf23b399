"""Port-range arithmetic shared by the exposure engine and the planners.

``merge`` normalizes any ranges (sorted, non-overlapping, non-adjacent); ``intersect``
and ``subtract`` take normalized tuples (what the normalizers produce) and return
normalized tuples in one linear sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from operator import attrgetter

from clamp.errors import InputError
from clamp.model import ALL_PORTS, ALL_PORTS_MAX, PortRange

_BOUNDS = attrgetter("lo", "hi")


def merge(ranges: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Sorted, non-overlapping, non-adjacent ranges covering the same ports."""
    out: list[PortRange] = []
    for r in sorted(ranges, key=_BOUNDS):  # as PortRange orders them, at C speed
        if out and r.lo <= out[-1].hi + 1:
            if r.hi > out[-1].hi:
                out[-1] = PortRange(out[-1].lo, r.hi)
        else:
            out.append(r)
    return tuple(out)


def intersect(a: tuple[PortRange, ...], b: tuple[PortRange, ...]) -> tuple[PortRange, ...]:
    """Ports in both normalized ``a`` and ``b``."""
    out: list[PortRange] = []
    i = j = 0
    while i < len(a) and j < len(b):
        x, y = a[i], b[j]
        lo, hi = max(x.lo, y.lo), min(x.hi, y.hi)
        if lo <= hi:
            out.append(
                x
                if (lo, hi) == (x.lo, x.hi)
                else y
                if (lo, hi) == (y.lo, y.hi)
                else PortRange(lo, hi)
            )
        if x.hi < y.hi:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(a: tuple[PortRange, ...], b: tuple[PortRange, ...]) -> tuple[PortRange, ...]:
    """Ports in normalized ``a`` but not in normalized ``b``."""
    out: list[PortRange] = []
    j = 0
    for x in a:
        lo = x.lo
        while j < len(b) and b[j].hi < lo:
            j += 1
        k = j
        while k < len(b) and b[k].lo <= x.hi:
            if b[k].lo > lo:
                out.append(PortRange(lo, b[k].lo - 1))
            lo = max(lo, b[k].hi + 1)
            k += 1
        if lo <= x.hi:
            out.append(x if lo == x.lo else PortRange(lo, x.hi))
    return tuple(out)


def is_all(ranges: Iterable[PortRange]) -> bool:
    """Whether ``ranges`` cover every port."""
    return merge(ranges) == (PortRange(0, ALL_PORTS_MAX),)


def parse_ranges(values: Iterable[object]) -> tuple[PortRange, ...]:
    """Port strings as the clouds write them (``22``, ``20-25``, ``*``) as merged ranges.

    ``*`` means every port; anything else malformed is an ``InputError`` naming it."""
    return _parse_ranges(tuple(str(v).strip() for v in values))


@lru_cache(maxsize=4096)
def _parse_ranges(values: tuple[str, ...]) -> tuple[PortRange, ...]:
    ranges = []
    for text in values:
        if text == "*":
            return ALL_PORTS
        lo, dash, hi = text.partition("-")
        try:
            if dash and not hi:
                raise ValueError(text)
            ranges.append(PortRange(int(lo), int(hi or lo)))
        except ValueError:
            raise InputError(f"invalid port range {text!r} (expected 22, 20-25 or *)") from None
    return merge(ranges)

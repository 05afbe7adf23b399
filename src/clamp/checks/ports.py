"""Port-range arithmetic shared by the exposure engine and the planners."""

from __future__ import annotations

from collections.abc import Iterable

from clamp.model import ALL_PORTS_MAX, PortRange


def merge(ranges: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Sorted, non-overlapping, non-adjacent ranges covering the same ports."""
    out: list[PortRange] = []
    for r in sorted(ranges):
        if out and r.lo <= out[-1].hi + 1:
            if r.hi > out[-1].hi:
                out[-1] = PortRange(out[-1].lo, r.hi)
        else:
            out.append(r)
    return tuple(out)


def intersect(a: Iterable[PortRange], b: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Ports in both ``a`` and ``b``."""
    left, right = merge(a), merge(b)
    out = []
    for x in left:
        for y in right:
            lo, hi = max(x.lo, y.lo), min(x.hi, y.hi)
            if lo <= hi:
                out.append(PortRange(lo, hi))
    return merge(out)


def subtract(a: Iterable[PortRange], b: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Ports in ``a`` but not in ``b``."""
    out = list(merge(a))
    for y in merge(b):
        nxt = []
        for x in out:
            if y.hi < x.lo or y.lo > x.hi:
                nxt.append(x)
                continue
            if x.lo < y.lo:
                nxt.append(PortRange(x.lo, y.lo - 1))
            if y.hi < x.hi:
                nxt.append(PortRange(y.hi + 1, x.hi))
        out = nxt
    return tuple(out)


def is_all(ranges: Iterable[PortRange]) -> bool:
    """Whether ``ranges`` cover every port."""
    merged = merge(ranges)
    return merged == (PortRange(0, ALL_PORTS_MAX),)

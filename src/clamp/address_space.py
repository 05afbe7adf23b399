"""How much of the public internet a set of address ranges admits (pure, model-level).

One notion, used by ``restrict_ingress``'s and ``restrict_database_access``'s ``allow``
refusals and by the managed-database check, so a range Clamp refuses to allow is exactly a
range it reports as the internet: **a set of ranges is "the internet" when, together, it
covers more public addresses than one /8 does (16,777,216 IPv4 addresses)** — e.g.
``0.0.0.0/0``, a public ``/7``, or ``0.0.0.0/1`` with ``128.0.0.0/1``. Public means outside
the IANA special-purpose blocks (private, loopback, link-local, CGNAT, documentation,
multicast, reserved). IPv6 ranges count by prefix: wider than ``/16`` outside private space.

Ranges are handled as sorted, merged ``(lo, hi)`` integer spans, never address by address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

MIN_PREFIX = {4: 8, 6: 16}
"""The widest prefix length that still names a network rather than a slice of the internet,
per IP version."""
INTERNET_THRESHOLD = 1 << (32 - MIN_PREFIX[4])
"""Public IPv4 addresses above which a set of ranges admits "the internet"."""

# IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates), the blocks no host on
# the internet connects from.
SPECIAL_PURPOSE = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)

Spans = tuple[tuple[int, int], ...]


def merged(spans: Iterable[tuple[int, int]]) -> Spans:
    """Sorted, merged ``(lo, hi)`` pairs (adjacent and overlapping ones joined): address
    ranges here, port ranges in ``clamp.exposure``."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def cidr_span(cidr: str) -> tuple[int, int]:
    """The first and last IPv4 address of ``cidr`` (or of a bare address) as integers;
    ``ValueError`` for anything else (IPv6 included)."""
    network = ipaddress.ip_network(cidr.strip(), strict=False)
    if network.version != 4:
        raise ValueError(f"{cidr!r} is not an IPv4 network")
    return int(network.network_address), int(network.broadcast_address)


def address_span(start: str, end: str) -> tuple[int, int]:
    """An IPv4 ``start``-``end`` range (as Azure firewall rules write it) as integers;
    ``ValueError`` when either is not an IPv4 address or start comes after end."""
    lo, hi = int(ipaddress.IPv4Address(start.strip())), int(ipaddress.IPv4Address(end.strip()))
    if lo > hi:
        raise ValueError(f"{start} comes after {end}")
    return lo, hi


def span_text(lo: int, hi: int) -> str:
    """A span in a user's words: a CIDR when it is one, else ``start-end``."""
    first, last = ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi)
    networks = list(ipaddress.summarize_address_range(first, last))
    return str(networks[0]) if len(networks) == 1 else f"{first}-{last}"


_SPECIAL = merged(cidr_span(c) for c in SPECIAL_PURPOSE)


def public_addresses(spans: Iterable[tuple[int, int]]) -> int:
    """How many public IPv4 addresses the spans cover together (overlaps counted once)."""
    total = 0
    for lo, hi in merged(spans):
        size = hi - lo + 1
        for s_lo, s_hi in _SPECIAL:
            overlap = min(hi, s_hi) - max(lo, s_lo) + 1
            if overlap > 0:
                size -= overlap
        total += size
    return total


PUBLIC_IPV4 = public_addresses([(0, (1 << 32) - 1)])


def is_internet_wide(spans: Iterable[tuple[int, int]]) -> bool:
    """Whether the spans together admit "the internet" (module docstring)."""
    return public_addresses(spans) > INTERNET_THRESHOLD


def share_of_internet(spans: Iterable[tuple[int, int]]) -> str:
    """The public IPv4 space the spans cover, in words: ``100% of public IPv4``."""
    share = public_addresses(spans) / PUBLIC_IPV4 * 100
    return f"{share:.0f}% of public IPv4" if share >= 1 else f"{share:.2g}% of public IPv4"

"""What both clouds' ingress planners share: sources, CIDR params, port strings."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from clamp.checks.exposure import is_internet
from clamp.errors import InputError
from clamp.model import ALL_PORTS_MAX, PortRange


def allowed_cidrs(params: Mapping[str, Any]) -> list[str]:
    """The ``allow`` parameter: CIDRs that keep access, validated."""
    unknown = set(params) - {"allow"}
    if unknown:
        raise InputError(
            f"unknown parameter(s) {sorted(unknown)} for restrict_ingress; valid: allow"
        )
    raw = params.get("allow") or []
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise InputError("'allow' must be a list of CIDRs")
    cidrs = []
    for value in raw:
        try:
            network = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise InputError(f"--allow {value!r} is not a CIDR (e.g. 10.0.0.0/8)") from None
        if network.prefixlen == 0:
            raise InputError(f"--allow {value!r} is the whole internet; name a narrower range")
        cidrs.append(str(network))
    return cidrs


def keep_sources(sources: Iterable[str], allow: Iterable[str]) -> list[str]:
    """The rule's non-internet sources followed by the allowed CIDRs, without repeats."""
    out: list[str] = []
    for source in [*sources, *allow]:
        if not is_internet(source) and source not in out:
            out.append(source)
    return out


def port_strings(ranges: Iterable[PortRange], *, star: bool) -> list[str]:
    """Ports as the clouds write them: ``22``, ``20-25``; ``*`` for all when ``star``."""
    ranges = list(ranges)
    if star and ranges == [PortRange(0, ALL_PORTS_MAX)]:
        return ["*"]
    return [str(r) for r in ranges]


def parse_port(text: str) -> PortRange:
    """``22``, ``20-25`` or ``*`` as a range."""
    text = text.strip()
    if text in ("*", ""):
        return PortRange(0, ALL_PORTS_MAX)
    lo, _, hi = text.partition("-")
    return PortRange(int(lo), int(hi or lo))

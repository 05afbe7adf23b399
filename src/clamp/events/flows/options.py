"""The ``[flows]`` settings correlation reads: who counts as whom, the signal thresholds,
and how far back a network plan's preview looks.

    [flows]
    organization_ranges = ["10.0.0.0/8", "203.0.113.0/24"]
    threat_lists = ["/etc/clamp/blocklist.txt", "https://example.org/drop.txt"]
    cloud_ranges = ["ServiceTags_Public.json", "https://www.gstatic.com/ipranges/cloud.json"]
    window = "24h"          # signals look this far back
    preview_days = 14       # a plan's blast radius looks this far back
    many_sources = 20       # distinct external sources for many-to-one
    one_source_flows = 100  # flows from one source for one-to-one volume
    failures = 10           # failed attempts before a success counts
    session_bytes = 20000   # bytes a flow averages to count as a session, not an attempt
    fan_out = 10            # distinct 22/3389 destinations after exposure
    spike_factor = 10       # outbound bytes in a bucket against the median before
    allow_observed_max = 100
    [flows.partners]
    acme = ["198.51.100.0/24"]

Keys of ``[flows]`` that ingestion owns (retention, storage accounts) are left to it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from clamp.errors import ConfigError, InputError
from clamp.fields import parse_duration

COUNTS = (
    "preview_days",
    "many_sources",
    "one_source_flows",
    "failures",
    "session_bytes",
    "fan_out",
    "spike_factor",
    "allow_observed_max",
)
SIGNAL_FIELDS = (
    "organization_ranges",
    "threat_lists",
    "cloud_ranges",
    "partners",
    "window",
    *COUNTS,
)
"""The ``[flows]`` keys correlation owns (ingestion checks the table as a whole)."""


@dataclass(frozen=True)
class FlowOptions:
    """What correlation is told: ranges per class, list locations and thresholds."""

    organization_ranges: tuple[str, ...] = ()
    partners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    threat_lists: tuple[str, ...] = ()
    """Files or http(s) URLs of IPs/CIDRs, one a line (``#`` comments)."""
    cloud_ranges: tuple[str, ...] = ()
    """Files or URLs: Azure's Service Tags JSON, Google's ``cloud.json``, or plain lists."""
    window: timedelta = timedelta(hours=24)
    preview_days: int = 14
    many_sources: int = 20
    one_source_flows: int = 100
    failures: int = 10
    session_bytes: int = 20_000
    fan_out: int = 10
    spike_factor: int = 10
    allow_observed_max: int = 100

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> FlowOptions:
        """The ``[flows]`` table; entries checked, ingestion's own keys ignored."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: flows: a table")
        kwargs: dict[str, Any] = {}
        for key in ("organization_ranges", "threat_lists", "cloud_ranges"):
            if key in data:
                kwargs[key] = _strings(data[key], f"{where}: flows.{key}")
        kwargs["organization_ranges"] = tuple(
            _cidr(c, f"{where}: flows.organization_ranges")
            for c in kwargs.get("organization_ranges", ())
        )
        partners = data.get("partners", {})
        if not isinstance(partners, Mapping):
            raise ConfigError(f"{where}: flows.partners: a table of NAME = [CIDRs]")
        kwargs["partners"] = {
            str(name): tuple(
                _cidr(c, f"{where}: flows.partners.{name}")
                for c in _strings(cidrs, f"{where}: flows.partners.{name}")
            )
            for name, cidrs in partners.items()
        }
        if "window" in data:
            try:
                kwargs["window"] = parse_duration(data["window"], f"{where}: flows.window")
            except InputError as exc:
                raise ConfigError(str(exc)) from None
        for key in COUNTS:
            if key in data:
                value = data[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise ConfigError(f"{where}: flows.{key}: a whole number of at least 1")
                kwargs[key] = value
        return cls(**kwargs)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: a list of strings")
    return tuple(value)


def _cidr(value: str, where: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not an IP address or CIDR") from None

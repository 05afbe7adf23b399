"""The records flow-log ingestion and correlation share.

A driver parses a cloud's flow-log format into ``FlowTuple`` records (never stored); the
ingester folds them into ``FlowAggregate`` rows (one per destination, port, protocol,
source, rule, decision and time bucket), which is all that is kept. Correlation (signals on
exposed resources, the blast radius of a network plan) reads aggregates and the logging
``Coverage`` through a ``FlowHistory``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from clamp.model import Direction, Provider


class FlowDecision(StrEnum):
    """What the deciding rule did with a flow."""

    ALLOWED = "allowed"
    DENIED = "denied"


class SourceClass(StrEnum):
    """Who a flow came from, as signals and previews group them."""

    INTERNET = "internet"
    ORGANIZATION = "organization"
    PARTNER = "partner"
    CLOUD = "cloud"
    THREAT = "threat"


@dataclass(frozen=True, slots=True)
class FlowTuple:
    """One flow record as a cloud logged it (a VNet flow tuple, a VPC Flow Logs or
    Firewall Rules Logging entry), in Clamp's words."""

    provider: Provider
    time: datetime
    source: str
    destination: str
    source_port: int | None
    port: int | None
    protocol: str
    """``tcp``, ``udp``, ``icmp`` or the IANA protocol number as text."""
    direction: Direction
    decision: FlowDecision
    rule: str | None
    """The rule that decided (an NSG rule name, a firewall rule reference), when logged."""
    resource_id: str | None
    """The NIC, VM or instance the flow was logged for, when the log names it."""
    state: str | None = None
    """Azure's flow state (B begin, C continuing, E end, D denied); None on GCP."""
    bytes_sent: int = 0
    """Source to destination."""
    bytes_received: int = 0
    packets_sent: int = 0
    packets_received: int = 0


@dataclass(frozen=True, slots=True)
class FlowAggregate:
    """Flows folded per destination, port, protocol, source, rule, decision and bucket."""

    provider: Provider
    resource_id: str | None
    destination: str
    port: int | None
    protocol: str
    source: str
    direction: Direction
    rule: str | None
    decision: FlowDecision
    bucket: datetime
    """Start of the time bucket (UTC)."""
    flows: int
    bytes_sent: int
    bytes_received: int
    packets_sent: int
    packets_received: int
    first_seen: datetime
    last_seen: datetime

    @property
    def reached(self) -> bool:
        """Traffic went both ways: the destination answered."""
        return self.bytes_received > 0 or self.packets_received > 0


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the logs could see over a window; absence of flows is not proof of no traffic."""

    since: datetime
    until: datetime
    logged: Sequence[str] = ()
    """Resources (NICs, subnets, VNets, VMs, instances) with flow logging on for the window."""
    unlogged: Sequence[str] = ()
    """Resources asked about that had no logging, or not for the whole window."""
    notes: Sequence[str] = field(default_factory=tuple)
    """Caveats: GCP sampling rate, firewall-logging caps per VM, gaps."""


class FlowHistory(Protocol):
    """Where correlation reads kept flows from (the store, or a list in tests)."""

    def observed(
        self,
        *,
        since: datetime,
        destinations: Collection[str] | None = None,
        resource_ids: Collection[str] | None = None,
        direction: Direction | None = Direction.INGRESS,
    ) -> list[FlowAggregate]:
        """Aggregates since ``since`` to these destination IPs or resources (all if None)."""
        ...

    def coverage(self, *, since: datetime, resource_ids: Collection[str]) -> Coverage:
        """Which of ``resource_ids`` had flow logging on since ``since``."""
        ...

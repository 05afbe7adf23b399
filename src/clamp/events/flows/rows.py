"""The flat row the drivers' flow-log parsers yield on the ingest path.

A ``FlowTuple`` is the record the rest of Clamp reads; building a frozen dataclass per
tuple costs more than parsing it, so the parsers yield plain tuples in ``FlowTuple``'s
field order (time in epoch milliseconds) and ``flow_tuple`` turns one into the record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from clamp.events.flows.model import FlowDecision, FlowTuple
from clamp.model import Direction, Provider

FlowRow = tuple[
    int,  # time, epoch milliseconds
    str,  # source IP
    str,  # destination IP
    int | None,  # source port
    int | None,  # destination port
    str,  # protocol: tcp, udp, icmp or the IANA number
    Direction,
    FlowDecision,
    str | None,  # the rule that decided
    str | None,  # the NIC, VM or instance the log names (None: resolve from inventory)
    str | None,  # Azure's flow state B, C, E, D
    int,  # bytes source → destination
    int,  # bytes destination → source
    int,  # packets source → destination
    int,  # packets destination → source
]

PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}
"""IANA protocol numbers by name where Clamp's rules name them (58 is ICMPv6)."""


def protocol_name(number: str) -> str:
    """``tcp``, ``udp``, ``icmp``, else the number as logged."""
    return PROTOCOLS.get(number, number)


def flow_tuple(provider: Provider, row: FlowRow) -> FlowTuple:
    """The ``FlowTuple`` record of one row."""
    ms, src, dst, sport, port, proto, direction, decision, rule, resource, state = row[:11]
    return FlowTuple(
        provider=provider,
        time=datetime.fromtimestamp(ms / 1000, UTC),
        source=src,
        destination=dst,
        source_port=sport,
        port=port,
        protocol=proto,
        direction=direction,
        decision=decision,
        rule=rule,
        resource_id=resource,
        state=state,
        bytes_sent=row[11],
        bytes_received=row[12],
        packets_sent=row[13],
        packets_received=row[14],
    )

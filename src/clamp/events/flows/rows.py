"""The flat row the drivers' flow-log parsers yield on the ingest path.

A ``FlowTuple`` is the record the rest of Clamp reads; building a frozen dataclass per
tuple costs more than parsing it, so the parsers yield plain tuples in ``FlowTuple``'s
field order (time in epoch milliseconds) and ``flow_tuple`` turns one into the record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from clamp.errors import InputError
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


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """How a cloud writes flow tuples as comma-separated text. Columns 0 to 6 are time,
    source IP, destination IP, source port, destination port, protocol and direction
    (``I``/``O``); ``denied`` is the column that holds ``D`` for a refused flow."""

    width: int
    ms_per_unit: int
    protocols: Mapping[str, str]
    denied: int
    state: int
    counts: tuple[int, int, int, int]
    """Columns of bytes sent, bytes received, packets sent, packets received."""


class TupleGroup(NamedTuple):
    """Flow tuples of one layout that share the deciding rule and the logged resource (a
    named tuple: one is made per record and rule, and a frozen dataclass costs twice as
    much to build)."""

    layout: CsvLayout
    rule: str | None
    resource: str | None
    tuples: Sequence[str]


def group_rows(group: TupleGroup, where: str) -> Iterator[FlowRow]:
    """The rows of a group's tuples (``InputError`` naming ``where`` for a bad one)."""
    layout = group.layout
    bs, br, ps, pr = layout.counts
    for text in group.tuples:
        f = text.split(",")
        try:
            if len(f) != layout.width or f[6] not in ("I", "O"):
                raise ValueError(text)
            yield (
                int(f[0]) * layout.ms_per_unit,
                f[1],
                f[2],
                int(f[3]) if f[3] else None,
                int(f[4]) if f[4] else None,
                layout.protocols.get(f[5]) or f[5],
                Direction.INGRESS if f[6] == "I" else Direction.EGRESS,
                FlowDecision.DENIED if f[layout.denied] == "D" else FlowDecision.ALLOWED,
                group.rule,
                group.resource,
                f[layout.state] or None,
                int(f[bs] or 0),
                int(f[br] or 0),
                int(f[ps] or 0),
                int(f[pr] or 0),
            )
        except ValueError:
            raise InputError(f"{where}: malformed flow tuple {text[:80]!r}") from None

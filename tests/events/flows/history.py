"""An in-memory ``FlowHistory`` over ``FlowAggregate``s, and a builder for them (tests)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from clamp.events.flows.model import Coverage, FlowAggregate, FlowDecision
from clamp.model import Direction, Provider

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
"""Tests build flows relative to the real clock: a plan preview looks back from now."""


def flow(
    source: str,
    destination: str = "10.0.0.4",
    port: int = 22,
    *,
    resource: str | None = None,
    flows: int = 1,
    decision: FlowDecision = FlowDecision.ALLOWED,
    direction: Direction = Direction.INGRESS,
    bytes_sent: int = 2_000,
    bytes_received: int = 2_000,
    ago: timedelta = timedelta(hours=1),
    protocol: str = "tcp",
    provider: Provider = Provider.AZURE,
) -> FlowAggregate:
    """One aggregate ``ago`` before ``NOW`` (bucket = that hour)."""
    at = NOW - ago
    return FlowAggregate(
        provider=provider,
        resource_id=resource,
        destination=destination,
        port=port,
        protocol=protocol,
        source=source,
        direction=direction,
        rule=None,
        decision=decision,
        bucket=at.replace(minute=0, second=0, microsecond=0),
        flows=flows,
        bytes_sent=bytes_sent * flows,
        bytes_received=bytes_received * flows if decision == FlowDecision.ALLOWED else 0,
        packets_sent=flows,
        packets_received=flows if decision == FlowDecision.ALLOWED and bytes_received else 0,
        first_seen=at,
        last_seen=at,
    )


class ListHistory:
    """Aggregates in a list; ``observed`` matches destination OR resource id."""

    def __init__(self, flows: Sequence[FlowAggregate], logged: Collection[str] = ()) -> None:
        self.flows = list(flows)
        self.logged = {i.lower() for i in logged}

    def observed(
        self,
        *,
        since: datetime,
        destinations: Collection[str] | None = None,
        resource_ids: Collection[str] | None = None,
        direction: Direction | None = Direction.INGRESS,
    ) -> list[FlowAggregate]:
        """Aggregates since ``since`` to these destinations or resources."""
        ids = {i.lower() for i in resource_ids or ()}
        return [
            f
            for f in self.flows
            if f.last_seen >= since
            and (direction is None or f.direction == direction)
            and (
                (destinations is None and resource_ids is None)
                or (destinations is not None and f.destination in destinations)
                or (f.resource_id is not None and f.resource_id.lower() in ids)
            )
        ]

    def coverage(self, *, since: datetime, resource_ids: Collection[str]) -> Coverage:
        """Logged: the ids given at construction."""
        return Coverage(
            since=since,
            until=NOW,
            logged=tuple(i for i in resource_ids if i.lower() in self.logged),
            unlogged=tuple(i for i in resource_ids if i.lower() not in self.logged),
        )

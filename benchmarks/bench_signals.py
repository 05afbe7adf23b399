"""Correlation speed: signals and ``details.observed`` for a day of aggregated flows.

``python benchmarks/bench_signals.py [--vms 1000] [--sources 20]`` builds one exposure
finding per VM (SSH open to the internet, as the check writes it) and a day of hourly
aggregates per VM (``--sources`` external sources an hour, one brute-forcing source, some
internal traffic and outbound flows), held in an in-memory history indexed by resource,
and a classifier with a 10,000-entry threat list. It prints aggregates correlated a second,
signals fired, and classifier lookups a second. Nothing here is timed by a test.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from clamp.events.flows.classify import Classifier
from clamp.events.flows.correlate import correlate
from clamp.events.flows.model import Coverage, FlowAggregate, FlowDecision
from clamp.events.flows.options import FlowOptions
from clamp.model import Direction, Finding, Provider, Severity

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


class IndexedHistory:
    """Aggregates by resource id (what a store's index gives)."""

    def __init__(self) -> None:
        self.by_resource: dict[str, list[FlowAggregate]] = defaultdict(list)

    def observed(
        self,
        *,
        since: datetime,
        destinations: Collection[str] | None = None,
        resource_ids: Collection[str] | None = None,
        direction: Direction | None = Direction.INGRESS,
    ) -> list[FlowAggregate]:
        out = []
        for rid in resource_ids or ():
            out += [
                f
                for f in self.by_resource.get(rid, ())
                if f.last_seen >= since and (direction is None or f.direction == direction)
            ]
        return out

    def coverage(self, *, since: datetime, resource_ids: Collection[str]) -> Coverage:
        return Coverage(since, NOW, logged=tuple(resource_ids))


def aggregate(
    vm: str,
    source: str,
    dest: str,
    port: int,
    hour: int,
    flows: int,
    direction: Direction = Direction.INGRESS,
) -> FlowAggregate:
    at = NOW - timedelta(hours=hour)
    return FlowAggregate(
        Provider.AZURE,
        vm,
        dest,
        port,
        "tcp",
        source,
        direction,
        "r",
        FlowDecision.ALLOWED,
        at,
        flows,
        3000 * flows,
        3000 * flows,
        flows,
        flows,
        at,
        at,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=20)
    args = parser.parse_args()
    history = IndexedHistory()
    findings = []
    for n in range(args.vms):
        vm = f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm{n}"
        dest = f"10.{n // 250}.{n % 250}.4"
        findings.append(
            Finding(
                "exposed-admin-port",
                Provider.AZURE,
                f"/nsg/{n}",
                "s",
                Severity.HIGH,
                "SSH open",
                {
                    "ports": ["22"],
                    "protocols": ["tcp"],
                    "reaches": [{"vm": vm, "addresses": [dest]}],
                },
            )
        )
        rows = history.by_resource[vm]
        for hour in range(24):
            rows += [
                aggregate(vm, f"45.{n % 200}.{hour}.{s}", dest, 22, hour, 2)
                for s in range(args.sources)
            ]
            rows.append(aggregate(vm, "185.220.101.7", dest, 22, hour, 40))
            rows.append(aggregate(vm, f"10.9.{hour}.1", dest, 22, hour, 5))
            rows.append(aggregate(vm, dest, "8.8.8.8", 443, hour, 3, Direction.EGRESS))
    total = sum(len(r) for r in history.by_resource.values())
    threats = [f"185.{a}.{b}.0/24" for a in range(200, 240) for b in range(250)]
    classifier = Classifier(organization=["81.2.69.0/24"], threats=threats)

    started = time.perf_counter()
    done = correlate(findings, history, classifier, FlowOptions(), NOW)
    elapsed = time.perf_counter() - started
    print(
        f"{args.vms} VMs, {total:,} aggregates: correlated in {elapsed:.2f} s "
        f"({total / elapsed:,.0f} aggregates/s), {len(done.signals):,} signals"
    )

    addresses = [f"45.{a % 256}.{a // 256 % 256}.9" for a in range(200_000)]
    started = time.perf_counter()
    for a in addresses:
        classifier.classify(a)
    elapsed = time.perf_counter() - started
    print(f"classifier ({len(threats):,} threat ranges): {len(addresses) / elapsed:,.0f} lookups/s")


if __name__ == "__main__":
    main()

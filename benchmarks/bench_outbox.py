"""Benchmark: what the notification outbox costs a scan, and how fast it drains.

Per size, in a fresh SQLite store: the first scan of N new findings with the outbox (one
notice per finding, in the scan's transaction) and without it (the store's
``_notify_moved`` replaced by a no-op, in a second fresh store), then routing those notices to one sink
and delivering them to a sink that accepts everything in-process (so the figure is
Clamp's own cost: claim, render the OCSF event, record). Not a test.

    python benchmarks/bench_outbox.py                  # 1k and 10k findings
    python benchmarks/bench_outbox.py --sizes 1000 10000 50000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import clamp.store.store as store_module
from clamp.config import Settings
from clamp.model import Finding, Provider, Severity
from clamp.notify.config import NotifyConfig, SinkConfig, SinkKind
from clamp.notify.dispatcher import Dispatcher
from clamp.notify.message import Message
from clamp.store import Store

SUB = "00000000-0000-4000-8000-00000000beef"
NSG = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups"


class NullSink:
    """Accepts every notice at once."""

    name = "null"

    def deliver(self, message: Message) -> None:
        """Take it."""


def findings(n: int) -> list[Finding]:
    """``n`` exposed-admin-port findings on distinct NSGs."""
    return [
        Finding(
            "exposed-admin-port",
            Provider.AZURE,
            f"{NSG}/nsg-{i}",
            SUB,
            Severity.HIGH,
            "SSH open to the internet",
            {"ports": ["22"], "sources": ["*"]},
        )
        for i in range(n)
    ]


def timed_scan(path: Path, batch: list[Finding]) -> tuple[Store, float]:
    """A fresh store at ``path`` and the seconds its first scan of ``batch`` took."""
    store = Store.open(f"sqlite:///{path}")
    start = time.perf_counter()
    store.record_scan([(Provider.AZURE, SUB)], batch, resources=len(batch), source="bench")
    return store, time.perf_counter() - start


def run(size: int, scratch: Path) -> None:
    """Measure one size and print its line."""
    batch = findings(size)
    real = store_module._notify_moved
    store_module._notify_moved = lambda *_args: None  # the baseline: no outbox
    try:
        bare, without = timed_scan(scratch / f"bare-{size}.db", batch)
        bare.close()
    finally:
        store_module._notify_moved = real
    store, with_outbox = timed_scan(scratch / f"outbox-{size}.db", batch)
    sink = SinkConfig(name="null", kind=SinkKind.SLACK, url="https://example.invalid/")
    settings = Settings(database_url=store.url, notify=NotifyConfig((sink,)))
    dispatcher = Dispatcher(store, settings, sinks={"null": NullSink()})
    start = time.perf_counter()
    report = dispatcher.drain()
    drain = time.perf_counter() - start
    store.close()
    assert report.delivered == size, report
    print(
        f"{size:>7} findings: scan {without:6.2f} s without the outbox, {with_outbox:6.2f} s "
        f"with it (+{(with_outbox / without - 1) * 100:.0f} %); drain {drain:6.2f} s "
        f"({size / drain:,.0f} notices/s routed, rendered with OCSF, delivered, recorded)"
    )


def main() -> None:
    """Parse the sizes and run each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print(f"load average (1 min) {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes:
            run(size, Path(scratch))


if __name__ == "__main__":
    main()

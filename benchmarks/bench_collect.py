"""Benchmark: collection by calls. A sandbox estate of ≥ 20,000 Azure resources over ≥ 20
subscriptions, 50 ms injected on every Azure call, scanned through Resource Graph (and,
with ``--arm``, by listing each type per subscription). Azure only: no GCP collector by
Cloud Asset Inventory has landed on this branch. Not a test.

Prints the calls made against the lower bound, and the collection's wall time against
(calls x latency / concurrency), with what else bounds it: the CPU seconds of the client
(one interpreter) and of the sandbox (one event loop), and how many calls were in flight
(mean: the calls' summed durations over the collection's wall time; peak). The lower bound counts what no client can avoid: for
Resource Graph, ⌈rows / 1,000⌉ pages per table and batch; for what it does not hold, one
read per storage account's blob service and containers, per VNet's admin rules, and per
subscription's locks, role definitions and database listings (3). The sandbox runs in its
own process (``clamp sandbox serve``) so client and server do not share one interpreter;
its Resource Graph quota is raised (a quota increase Microsoft grants on request), since
the default 15 queries per 5 s would make the quota, not the calls, the figure.

    python benchmarks/bench_collect.py                       # 20 subscriptions x ~1,000
    python benchmarks/bench_collect.py --subscriptions 40 --units 300 --arm
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_exposure import SUB as TEMPLATE_SUB
from bench_exposure import azure_estate

from clamp.config import Settings
from clamp.model import Provider
from clamp.providers.azure import clients
from clamp.providers.azure.driver import AzureDriver
from clamp.providers.azure.resource_graph import PAGE
from clamp.sandbox.scenario import demo_scenario
from clamp.scanning import ScanProgress, scan_clouds
from clamp.store import Store

DEMO_SUB = "00000000-0000-4000-8000-000000000001"


def subscription(i: int) -> str:
    return f"00000000-0000-4000-8000-{0xB000 + i:012x}"


def estate(subscriptions: int, units: int, accounts: int) -> dict[str, Any]:
    """Per subscription: ``units`` NSG/NIC/VM units (a public IP every third, VNets of 50
    subnets), ``accounts`` storage accounts, and the demo's role assignments."""
    template = json.dumps(list(azure_estate(units, random.Random(7))))
    seeded: dict[str, Any] = demo_scenario()
    demo: list[dict[str, Any]] = seeded["azure"][DEMO_SUB]
    account = next(o for o in demo if o["type"] == "Microsoft.Storage/storageAccounts")
    assignments = [o for o in demo if o["type"] == "Microsoft.Authorization/roleAssignments"]
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(subscriptions):
        sub = subscription(i)
        objects = json.loads(template.replace(TEMPLATE_SUB, sub))
        group = f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Storage"
        for n in range(accounts):
            copy = json.loads(json.dumps(account).replace(DEMO_SUB, sub))
            copy.update(id=f"{group}/storageAccounts/st{n}", name=f"st{n}")
            objects.append(copy)
        objects += json.loads(json.dumps(assignments).replace(DEMO_SUB, sub))
        out[sub] = objects
    return {"azure": out, "resource_graph": {"quota": 1_000_000, "window_seconds": 5}}


def lower_bound(scenario: dict[str, Any], batch: int) -> tuple[int, int]:
    """(Resource Graph pages, ARM reads) no client can do without."""
    subs = list(scenario["azure"])
    pages = 0
    for start in range(0, len(subs), batch):
        kinds: Counter[str] = Counter()
        for sub in subs[start : start + batch]:
            for obj in scenario["azure"][sub]:
                auth = obj["type"].startswith("Microsoft.Authorization/")
                kinds["authorizationresources" if auth else "resources"] += 1
        pages += sum(
            math.ceil(kinds[t] / PAGE) or 1 for t in ("resources", "authorizationresources")
        )
    arm = 0
    for objects in scenario["azure"].values():
        types = Counter(o["type"] for o in objects)
        arm += 2 * types["Microsoft.Storage/storageAccounts"]
        arm += types["Microsoft.Network/virtualNetworks"] + 1 + 1 + 3
    return pages, arm


class Timeline(ScanProgress):
    """When the last scope arrived (collection's end, before evaluation)."""

    def __init__(self) -> None:
        self.last = self.cpu = 0.0
        self.resources = 0

    def scope_done(self, provider: Provider, scope: str, resources: int) -> None:
        self.last, self.cpu = time.perf_counter(), time.process_time()
        self.resources += resources


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class InFlight:
    """Times every Azure call (each attempt, as ``PacedCalls`` sees it) to tell how many
    were in flight; installed by the benchmark only."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        send = clients.PacedCalls.send

        def timed(policy: clients.PacedCalls, request: Any) -> Any:
            start = time.perf_counter()
            try:
                return send(policy, request)
            finally:
                self.spans.append((start, time.perf_counter()))

        clients.PacedCalls.send = timed  # type: ignore[method-assign,assignment]

    def figures(self, wall: float) -> tuple[float, int]:
        """(mean calls in flight over ``wall``, peak calls in flight)."""
        events = sorted([(a, 1) for a, _ in self.spans] + [(b, -1) for _, b in self.spans])
        now = peak = 0
        for _, step in events:
            now += step
            peak = max(peak, now)
        return sum(b - a for a, b in self.spans) / wall, peak


def run(url: str, subs: list[str], inventory: str, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/bench.db",
            sandbox_url=url,
            azure_inventory=inventory,
            scan_concurrency=concurrency,
        )
        driver, store = AzureDriver(settings), Store.open(settings.database_url)
        timeline, flight = Timeline(), InFlight()
        cpu, start = time.process_time(), time.perf_counter()
        result = scan_clouds(
            settings,
            store,
            lambda _: driver,
            [Provider.AZURE],
            {Provider.AZURE: subs},
            timeline,
        )
        counts = driver.call_counts()
        mean, peak = flight.figures(timeline.last - start)
        return {
            "in_flight": mean,
            "peak": peak,
            "wall": timeline.last - start,
            "cpu": timeline.cpu - cpu,
            "calls": sum(counts.made.values()),
            "retried": sum(counts.retried.values()),
            "throttled": sum(counts.throttled.values()),
            "resources": timeline.resources,
            "findings": len(result.findings),
            "errors": result.errors,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--units", type=int, default=300, help="NSG/NIC/VM units per subscription")
    parser.add_argument(
        "--accounts", type=int, default=10, help="storage accounts per subscription"
    )
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--arm", action="store_true", help="also list each type per subscription")
    args = parser.parse_args()

    scenario = estate(args.subscriptions, args.units, args.accounts)
    objects = sum(len(v) for v in scenario["azure"].values())
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(scenario, file)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "clamp", "sandbox", "serve", "--scenario", file.name],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip().split("=", 1)[1]
        fault = {"provider": "azure", "latency_ms": args.latency_ms, "times": None}
        httpx.post(f"{url}/_sandbox/faults", json=fault).raise_for_status()
        subs = list(scenario["azure"])
        print(
            f"estate: {objects:,} ARM objects in {len(subs)} subscriptions; "
            f"{args.latency_ms} ms per call; concurrency {args.concurrency}"
        )
        modes = ["resource-graph", "arm"] if args.arm else ["resource-graph"]
        for mode in modes:
            load = os.getloadavg()[0]
            served = cpu_of(server.pid)
            got = run(url, subs, mode, args.concurrency)
            served = cpu_of(server.pid) - served
            if mode == "resource-graph":
                pages, arm = lower_bound(scenario, 100)
                bound = pages + arm
                detail = f"{pages} Resource Graph pages + {arm} ARM reads"
            else:
                bound, detail = got["calls"], "no bound: the sandbox does not page ARM lists"
            wall_bound = got["calls"] * args.latency_ms / 1000 / args.concurrency
            print(
                f"{mode}: {got['resources']:,} resources, {got['findings']:,} findings\n"
                f"  calls {got['calls']:,} ({got['retried']} retried, {got['throttled']} "
                f"throttled) vs lower bound {bound:,} ({detail}): {got['calls'] / bound:.2f}x\n"
                f"  wall {got['wall']:.2f} s vs calls x latency / concurrency "
                f"{wall_bound:.2f} s: {got['wall'] / wall_bound:.2f}x "
                f"(CPU while collecting: client {got['cpu']:.2f} s, sandbox {served:.2f} s in "
                f"one event loop; calls in flight: mean {got['in_flight']:.1f}, peak "
                f"{got['peak']}; load {load:.1f} -> {os.getloadavg()[0]:.1f})"
                + (f"\n  errors: {got['errors'][:3]}" if got["errors"] else "")
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
        os.unlink(file.name)


if __name__ == "__main__":
    main()

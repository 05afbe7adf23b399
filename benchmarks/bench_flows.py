"""Flow-log ingest throughput and memory: a day of flows of a 1,000-VM estate.

``python benchmarks/bench_flows.py [--vms 1000] [--per-minute 4] [--hours 6 24]
[--gcp-entries 200000]`` writes, for each ``--hours``, that many hours of VNet flow logs
(schema v4, one ``PT1H.json`` per hour and block of 100 VMs, a record per VM and minute
with ``--per-minute`` tuples: internal clients of a database port, web clients and
internet scanners) to a temporary folder, then runs ``clamp flows ingest``'s library call
on it in a fresh process against a fresh SQLite store and prints tuples, wall seconds,
tuples/s, the process CPU seconds of the ingesting process and of its workers
(``[flows] workers``, ``--workers``: 0 one per CPU, 1 none) with tuples per CPU second,
aggregates kept, the peak RSS of the ingesting process and of its largest worker
(``resource.getrusage``) and the load average. The machine may be shared: CPU seconds are
the figure to compare, wall seconds depend on free cores. The two sizes show whether
memory stays flat as the number of tuples grows. ``--gcp-entries`` VPC Flow Logs entries
(NDJSON, one file: folded in the ingesting process) are measured the same way.

Nothing here is timed by a test; the figures are for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

DAY = datetime(2026, 12, 1, tzinfo=UTC)
PER_FILE = 100
SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
VNET = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/bench/providers/Microsoft.Network/virtualNetworks/bench"


def _vm_ip(n: int) -> str:
    return f"10.{n // 250}.{n % 250}.4"


def write_azure(folder: Path, vms: int, hours: int, per_minute: int, seed: int = 15) -> int:
    """Hours of VNet flow logs for ``vms`` VMs; the number of tuples written."""
    rng = random.Random(seed)
    scanners = [
        f"{rng.randint(45, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(2000)
    ]
    clients = [f"10.200.{i // 250}.{i % 250 + 1}" for i in range(40)]
    count = 0
    for hour in range(hours):
        start = DAY + timedelta(hours=hour)
        for first in range(0, vms, PER_FILE):
            path = folder / f"h={hour:02d}" / f"vms={first:04d}" / "PT1H.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w") as out:
                out.write('{"records":[')
                for minute in range(60):
                    base = int((start + timedelta(minutes=minute)).timestamp() * 1000)
                    for vm in range(first, min(first + PER_FILE, vms)):
                        ip = _vm_ip(vm)
                        allowed, denied = [], []
                        for _ in range(per_minute):
                            ms = base + rng.randint(0, 59_999)
                            kind = rng.random()
                            if kind < 0.5:
                                src, port = rng.choice(clients), 1433
                                allowed.append(
                                    f"{ms},{src},{ip},{rng.randint(30000, 60000)},{port},6,I,E,NX,40,9000,60,250000"
                                )
                            elif kind < 0.8:
                                src = rng.choice(clients[:10])
                                allowed.append(
                                    f"{ms},{src},{ip},{rng.randint(30000, 60000)},443,6,I,B,NX,0,0,0,0"
                                )
                            else:
                                src, port = (
                                    rng.choice(scanners),
                                    rng.choice((22, 23, 3389, 445, 5900)),
                                )
                                denied.append(
                                    f"{ms},{src},{ip},{rng.randint(1024, 65535)},{port},6,I,D,NX,0,0,0,0"
                                )
                        count += len(allowed) + len(denied)
                        record = {
                            "time": (start + timedelta(minutes=minute, seconds=59))
                            .isoformat()
                            .replace("+00:00", "Z"),
                            "flowLogVersion": 4,
                            "macAddress": f"002248{vm:06X}",
                            "category": "FlowLogFlowEvent",
                            "targetResourceID": VNET,
                            "operationName": "FlowLogFlowEvent",
                            "flowRecords": {
                                "flows": [
                                    {
                                        "aclID": "00000000-1234-abcd-ef00-c1c2c3c4c5c6",
                                        "flowGroups": [
                                            {"rule": "allow-app", "flowTuples": allowed},
                                            {
                                                "rule": "DefaultRule_DenyAllInBound",
                                                "flowTuples": denied,
                                            },
                                        ],
                                    }
                                ]
                            },
                        }
                        if minute or vm != first:
                            out.write(",")
                        out.write(json.dumps(record, separators=(",", ":")))
                out.write("]}")
    return count


def write_gcp(path: Path, vms: int, entries: int, seed: int = 15) -> int:
    """VPC Flow Logs entries (NDJSON) over a day; the number written."""
    rng = random.Random(seed)
    with path.open("w") as out:
        for n in range(entries):
            vm = rng.randrange(vms)
            at = DAY + timedelta(seconds=rng.randint(0, 86_399))
            stamp = at.isoformat().replace("+00:00", "Z")
            entry = {
                "insertId": f"{n:010d}",
                "logName": "projects/bench/logs/compute.googleapis.com%2Fvpc_flows",
                "resource": {
                    "type": "gce_subnetwork",
                    "labels": {
                        "project_id": "bench",
                        "location": "europe-west1",
                        "subnetwork_name": "prod",
                    },
                },
                "timestamp": stamp,
                "jsonPayload": {
                    "connection": {
                        "src_ip": f"10.200.0.{rng.randint(1, 40)}",
                        "src_port": rng.randint(30000, 60000),
                        "dest_ip": _vm_ip(vm),
                        "dest_port": 1433,
                        "protocol": 6,
                    },
                    "reporter": "DEST",
                    "start_time": stamp,
                    "end_time": stamp,
                    "bytes_sent": str(rng.randint(100, 90000)),
                    "packets_sent": str(rng.randint(1, 90)),
                    "dest_instance": {
                        "project_id": "bench",
                        "region": "europe-west1",
                        "zone": "europe-west1-b",
                        "vm_name": f"vm-{vm}",
                    },
                },
            }
            out.write(json.dumps(entry) + "\n")
    return entries


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def child(folder: str, workers: int) -> None:
    """Ingest ``folder`` into a fresh store; print figures as JSON (run in a fresh process)."""
    from clamp.events.flows.config import FlowsConfig
    from clamp.events.flows.ingest import ingest_paths
    from clamp.store import Store

    config = FlowsConfig(retention_days=100_000, workers=workers)
    with tempfile.TemporaryDirectory() as scratch:
        store = Store.open(f"sqlite:///{scratch}/clamp.db")
        began, cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
        summary = ingest_paths(store, config, [Path(folder)])
        seconds, cpu = time.perf_counter() - began, _cpu(resource.RUSAGE_SELF) - cpu
        store.close()
    print(
        json.dumps(
            {
                "tuples": summary.tuples,
                "aggregates": summary.aggregates,
                "seconds": seconds,
                "cpu": cpu,
                "workers_cpu": _cpu(resource.RUSAGE_CHILDREN),
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "load": os.getloadavg()[0],
            }
        )
    )


def _figures(count: int, got: dict[str, float], what: str) -> str:
    cpu = got["cpu"] + got["workers_cpu"]
    return (
        f"{count:>10,} {what} in {got['seconds']:.1f} s wall = {count / got['seconds']:>9,.0f}/s; "
        f"CPU {cpu:.1f} s (ingest {got['cpu']:.1f} + workers {got['workers_cpu']:.1f}) = "
        f"{count / cpu:,.0f} {what}/CPU-s; peak RSS {got['peak_mib']:.0f} MiB "
        f"(largest worker {got['worker_peak_mib']:.0f}); load {got['load']:.1f}"
    )


def _measure(folder: Path, workers: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), "--workers", str(workers)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    """Write each size, ingest it in a fresh process, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--per-minute", type=int, default=4, help="tuples per VM and minute")
    parser.add_argument("--hours", type=int, nargs="+", default=[6, 24])
    parser.add_argument("--gcp-entries", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=0, help="[flows] workers (0: per CPU)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workers)
        return
    print(
        f"{args.vms} VMs, {args.per_minute} tuples per VM and minute (Azure VNet flow logs v4), "
        f"workers = {args.workers}, {os.cpu_count()} CPUs"
    )
    for hours in args.hours:
        with tempfile.TemporaryDirectory() as folder:
            written = write_azure(Path(folder), args.vms, hours, args.per_minute)
            size = sum(p.stat().st_size for p in Path(folder).rglob("*.json")) / 2**20
            got = _measure(Path(folder), args.workers)
        assert got["tuples"] == written, (got, written)
        print(
            f"  {hours:>2} h ({size:,.0f} MiB, {got['aggregates']:,.0f} aggregates): "
            + _figures(written, got, "tuples")
        )
    if args.gcp_entries:
        with tempfile.TemporaryDirectory() as folder:
            written = write_gcp(Path(folder) / "flows.ndjson", args.vms, args.gcp_entries)
            got = _measure(Path(folder), args.workers)
        print("GCP VPC Flow Logs NDJSON: " + _figures(written, got, "entries"))


if __name__ == "__main__":
    main()

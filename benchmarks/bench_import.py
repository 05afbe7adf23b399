"""Benchmark: ``clamp import prowler`` on a large Prowler OCSF file.

Writes a synthetic Prowler OCSF JSON file of N Detection Findings (the shape of
``tests/prowler_sample.py``: a mix of mapped Azure NSG and GCP firewall checks, unmapped
checks and passing results), then times reading it, mapping it and recording it into a
fresh SQLite store, and prints findings per second for each step. Not a test.

    python benchmarks/bench_import.py                 # 10k and 100k findings
    python benchmarks/bench_import.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from clamp.imports.interface import Source
from clamp.imports.mapping import map_findings
from clamp.imports.prowler import read_prowler
from clamp.imports.record import record_import
from clamp.store import Store
from prowler_sample import GROUP, SUBSCRIPTION, finding


def synthetic(n: int) -> list[dict[str, object]]:
    """``n`` findings: 40% Azure SSH, 30% GCP SSH, 20% unmapped, 10% passing."""
    out: list[dict[str, object]] = []
    for i in range(n):
        kind = i % 10
        if kind < 4:
            out.append(
                finding(
                    cloud="azure",
                    account=SUBSCRIPTION,
                    region="westeurope",
                    check="network_ssh_internet_access_restricted",
                    title="SSH from the Internet",
                    status="FAIL",
                    severity="High",
                    uid=f"{GROUP}/Microsoft.Network/networkSecurityGroups/nsg-{i}",
                    name=f"nsg-{i}",
                    resource_type="Microsoft.Network/networkSecurityGroups",
                    service="network",
                    detail="SSH open",
                )
            )
        elif kind < 7:
            out.append(
                finding(
                    cloud="gcp",
                    account=f"project-{i % 50}",
                    region="global",
                    check="compute_firewall_ssh_access_from_the_internet_allowed",
                    title="SSH from the Internet",
                    status="FAIL",
                    severity="Critical",
                    uid=str(7_000_000_000 + i),
                    name=f"fw-{i}",
                    resource_type="FirewallRule",
                    service="networking",
                    detail="SSH open",
                )
            )
        else:
            out.append(
                finding(
                    cloud="azure",
                    account=SUBSCRIPTION,
                    region="westeurope",
                    check="storage_ensure_minimum_tls_version_12",
                    title="TLS 1.2",
                    status="FAIL" if kind < 9 else "PASS",
                    severity="Medium",
                    uid=f"{GROUP}/Microsoft.Storage/storageAccounts/acct{i}",
                    name=f"acct{i}",
                    resource_type="Microsoft.Storage/storageAccounts",
                    service="storage",
                    detail="TLS",
                )
            )
    return out


def run(n: int, work: Path) -> None:
    path = work / f"prowler-{n}.json"
    path.write_text(json.dumps(synthetic(n)))
    size = path.stat().st_size
    t0 = time.perf_counter()
    read = read_prowler(path)
    t1 = time.perf_counter()
    result = map_findings(Source.PROWLER, read.failing, passed=read.passed)
    t2 = time.perf_counter()
    store = Store.open(f"sqlite:///{work / f'bench-{n}.db'}")
    record_import(store, result, actor="bench", origin=str(path))
    t3 = time.perf_counter()
    store.close()
    print(
        f"{n:>8,} findings ({size / 1e6:.1f} MB): read {n / (t1 - t0):>9,.0f}/s  "
        f"map {n / (t2 - t1):>9,.0f}/s  record {len(result.mapped) / (t3 - t2):>8,.0f}/s  "
        f"total {t3 - t0:5.1f} s  ({len(result.mapped):,} mapped, "
        f"{len(result.unmapped):,} unmapped, {result.passed:,} passing)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            run(n, Path(tmp))


if __name__ == "__main__":
    main()

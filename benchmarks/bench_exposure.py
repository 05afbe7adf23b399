"""Benchmark: normalize and evaluate a synthetic estate of NSGs and firewalls.

Prints resources evaluated per second and peak memory for each size. Not a test.

    python benchmarks/bench_exposure.py --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute

PORTS = ["22", "80", "443", "3389", "1433", "5432", "8080-8090", "*", "20-25", "6379"]
SOURCES = ["*", "Internet", "10.0.0.0/8", "0.0.0.0/0", "VirtualNetwork", "192.168.1.0/24"]
SUB = "00000000-0000-4000-8000-00000000beef"


def _arm_rule(nsg: str, i: int, rng: random.Random) -> dict[str, Any]:
    ports = rng.sample(PORTS, rng.randint(1, 2))
    sources = rng.sample(SOURCES, rng.randint(1, 2))
    props: dict[str, Any] = {
        "protocol": rng.choice(["Tcp", "Udp", "*"]),
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "access": rng.choice(["Allow", "Allow", "Deny"]),
        "priority": 100 + i * 10,
        "direction": "Inbound",
        "destinationPortRanges": ports,
        "sourceAddressPrefixes": sources,
    }
    return {"name": f"r{i}", "id": f"{nsg}/securityRules/r{i}", "properties": props}


def azure_nsgs(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """ARM NSG objects, each with 3-8 custom rules, as a GET returns them."""
    for n in range(count):
        nsg = (
            f"/subscriptions/{SUB}/resourceGroups/rg{n % 50}/providers/"
            f"Microsoft.Network/networkSecurityGroups/nsg{n}"
        )
        rules = [_arm_rule(nsg, i, rng) for i in range(rng.randint(3, 8))]
        yield {
            "id": nsg,
            "name": f"nsg{n}",
            "type": "Microsoft.Network/networkSecurityGroups",
            "location": "westeurope",
            "properties": {"securityRules": rules},
        }


def gcp_firewalls(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Compute API firewall objects on a few networks."""
    for n in range(count):
        ports = [p for p in rng.sample(PORTS, rng.randint(1, 3)) if p != "*"]
        entry: dict[str, Any] = {"IPProtocol": rng.choice(["tcp", "udp", "all"])}
        if ports and entry["IPProtocol"] != "all":
            entry["ports"] = ports
        yield {
            "kind": "compute#firewall",
            "name": f"fw{n}",
            "id": str(n),
            "network": f"https://www.googleapis.com/compute/v1/projects/bench/global/networks/n{n % 20}",
            "direction": "INGRESS",
            "priority": rng.randint(100, 2000),
            "sourceRanges": rng.sample(["0.0.0.0/0", "10.0.0.0/8", "35.191.0.0/16"], 1),
            "disabled": rng.random() < 0.05,
            "allowed" if rng.random() < 0.85 else "denied": [entry],
        }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(size: int, settings: Settings) -> None:
    """Build, normalize and evaluate ``size`` resources (half Azure, half GCP)."""
    rng = random.Random(size)
    half = size // 2
    start = time.perf_counter()
    resources = resources_from_arm(azure_nsgs(half, rng), SUB)
    resources += resources_from_compute("bench", gcp_firewalls(size - half, rng))
    normalized = time.perf_counter()
    findings = evaluate(resources, settings)
    done = time.perf_counter()
    print(
        f"{size:>9,} resources | normalize {size / (normalized - start):>10,.0f}/s | "
        f"evaluate {size / (done - normalized):>10,.0f}/s | end-to-end "
        f"{size / (done - start):>10,.0f}/s | {len(findings):>8,} findings | "
        f"peak RSS {peak_rss_mib():,.0f} MiB",
        flush=True,
    )
    del resources, findings
    gc.collect()


def main(argv: list[str]) -> None:
    """Parse ``--sizes`` and run each size in turn."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; half Azure NSGs (3-8 rules), half GCP firewalls")
    for size in args.sizes:
        run(size, Settings(database_url="sqlite://"))


if __name__ == "__main__":
    main(sys.argv[1:])

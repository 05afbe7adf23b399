"""Benchmark: GCP exposure through firewall policy layers.

The GCP half of ``bench_exposure`` (firewalls on 20 networks, tagged instances), plus the
20 networks and, with policies, for each network an organization policy (a Telnet deny, a
``goto_next`` for one service account, a deny from some countries, the default
``goto_next`` rules) and a global network policy (a VNC allow, a deny for target service
accounts). Prints normalize and evaluate throughput with and without the policies, and
the findings. Not a test.

    python benchmarks/bench_layers.py                 # 25k firewalls
    python benchmarks/bench_layers.py --firewalls 250000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_exposure import GNET, gcp_estate

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.providers.gcp.normalize import resources_from_compute

NETWORKS = 20


def _rule(priority: int, action: str, ports: list[str] | None, **match: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"ipProtocol": "tcp" if ports else "all"}
    if ports:
        config["ports"] = ports
    return {
        "priority": priority,
        "action": action,
        "direction": "INGRESS",
        "match": {"srcIpRanges": ["0.0.0.0/0"], "layer4Configs": [config], **match},
    }


def policies(network: str) -> dict[str, Any]:
    """An organization and a network policy in force on ``network``."""
    org = {
        "name": "1",
        "type": "HIERARCHY",
        "rules": [
            _rule(100, "deny", ["23"]),
            {**_rule(200, "goto_next", ["22"]), "targetServiceAccounts": ["ops@b.iam"]},
            _rule(300, "deny", ["3389"], srcIpRanges=[], srcRegionCodes=["KP"]),
            _rule(2147483647, "goto_next", None),
        ],
    }
    local = {
        "name": "local",
        "type": "NETWORK",
        "rules": [
            _rule(1000, "allow", ["5900"]),
            {**_rule(1100, "deny", ["6379"]), "targetServiceAccounts": ["app@bench.iam"]},
            _rule(2147483647, "goto_next", None),
        ],
    }
    return {
        "kind": "clamp#effectiveFirewalls",
        "network": network,
        "global": {"firewallPolicys": [org, local]},
        "regions": {},
    }


def run(firewalls: int, with_policies: bool) -> None:
    """Normalize and evaluate ``firewalls`` firewalls (and as many instances)."""
    objects = list(gcp_estate(firewalls, random.Random(firewalls)))
    for n in range(NETWORKS):
        link = f"{GNET}/n{n}"
        objects.append({"kind": "compute#network", "name": f"n{n}", "selfLink": link})
        if with_policies:
            objects.append(policies(link))
    start = time.perf_counter()
    resources = resources_from_compute("bench", objects)
    normalized = time.perf_counter()
    findings = evaluate(resources, Settings(database_url="sqlite://"))
    done = time.perf_counter()
    exposed = [f for f in findings if f.check.startswith("exposed-")]
    print(
        f"{'with' if with_policies else 'without':>7} policies | {len(resources):>8,} resources | "
        f"normalize {len(resources) / (normalized - start):>8,.0f}/s | evaluate "
        f"{len(resources) / (done - normalized):>8,.0f}/s ({done - normalized:.1f} s) | "
        f"{len(exposed):>6,} port findings",
        flush=True,
    )


def main(argv: list[str]) -> None:
    """Parse ``--firewalls`` and run without, then with, the policy layers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--firewalls", type=int, default=25_000)
    args = parser.parse_args(argv)
    for with_policies in (False, True):
        run(args.firewalls, with_policies)


if __name__ == "__main__":
    main(sys.argv[1:])

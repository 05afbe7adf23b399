"""Google Cloud collection by calls: Cloud Asset Inventory vs each API, on a sandbox estate.

Prints, for an estate of ``--projects`` projects (each with firewalls, instances, buckets
and their IAM policies, a network, a project policy), the calls each road makes by API and
the wall time, for three roads: CAI per project, CAI once at the organization, and the
per-API lists (``[gcp] inventory = "api"``). Scopes are collected one after another here
(concurrency across scopes is the scan's, ``clamp.scanning``). Usage:

    PYTHONPATH=src python benchmarks/bench_collect_gcp.py --projects 20 --per-project 200 \
        --latency-ms 50
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from clamp.config import Settings
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState

API = "https://www.googleapis.com/compute/v1/projects"


def _project(project: str, size: int) -> list[dict[str, Any]]:
    """A project of ``size`` resources: 60% firewalls, 30% instances, 10% buckets."""
    network = f"{API}/{project}/global/networks/vpc"
    out: list[dict[str, Any]] = [
        {"kind": "compute#network", "name": "vpc", "selfLink": network},
        {
            "kind": "cloudresourcemanager#policy",
            "resource": f"projects/{project}",
            "version": 1,
            "etag": "BwYf3kH1Ua0=",
            "bindings": [{"role": "roles/owner", "members": ["user:admin@example.com"]}],
        },
    ]
    for i in range(size * 6 // 10):
        out.append(
            {
                "kind": "compute#firewall",
                "name": f"fw-{i}",
                "network": network,
                "selfLink": f"{API}/{project}/global/firewalls/fw-{i}",
                "direction": "INGRESS",
                "priority": 1000,
                "sourceRanges": ["0.0.0.0/0" if i % 10 == 0 else "10.0.0.0/8"],
                "allowed": [{"IPProtocol": "tcp", "ports": [str(22 if i % 10 == 0 else 8000 + i)]}],
            }
        )
    zone = f"{API}/{project}/zones/europe-west1-b"
    for i in range(size * 3 // 10):
        out.append(
            {
                "kind": "compute#instance",
                "name": f"vm-{i}",
                "zone": zone,
                "status": "RUNNING",
                "selfLink": f"{zone}/instances/vm-{i}",
                "networkInterfaces": [{"network": network, "networkIP": "10.0.0.2"}],
            }
        )
    for i in range(size // 10):
        name = f"{project}-b{i}"
        out.append({"kind": "storage#bucket", "name": name, "id": name, "projectNumber": "1"})
        out.append(
            {
                "kind": "storage#policy",
                "resourceId": f"projects/_/buckets/{name}",
                "version": 1,
                "etag": "CAE=",
                "bindings": [{"role": "roles/storage.admin", "members": ["user:a@example.com"]}],
            }
        )
    return out


def _run(box: Sandbox, projects: list[str], road: str) -> tuple[Counter[str], int, float]:
    inventory = "api" if road == "api" else "asset-inventory"
    driver = GcpDriver(
        Settings(database_url="sqlite://", sandbox_url=box.url, gcp_inventory=inventory)
    )
    start = time.perf_counter()
    if road == "cai-organization":
        driver.projects_under("organizations/123456789012")
    resources = sum(len(list(driver.collect(p))) for p in projects)
    wall = time.perf_counter() - start
    by_api: Counter[str] = Counter()
    for key, n in driver.call_counts().made.items():
        by_api[key.rsplit(":", 1)[-1]] += n
    return by_api, resources, wall


def main() -> None:
    """Build the estate, collect it three ways, print calls and wall time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--per-project", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every call")
    args = parser.parse_args()
    projects = [f"bench-{i:03d}" for i in range(args.projects)]
    estate = {p: _project(p, args.per_project) for p in projects}
    faults = [{"latency_ms": args.latency_ms, "times": None}] if args.latency_ms else []
    state = SandboxState.from_scenario({"gcp": estate, "faults": faults})
    with Sandbox(state) as box:
        print(
            f"{args.projects} projects x ~{args.per_project} resources, {args.latency_ms} ms a call"
        )
        for road in ("cai-project", "cai-organization", "api"):
            by_api, resources, wall = _run(box, projects, road)
            detail = ", ".join(f"{api} {n}" for api, n in sorted(by_api.items()))
            total = sum(by_api.values())
            floor = total * args.latency_ms / 1000
            print(
                f"{road:17} {resources:6} resources  {total:5} calls ({detail})  "
                f"{wall:6.2f} s (calls x latency: {floor:.2f} s)"
            )


if __name__ == "__main__":
    main()

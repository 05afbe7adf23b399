"""Benchmark: normalize and evaluate a synthetic estate in real API shapes.

Half the resources are Azure (NSGs with 3-8 custom rules plus ARM's six default rules,
NICs bound to them directly or through subnets, VMs, public IPs, VNets), half GCP
(firewalls on a few networks, instances with tags and external IPs). Prints, per size,
normalize and evaluate throughput in resources per second and the peak resident memory
of a fresh process. Not a test.

With ``--export`` the estate is first written as export files (the Azure half as a JSON
array of ARM objects, the GCP half as Cloud Asset Inventory NDJSON: the formats ``clamp
scan --input`` reads), and a fresh process times the work of ``scan_files`` end to end
per stage — parse (``read_offline``, which normalizes each object that stands alone as it
parses it), normalize (the objects normalized together: VNets with their admin rules,
storage accounts with their parts…), evaluate, and with ``--record`` recording into a
temporary SQLite store — printing wall time, resources/s, CPU time and peak RSS after each
(CPU time is the figure to compare on a loaded machine); ``--digest`` prints a digest of
the findings, to compare before and after a change.

    python benchmarks/bench_exposure.py                      # 10k and 100k
    python benchmarks/bench_exposure.py --sizes 10000 100000 1000000
    python benchmarks/bench_exposure.py --export --sizes 1000000 [--record] [--digest]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.model import Finding
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute
from clamp.store.codec import to_jsonable

PORTS = ["22", "80", "443", "3389", "1433", "5432", "8080-8090", "*", "20-25", "6379"]
SOURCES = ["*", "Internet", "10.0.0.0/8", "0.0.0.0/0", "VirtualNetwork", "192.168.1.0/24"]
SUB = "00000000-0000-4000-8000-00000000beef"
NET = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network"
VMS = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
GNET = "https://www.googleapis.com/compute/v1/projects/bench/global/networks"
SUBNETS_PER_VNET = 50


def _rule(nsg: str, name: str, priority: int, direction: str, **props: Any) -> dict[str, Any]:
    return {
        "name": name,
        "id": f"{nsg}/{'defaultSecurityRules' if priority >= 65000 else 'securityRules'}/{name}",
        "etag": 'W/"00000000-0000-0000-0000-000000000000"',
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": {
            "provisioningState": "Succeeded",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "priority": priority,
            "direction": direction,
            **props,
        },
    }


def _defaults(nsg: str) -> list[dict[str, Any]]:
    """ARM's six default rules, as a GET returns them."""
    out = []
    for direction, prefix in (("Inbound", "InBound"), ("Outbound", "OutBound")):
        peer = "sourceAddressPrefix" if direction == "Inbound" else "destinationAddressPrefix"
        for priority, name, source, access in (
            (65000, f"AllowVnet{prefix}", "VirtualNetwork", "Allow"),
            (65001, f"AllowAzureLoadBalancer{prefix}", "AzureLoadBalancer", "Allow"),
            (65500, f"DenyAll{prefix}", "*", "Deny"),
        ):
            if direction == "Outbound" and priority == 65001:
                name, source = "AllowInternetOutBound", "Internet"
            props = {"protocol": "*", "access": access, "destinationPortRange": "*", peer: source}
            if direction == "Inbound":
                props["destinationAddressPrefix"] = "*"
            else:
                props["sourceAddressPrefix"] = "*"
            out.append(_rule(nsg, name, priority, direction, **props))
    return out


def azure_estate(units: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Per unit an NSG, a NIC, a VM and (every third unit) a public IP; VNets of 50 subnets."""
    for n in range(units):
        nsg = f"{NET}/networkSecurityGroups/nsg{n}"
        subnet = f"{NET}/virtualNetworks/vnet{n // SUBNETS_PER_VNET}/subnets/s{n}"
        nic = f"{NET}/networkInterfaces/nic{n}"
        vm = f"{VMS}/vm{n}"
        custom = [
            _rule(
                nsg,
                f"r{i}",
                100 + i * 10,
                "Inbound",
                protocol=rng.choice(["Tcp", "Udp", "*"]),
                access=rng.choice(["Allow", "Allow", "Deny"]),
                destinationPortRanges=rng.sample(PORTS, rng.randint(1, 2)),
                sourceAddressPrefixes=rng.sample(SOURCES, rng.randint(1, 2)),
            )
            for i in range(rng.randint(3, 8))
        ]
        on_nic = n % 2 == 1
        yield {
            "id": nsg,
            "name": f"nsg{n}",
            "type": "Microsoft.Network/networkSecurityGroups",
            "location": "westeurope",
            "properties": {
                "securityRules": custom,
                "defaultSecurityRules": _defaults(nsg),
                "networkInterfaces": [{"id": nic}] if on_nic else [],
                "subnets": [] if on_nic else [{"id": subnet}],
            },
        }
        config: dict[str, Any] = {"subnet": {"id": subnet}, "privateIPAddress": "10.0.0.4"}
        if n % 3 == 0:
            pip = f"{NET}/publicIPAddresses/pip{n}"
            config["publicIPAddress"] = {"id": pip}
            yield {
                "id": pip,
                "name": f"pip{n}",
                "type": "Microsoft.Network/publicIPAddresses",
                "properties": {"ipAddress": f"20.{n % 250}.{n // 250 % 250}.{n % 7}"},
            }
        yield {
            "id": nic,
            "name": f"nic{n}",
            "type": "Microsoft.Network/networkInterfaces",
            "properties": {
                "ipConfigurations": [{"name": "ipconfig1", "properties": config}],
                "networkSecurityGroup": {"id": nsg} if on_nic else None,
                "virtualMachine": {"id": vm},
            },
        }
        yield {
            "id": vm,
            "name": f"vm{n}",
            "type": "Microsoft.Compute/virtualMachines",
            "properties": {"networkProfile": {"networkInterfaces": [{"id": nic}]}},
        }
        if n % SUBNETS_PER_VNET == SUBNETS_PER_VNET - 1 or n == units - 1:
            first = n - n % SUBNETS_PER_VNET
            vnet = f"{NET}/virtualNetworks/vnet{n // SUBNETS_PER_VNET}"
            yield {
                "id": vnet,
                "name": f"vnet{n // SUBNETS_PER_VNET}",
                "type": "Microsoft.Network/virtualNetworks",
                "properties": {
                    "subnets": [
                        {
                            "id": f"{vnet}/subnets/s{k}",
                            "name": f"s{k}",
                            "properties": {
                                "networkSecurityGroup": (
                                    {"id": f"{NET}/networkSecurityGroups/nsg{k}"}
                                    if k % 2 == 0
                                    else None
                                )
                            },
                        }
                        for k in range(first, n + 1)
                    ]
                },
            }


def gcp_estate(units: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Per unit a firewall on one of 20 networks and an instance tagged for some of them."""
    for n in range(units):
        ports = [p for p in rng.sample(PORTS, rng.randint(1, 3)) if p != "*"]
        entry: dict[str, Any] = {"IPProtocol": rng.choice(["tcp", "udp", "all", "6"])}
        if ports and entry["IPProtocol"] != "all":
            entry["ports"] = ports
        network = f"{GNET}/n{n % 20}"
        firewall: dict[str, Any] = {
            "kind": "compute#firewall",
            "id": str(n),
            "name": f"fw{n}",
            "network": network,
            "direction": "INGRESS",
            "priority": rng.randint(100, 2000),
            "sourceRanges": rng.sample(["0.0.0.0/0", "10.0.0.0/8", "35.191.0.0/16"], 1),
            "disabled": rng.random() < 0.05,
            "allowed" if rng.random() < 0.9 else "denied": [entry],
        }
        if rng.random() < 0.5:
            firewall["targetTags"] = [f"t{n % 100}"]
        yield firewall
        access = [{"type": "ONE_TO_ONE_NAT", "natIP": "34.1.2.3"}] if n % 4 == 0 else []
        yield {
            "kind": "compute#instance",
            "id": str(10**9 + n),
            "name": f"vm{n}",
            "zone": "https://www.googleapis.com/compute/v1/projects/bench/zones/europe-west1-b",
            "status": "RUNNING",
            "tags": {"items": [f"t{n % 100}"]},
            "networkInterfaces": [{"network": network, "accessConfigs": access}],
            "serviceAccounts": [{"email": "app@bench.iam.gserviceaccount.com"}],
        }


def cpu_seconds() -> float:
    """CPU time (user and system) of this process so far: steadier than wall time on a
    shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(size: int) -> None:
    """Generate, normalize and evaluate about ``size`` resources (half Azure, half GCP)."""
    rng = random.Random(size)
    azure = list(azure_estate(int(size / 2 / 4.35), rng))  # ~4.35 Azure resources per unit
    gcp = list(gcp_estate(size // 4, rng))
    generated_rss = peak_rss_mib()
    start = time.perf_counter()
    resources = resources_from_arm(azure, SUB)
    resources += resources_from_compute("bench", gcp)
    normalized = time.perf_counter()
    findings = evaluate(resources, Settings(database_url="sqlite://"))
    done = time.perf_counter()
    count = len(resources)
    nsgs = sum(1 for r in resources if r.type.value.endswith(("networkSecurityGroups", "Firewall")))
    print(
        f"{count:>9,} resources ({nsgs:,} NSGs+firewalls) | normalize "
        f"{count / (normalized - start):>8,.0f}/s | evaluate {count / (done - normalized):>8,.0f}/s"
        f" | end-to-end {count / (done - start):>8,.0f}/s ({done - start:.1f} s) | "
        f"{len(findings):>7,} findings | peak RSS {peak_rss_mib():,.0f} MiB "
        f"(raw input alone {generated_rss:,.0f} MiB)",
        flush=True,
    )


def write_export(size: int, folder: Path) -> None:
    """The same estate as ``run`` as export files in ``folder``: ``azure.json`` (a JSON
    array of ARM objects) and ``gcp.ndjson`` (``gcloud asset export`` lines)."""
    rng = random.Random(size)
    with (folder / "azure.json").open("w", encoding="utf-8") as out:
        out.write("[\n")
        for number, obj in enumerate(azure_estate(int(size / 2 / 4.35), rng)):
            out.write((",\n" if number else "") + json.dumps(obj))
        out.write("\n]\n")
    types = {"compute#firewall": "Firewall", "compute#instance": "Instance"}
    with (folder / "gcp.ndjson").open("w", encoding="utf-8") as out:
        for obj in gcp_estate(size // 4, rng):
            kind = str(obj["kind"])
            where = (
                "global/firewalls"
                if kind == "compute#firewall"
                else "zones/europe-west1-b/instances"
            )
            asset = {
                "name": f"//compute.googleapis.com/projects/bench/{where}/{obj['name']}",
                "asset_type": f"compute.googleapis.com/{types[kind]}",
                "resource": {
                    "version": "v1",
                    "data": {k: v for k, v in obj.items() if k != "kind"},
                },
            }
            out.write(json.dumps(asset) + "\n")


def findings_digest(findings: list[Finding]) -> str:
    """A digest of each finding's check, resource, scope, severity, title and details, in
    the order found: the same estate must give the same digest before and after a change."""
    digest = hashlib.sha256()
    for f in findings:
        row = [f.check, f.resource, f.scope, str(f.severity), f.title, to_jsonable(f.details)]
        digest.update(json.dumps(row, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def run_export(folder: Path, record: bool, digest: bool = False) -> None:
    """Time ``scan_files``' stages over the export files in ``folder``, in this process."""
    from clamp.inventory.offline import read_offline

    size_mib = sum(p.stat().st_size for p in folder.iterdir()) / 1024**2
    print(f"  export files: {size_mib:,.0f} MiB; baseline RSS {peak_rss_mib():,.0f} MiB")
    start = last = time.perf_counter()
    cpu_start = cpu_last = cpu_seconds()
    count = 0

    def stage(name: str) -> None:
        nonlocal last, cpu_last
        now, cpu = time.perf_counter(), cpu_seconds()
        rate = f"{count / (now - last):>9,.0f}/s" if count else " " * 11
        print(
            f"  {name:<10} {now - last:6.1f} s {rate} | CPU {cpu - cpu_last:6.1f} s | "
            f"peak RSS {peak_rss_mib():>6,.0f} MiB",
            flush=True,
        )
        last, cpu_last = now, cpu

    objects = read_offline([folder])
    count = objects.count
    stage("parse")  # and each object that stands alone normalized as it is parsed
    resources = objects.resources()
    del objects
    count = len(resources)
    stage("normalize")  # the objects normalized together (VNets and their admin rules, ...)
    settings = Settings(database_url="sqlite://")
    findings = evaluate(resources, settings)
    stage("evaluate")
    if digest:
        print(f"  findings digest {findings_digest(findings)}", flush=True)
    if record:
        from clamp.store.store import Store

        with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{tmp}/bench.db") as store:
            scopes = sorted({(r.provider, r.scope) for r in resources})
            store.record_scan(scopes, findings, resources=count, source="file:bench", checks=None)
            store.rules.record_inventory(scopes, resources)
            stage("record")
    total = time.perf_counter() - start
    print(
        f"{count:>9,} resources from export | {len(findings):,} findings | end-to-end "
        f"{total:.1f} s ({count / total:,.0f}/s), CPU {cpu_seconds() - cpu_start:.1f} s | "
        f"peak RSS {peak_rss_mib():,.0f} MiB | load after {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main(argv: list[str]) -> None:
    """Parse ``--sizes`` and run each size in a fresh process (so peak memory is its own)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--export", action="store_true", help="time from export files")
    parser.add_argument("--record", action="store_true", help="also record into SQLite")
    parser.add_argument(
        "--digest", action="store_true", help="print a digest of the findings (with --export)"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.folder:
        run_export(args.folder, args.record, args.digest)
        return
    if args.one:
        run(args.one)
        return
    print(f"Python {sys.version.split()[0]}; half Azure, half GCP resources in API shapes")
    for size in args.sizes:
        # the machine's load beside each figure: a busy machine makes any figure slower
        one, five, _ = os.getloadavg()
        print(
            f"load average before {size:,}: {one:.2f} (1 min), {five:.2f} (5 min), {os.cpu_count()} cores"
        )
        if not args.export:
            subprocess.run([sys.executable, __file__, "--one", str(size)], check=True)
            continue
        with tempfile.TemporaryDirectory(prefix="clamp-bench-") as tmp:
            write_export(size, Path(tmp))
            extra = ["--record"] * args.record + ["--digest"] * args.digest
            subprocess.run([sys.executable, __file__, "--folder", tmp, *extra], check=True)


if __name__ == "__main__":
    main(sys.argv[1:])

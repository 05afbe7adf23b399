"""Benchmark: Azure exposure through Virtual Network Manager security admin rules.

The Azure half of ``bench_exposure`` (NSGs with their NICs, VMs and VNets of 50 subnets),
and, with admin rules, on every VNet the rules a platform team typically deploys: a Deny
of Telnet and SMB from the internet, an ``Allow`` (the NSGs decide) for SSH, an
``AlwaysAllow`` of WinRM from the internet. Prints normalize and evaluate throughput with
and without the admin rules, and the findings by resource kind. Not a test.

    python benchmarks/bench_layers_azure.py               # 20k NSGs
    python benchmarks/bench_layers_azure.py --nsgs 200000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_exposure import NET, azure_estate

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.azure.normalize_admin import ENVELOPE

RULES = "/networkManagers/m/securityAdminConfigurations/c/ruleCollections/rc/rules"


def _admin_rule(name: str, priority: int, ports: list[str], access: str) -> dict[str, Any]:
    return {
        "id": f"{NET}{RULES}/{name}",
        "kind": "Custom",
        "properties": {
            "protocol": "Tcp",
            "sources": [{"addressPrefix": "Internet", "addressPrefixType": "ServiceTag"}],
            "destinations": [{"addressPrefix": "*", "addressPrefixType": "IPPrefix"}],
            "destinationPortRanges": ports,
            "access": access,
            "priority": priority,
            "direction": "Inbound",
        },
    }


ADMIN_RULES = [
    _admin_rule("deny-telnet-smb", 10, ["23", "445"], "Deny"),
    _admin_rule("ssh-to-nsgs", 20, ["22"], "Allow"),
    _admin_rule("always-winrm", 30, ["5985-5986"], "AlwaysAllow"),
]


def run(nsgs: int, with_admin: bool) -> None:
    objects = list(azure_estate(nsgs, random.Random(42)))
    vnets = {o["id"] for o in objects if o["type"] == "Microsoft.Network/virtualNetworks"}
    if with_admin:
        objects += [{"type": ENVELOPE, "virtualNetwork": v, "value": ADMIN_RULES} for v in vnets]
    settings = Settings(database_url="sqlite://")
    start = time.perf_counter()
    resources = resources_from_arm(objects)
    normalized = time.perf_counter()
    findings = evaluate(resources, settings)
    done = time.perf_counter()
    kinds = Counter(
        f.resource.split("/")[7]
        for f in findings
        if f.check.startswith("exposed-") and "port" in f.check
    )
    print(
        f"{'with' if with_admin else 'without'} admin rules: {len(resources):,} resources "
        f"({nsgs:,} NSGs, {len(vnets):,} VNets) | normalize "
        f"{len(resources) / (normalized - start):,.0f}/s | evaluate "
        f"{len(resources) / (done - normalized):,.0f}/s | port findings {dict(kinds)}"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nsgs", type=int, default=20_000)
    args = parser.parse_args(argv)
    for with_admin in (False, True):
        run(args.nsgs, with_admin)


if __name__ == "__main__":
    main(sys.argv[1:])

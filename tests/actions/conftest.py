"""The action tests' sandbox estate: one NSG, two firewalls, one network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState
from rig import Rig, make_rig

SUB = "11111111-2222-4333-8444-555555555555"
RG = f"/subscriptions/{SUB}/resourceGroups/app-rg"
NSG_ID = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/web-nsg"
PROJECT = "acme-prod"
NETWORK = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/prod-vpc"


def _rule(name: str, priority: int, ports: list[str], sources: list[str]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "access": "Allow",
        "priority": priority,
        "direction": "Inbound",
        "sourcePortRanges": [],
        "destinationPortRanges": [],
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
    }
    if len(ports) == 1:
        props["destinationPortRange"] = ports[0]
    else:
        props["destinationPortRanges"] = ports
    if len(sources) == 1:
        props["sourceAddressPrefix"] = sources[0]
    else:
        props["sourceAddressPrefixes"] = sources
    return {
        "name": name,
        "id": f"{NSG_ID}/securityRules/{name}",
        "etag": f'W/"{name}-1"',
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": props,
    }


def scenario() -> dict[str, Any]:
    """One Azure NSG with a mixed SSH+HTTPS rule and an RDP rule that also allows 10/8;
    one GCP network with a mixed SSH+HTTPS firewall and an internet MySQL firewall."""
    nsg = {
        "name": "web-nsg",
        "id": NSG_ID,
        "etag": 'W/"nsg-1"',
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": "westeurope",
        "tags": {"env": "prod"},
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": "6d1d7a3e-0000-4000-8000-000000000001",
            "securityRules": [
                _rule("allow-ssh-https", 100, ["22", "443"], ["Internet"]),
                _rule("allow-rdp", 110, ["3389"], ["0.0.0.0/0", "10.0.0.0/8"]),
                _rule("allow-app", 120, ["8080"], ["*"]),
            ],
            "defaultSecurityRules": [],
        },
    }
    firewall_base = {
        "kind": "compute#firewall",
        "network": NETWORK,
        "direction": "INGRESS",
        "priority": 1000,
        "disabled": False,
        "logConfig": {"enable": False},
    }
    firewalls = [
        {
            **firewall_base,
            "id": "100001",
            "name": "allow-ssh-web",
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/firewalls/allow-ssh-web",
            "creationTimestamp": "2026-01-10T08:00:00.000-08:00",
            "sourceRanges": ["0.0.0.0/0"],
            "allowed": [{"IPProtocol": "tcp", "ports": ["22", "443"]}],
            "targetTags": ["web"],
        },
        {
            **firewall_base,
            "id": "100002",
            "name": "allow-mysql",
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/firewalls/allow-mysql",
            "creationTimestamp": "2026-01-10T08:00:00.000-08:00",
            "sourceRanges": ["0.0.0.0/0", "10.20.0.0/16"],
            "allowed": [{"IPProtocol": "tcp", "ports": ["3306"]}],
        },
    ]
    network = {
        "kind": "compute#network",
        "id": "200001",
        "name": "prod-vpc",
        "selfLink": NETWORK,
        "autoCreateSubnetworks": False,
        "creationTimestamp": "2026-01-10T08:00:00.000-08:00",
    }
    return {"azure": {SUB: [nsg]}, "gcp": {PROJECT: [network, *firewalls]}}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Sandbox(SandboxState.from_scenario(scenario())) as sandbox:
        yield make_rig(sandbox, tmp_path)

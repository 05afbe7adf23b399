"""``clamp import defender``: Defender for Cloud assessments, read through
azure-mgmt-security from the sandbox's ARM side, mapped, and fixed once confirmed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from import_rig import SUBSCRIPTION, Cli, start

GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/clamp-demo/providers"
VMS = f"{GROUP}/Microsoft.Compute/virtualMachines/"
ACCOUNTS = f"{GROUP}/Microsoft.Storage/storageAccounts/"
NSGS = f"{GROUP}/Microsoft.Network/networkSecurityGroups/"
WEB_NSG = NSGS + "web-nsg"
MANAGEMENT_PORTS = (
    "bc303248-3d14-44c2-96a0-55f5c326b5fe",
    "Management ports should be closed on your virtual machines",
)


def assessment(resource: str, key: str, display: str, code: str = "Unhealthy") -> dict[str, Any]:
    """One assessment as ARM returns it (Microsoft.Security 2021-06-01,
    SecurityAssessmentResponse: an extension resource on the assessed resource)."""
    return {
        "id": f"{resource}/providers/Microsoft.Security/assessments/{key}",
        "name": key,
        "type": "Microsoft.Security/assessments",
        "properties": {
            "resourceDetails": {"source": "Azure", "id": resource},
            "displayName": display,
            "status": {"code": code, "cause": "", "description": ""},
            "additionalData": {},
        },
    }


ASSESSMENTS = [
    assessment(VMS + "web-1", *MANAGEMENT_PORTS),  # → web-nsg (its NIC's), frontend-subnet-nsg
    assessment(VMS + "db-1", *MANAGEMENT_PORTS),  # no NSG on its NIC: its subnet's, db-nsg
    assessment(VMS + "ghost", *MANAGEMENT_PORTS),  # a VM that is gone: listed, not guessed
    assessment(VMS + "bastion", *MANAGEMENT_PORTS, code="Healthy"),
    assessment(
        ACCOUNTS + "clampdemodata",
        "4fa4b6c0-31ca-4c0d-b10d-24b96f62a751",
        "Storage account public access should be disallowed",
    ),
    assessment(
        ACCOUNTS + "clampdemodata",
        "1c5de8e1-f68d-6a17-e0d2-ec259c42768c",
        "Secure transfer to storage accounts should be enabled",
    ),
    assessment(
        VMS + "web-1",
        "c3b51c94-588b-426b-a892-24696f9e54cc",
        "IP forwarding on your virtual machine should be disabled",
    ),
]


@pytest.fixture
def defender(tmp_path: Path) -> Iterator[Cli]:
    """The demo estate with Defender for Cloud assessments on its subscription."""
    yield from start(tmp_path, {"azure": {SUBSCRIPTION: ASSESSMENTS}})


def test_unhealthy_assessments_are_read_through_the_client_and_mapped(defender: Cli) -> None:
    report = defender.json("import", "defender", "--subscription", SUBSCRIPTION)

    mapped = {(f["check"], f["resource"]) for f in report["mapped"]}
    assert mapped == {
        ("exposed-admin-port", WEB_NSG),
        ("exposed-admin-port", NSGS + "frontend-subnet-nsg"),
        ("exposed-admin-port", NSGS + "db-nsg"),
        ("storage-public-access", ACCOUNTS + "clampdemodata"),
        ("storage-insecure-transport", ACCOUNTS + "clampdemodata"),
    }
    unmapped = {(u["rule"], u["resource"].rsplit("/", 1)[-1]): u for u in report["unmapped"]}
    assert set(unmapped) == {
        (MANAGEMENT_PORTS[0], "ghost"),
        ("c3b51c94-588b-426b-a892-24696f9e54cc", "web-1"),
    }
    assert "could not be resolved" in unmapped[(MANAGEMENT_PORTS[0], "ghost")]["reason"]
    assert report["passed"] == 1  # bastion's healthy assessment


def test_a_defender_finding_on_a_vm_is_fixed_on_its_nsg_and_undone(defender: Cli) -> None:
    report = defender.json("import", "defender", "--subscription", SUBSCRIPTION)
    nsg = next(f for f in report["mapped"] if f["resource"] == WEB_NSG)
    assert nsg["details"]["external"][0]["resource"] == VMS + "web-1"

    fixed = defender("fix", nsg["id"], "--yes", "--allow", "10.0.0.0/8", "--format", "json")

    assert fixed.exit_code == 0, fixed.output
    action = json.loads(fixed.stdout)
    assert action["status"] == "verified"
    assert defender("undo", action["id"], "--yes").exit_code == 0


def test_a_clamp_scan_is_not_confused_by_the_assessments(defender: Cli) -> None:
    assert defender("scan", "--provider", "azure").exit_code == 0
    checks = {f["check"] for f in defender.json("findings")}
    assert "exposed-admin-port" in checks

"""Exposure on recorded Azure Resource Manager responses (Cloud Custodian's cassettes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.model import PortRange
from clamp.providers.azure.normalize import resources_from_arm

CASSETTES = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "custodian" / "azure-cassettes"
)
pytestmark = pytest.mark.skipif(
    not CASSETTES.is_dir(), reason=f"recorded data absent at {CASSETTES}"
)


def recorded_nsgs(cassette: str) -> list[dict[str, Any]]:
    """The last NSG list the recording returned (the state after the test's setup)."""
    found: list[dict[str, Any]] = []
    for interaction in json.loads((CASSETTES / cassette).read_text())["interactions"]:
        body = interaction["response"]["body"].get("data")
        if isinstance(body, dict) and any(
            v.get("type") == "Microsoft.Network/networkSecurityGroups"
            for v in body.get("value", [])
        ):
            found = body["value"]
    return found


def test_recorded_nsg_has_no_admin_or_database_port_open() -> None:
    # c7n-nsg opens 80, 88-90, 1000-1100 and 8080-8084/8086; SSH is denied at 320.
    assert (
        evaluate(
            resources_from_arm(recorded_nsgs("NetworkSecurityGroupTest.test_open_ports.json")),
            Settings(database_url="sqlite://"),
        )
        == []
    )


def test_recorded_nsg_with_custom_ports_honours_deny_priorities() -> None:
    ports = (PortRange(22, 22), PortRange(80, 80), PortRange(8086, 8086), PortRange(1050, 1050))
    settings = Settings(database_url="sqlite://", admin_ports=ports)

    [finding] = [
        f
        for f in evaluate(
            resources_from_arm(recorded_nsgs("NetworkSecurityGroupTest.test_open_ports.json")),
            settings,
        )
        if f.check == "exposed-admin-port"
    ]

    # 8086 is denied by test3 (290) before test2 (310) allows it; 22 is denied by test4;
    # test5 is outbound. 80 (test1) and 1050 (the 1000-1100 policy rule) stay open.
    assert finding.details["ports"] == ["80", "1050"]
    assert {r["name"] for r in finding.details["rules"]} == {
        "test1",
        "c7n-policy-baea42b8-85e7-11eb-b168-00155d1e47af",
    }
    assert finding.details["protocols"] == ["tcp", "udp"]

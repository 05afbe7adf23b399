"""Findings on real-format exports: Google's policy-library CAI firewalls, Forseti's CAI
dumps, and recorded Azure NSGs and NICs (expected results read off the data by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.inventory.offline import load_offline
from clamp.model import Finding, PortRange
from clamp.providers.azure.normalize import resources_from_arm

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
RULES = DATA / "gcp-cai" / "policy-library" / "validator" / "test" / "fixtures"
RULES = RULES / "restricted_firewall_rules" / "assets"
FORSETI = DATA / "gcp-cai" / "forseti"
CASSETTES = DATA / "custodian" / "azure-cassettes"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real-format data absent at {DATA}")
SETTINGS = Settings(database_url="sqlite://")


def findings(path: Path, check: str = "exposed-admin-port") -> dict[str, Finding]:
    """Findings of one check by ``project/firewall`` (from the full resource name)."""
    found = evaluate(load_offline([path]), SETTINGS)
    return {short(f.resource): f for f in found if f.check == check}


def short(full_name: str) -> str:
    """``P/F`` from ``//compute.googleapis.com/projects/P/global/firewalls/F``."""
    parts = full_name.split("/")
    return f"{parts[4]}/{parts[-1]}"


def test_cai_udp_range_exposes_exactly_the_sensitive_ports_inside_it() -> None:
    # cf-test-fw-rule-0: INGRESS from 0.0.0.0/0, icmp + tcp 123 + udp 1000-7000
    rule0 = findings(RULES / "protocol_and_port" / "data.json")[
        "cf-gcp-challenge-dev/cf-test-fw-rule-0"
    ]
    assert rule0.details["ports"] == ["3389", "5900", "5985-5986"]
    assert rule0.details["protocols"] == ["udp"]
    db = findings(RULES / "protocol_and_port" / "data.json", "exposed-database-port")
    assert db["cf-gcp-challenge-dev/cf-test-fw-rule-0"].details["ports"] == [
        "1433-1434",
        "1521",
        "2483-2484",
        "3306",
        "5432",
        "5984",
        "6379",
        "7000",
    ]


def test_cai_rule_on_every_tcp_port_lists_the_tcp_and_sctp_entries() -> None:
    # cf-test-fw-rule-6 allows tcp (all ports), udp 5200, ah, sctp and icmp
    rule6 = findings(RULES / "protocol_and_port" / "data.json")[
        "cf-gcp-challenge-dev/cf-test-fw-rule-6"
    ]
    assert rule6.details["protocols"] == ["sctp", "tcp"]
    assert rule6.details["ports"][0] == "21-23"


def test_cai_targets_fixture_flags_enabled_internet_ingress_only() -> None:
    # target-1/-5 are disabled allows, target-4/-7 disabled denies, target-8..11 egress
    names = {k.split("/")[1] for k in findings(RULES / "targets" / "data.json")}
    assert names == {
        "cf-test-fw-rule-target-0",
        "cf-test-fw-rule-target-2",
        "cf-test-fw-rule-target-3",
        "cf-test-fw-rule-target-6",
    }


def test_forseti_dump_flags_default_ssh_and_rdp_and_names_the_reached_instances() -> None:
    found = findings(FORSETI / "mock_cai_resources.dump")

    assert set(found) == {
        "project1/default-allow-ssh",
        "project2/default-allow-ssh",
        "project2/default-allow-rdp",
    }
    ssh1 = found["project1/default-allow-ssh"]
    assert ssh1.details["ports"] == ["22"]
    assert ssh1.details["reaches_total"] == 3
    assert {r["instance"].rsplit("/", 1)[-1] for r in ssh1.details["reaches"]} == {
        "iap_instance1",
        "iap_instance2",
        "iap_instance3",
    }
    # every reached instance has an external IP, so the exposure is one hop from anyone
    assert ssh1.severity == "critical"
    rdp2 = found["project2/default-allow-rdp"]
    assert [r["instance"].rsplit("/", 1)[-1] for r in rdp2.details["reaches"]] == ["instance3"]


def test_forseti_dump_load_balancer_ranges_are_not_the_internet() -> None:
    # default-allow-https-lb admits 130.211.0.0/22 and 35.191.0.0/16 only (health checks)
    found = findings(FORSETI / "mock_cai_resources.dump")
    assert "project1/default-allow-https-lb" not in found


def recorded(cassette: str, kind: str) -> list[dict[str, Any]]:
    """Every distinct ARM object of one type a recording returned."""
    objects: dict[str, dict[str, Any]] = {}
    for interaction in json.loads((CASSETTES / cassette).read_text())["interactions"]:
        body = interaction["response"]["body"].get("data")
        if isinstance(body, dict):
            for obj in body.get("value", [body]):
                if isinstance(obj, dict) and obj.get("type") == kind:
                    objects[obj["id"]] = obj
    return list(objects.values())


def test_recorded_nsg_and_nics_reach_every_vm_of_the_subnet() -> None:
    # k8s-master-C02B7042-nsg (on k8s-subnet) allows tcp 22 from *; the master's and the
    # three agents' NICs sit in k8s-subnet with no NIC-level NSG and no public IP.
    nsgs = recorded(
        "NetworkSecurityGroupTest.test_allow_multiple_ports.json",
        "Microsoft.Network/networkSecurityGroups",
    )
    nics = recorded(
        "NetworkInterfaceTest.test_find_by_name.json", "Microsoft.Network/networkInterfaces"
    )

    found = evaluate(resources_from_arm(nsgs + nics), SETTINGS)

    [finding] = found
    assert finding.resource.endswith("/networkSecurityGroups/k8s-master-C02B7042-nsg")
    assert finding.details["ports"] == ["22"]
    assert finding.details["rules"][0]["name"] == "allow_ssh"
    assert sorted(r["vm"].rsplit("/", 1)[-1] for r in finding.details["reaches"]) == [
        "k8s-agent-C02B7042-0",
        "k8s-agent-C02B7042-1",
        "k8s-agent-C02B7042-2",
        "k8s-master-C02B7042-0",
    ]
    assert finding.severity == "high"


def test_recorded_deny_all_and_mixed_nsgs() -> None:
    # nsg-allow-all-ingress: * from * at 100; nsg-deny-all-ingress: deny * at 100;
    # nsg-mixed-rules: allow 80, deny 22 (200), allow 443 — nothing sensitive is open.
    nsgs = recorded(
        "NetworkSecurityGroupTest.test_deny_implicit.json",
        "Microsoft.Network/networkSecurityGroups",
    )

    found = evaluate(resources_from_arm(nsgs), SETTINGS)

    assert {(f.resource.rsplit("/", 1)[-1], f.check) for f in found} == {
        ("nsg-allow-all-ingress", "exposed-admin-port"),
        ("nsg-allow-all-ingress", "exposed-database-port"),
    }
    assert all(f.details["protocols"] == ["tcp", "udp"] for f in found)


def test_recorded_service_tags_and_named_addresses_are_not_the_internet() -> None:
    # 43 production NSGs: SSH/RDP/SQL only from named IPs, VirtualNetwork, SqlManagement,
    # CorpNetSaw, AzureLoadBalancer or application security groups; etcd 2379 from * is
    # open, but 2379 is not in the database port set.
    nsgs = recorded(
        "NetworkSecurityGroupTest.test_cidr_and_ingress_no_match.json",
        "Microsoft.Network/networkSecurityGroups",
    )
    assert len(nsgs) == 43
    assert evaluate(resources_from_arm(nsgs), SETTINGS) == []


def test_rest_spec_example_nsg_opens_only_port_80() -> None:
    example = json.loads(
        (DATA / "azure-rest-examples" / "NetworkSecurityGroupGet.2025-07-01.json").read_text()
    )
    nsg = example["responses"]["200"]["body"]
    assert evaluate(resources_from_arm([nsg]), SETTINGS) == []
    http = Settings(database_url="sqlite://", admin_ports=(PortRange(80, 80),))
    [finding] = evaluate(resources_from_arm([nsg]), http)
    assert finding.details["rules"][0]["name"] == "rule1"

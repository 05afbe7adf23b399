"""Compute API objects → Resources with the facets the checks read (pure, no SDK)."""

from __future__ import annotations

from typing import Any

import pytest

from clamp.errors import InputError
from clamp.model import ALL_PORTS, Access, Direction, PortRange, Protocol, ResourceType
from clamp.providers.gcp.normalize import resources_from_compute

NETWORK = "https://www.googleapis.com/compute/v1/projects/shop-prod/global/networks/default"


def firewall(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "compute#firewall",
        "id": "4242",
        "name": "allow-ssh",
        "network": NETWORK,
        "sourceRanges": ["0.0.0.0/0"],
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
        **fields,
    }


def rules_of(obj: dict[str, Any]) -> Any:
    [resource] = resources_from_compute("shop-prod", [obj])
    return resource.facets["rules"]


def test_firewall_full_name_scope_and_network() -> None:
    [resource] = resources_from_compute("shop-prod", [firewall(labels={"team": "web"})])

    assert resource.id == "//compute.googleapis.com/projects/shop-prod/global/firewalls/allow-ssh"
    assert resource.type == ResourceType.GCP_FIREWALL
    assert resource.scope == "shop-prod"
    assert resource.facets["network"] == NETWORK
    assert resource.tags == {"team": "web"}


def test_defaults_are_priority_1000_ingress_enabled() -> None:
    [rule] = rules_of(firewall())

    assert (rule.priority, rule.direction, rule.access, rule.enabled) == (
        1000,
        Direction.INGRESS,
        Access.ALLOW,
        True,
    )
    assert rule.sources == ("0.0.0.0/0",)
    assert rule.ports == (PortRange(22, 22),)
    assert rule.network == NETWORK


def test_each_allowed_entry_is_one_rule_with_its_own_protocol_and_ports() -> None:
    rules = rules_of(
        firewall(
            allowed=[
                {"IPProtocol": "tcp", "ports": ["22", "8000-8080"]},
                {"IPProtocol": "udp"},
                {"IPProtocol": "all"},
            ]
        )
    )

    assert [(set(r.protocols), r.ports) for r in rules] == [
        ({Protocol.TCP}, (PortRange(22, 22), PortRange(8000, 8080))),
        ({Protocol.UDP}, ALL_PORTS),
        ({Protocol.ANY}, ALL_PORTS),
    ]


def test_protocol_numbers_and_names_map_to_the_same_protocol() -> None:
    entries = [{"IPProtocol": p} for p in ("6", "17", "132", "1", "sctp", "esp", "ah", "47")]
    protocols = [next(iter(r.protocols)) for r in rules_of(firewall(allowed=entries))]
    assert protocols == [
        Protocol.TCP,
        Protocol.UDP,
        Protocol.SCTP,
        Protocol.ICMP,
        Protocol.SCTP,
        Protocol.ESP,
        Protocol.AH,
        Protocol.OTHER,
    ]


def test_denied_firewall_is_a_deny_rule() -> None:
    fw = firewall(denied=[{"IPProtocol": "tcp", "ports": ["22"]}], priority=10)
    del fw["allowed"]
    [rule] = rules_of(fw)
    assert (rule.access, rule.priority) == (Access.DENY, 10)


def test_firewall_with_both_lists_is_read_as_allowed_so_nothing_is_hidden() -> None:
    [rule] = rules_of(firewall(denied=[{"IPProtocol": "all"}]))
    assert rule.access == Access.ALLOW


def test_disabled_egress_and_targets_are_kept() -> None:
    [rule] = rules_of(
        firewall(
            disabled=True,
            direction="EGRESS",
            destinationRanges=["0.0.0.0/0"],
            sourceRanges=[],
            targetTags=["web"],
            targetServiceAccounts=["app@shop-prod.iam.gserviceaccount.com"],
        )
    )
    assert (rule.enabled, rule.direction) == (False, Direction.EGRESS)
    assert rule.target_tags == ("web",)
    assert rule.target_service_accounts == ("app@shop-prod.iam.gserviceaccount.com",)


def instance(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "compute#instance",
        "id": "77",
        "name": "web-1",
        "zone": "https://www.googleapis.com/compute/v1/projects/shop-prod/zones/europe-west1-b",
        "status": "RUNNING",
        "labels": {"env": "prod"},
        "tags": {"items": ["web", "ssh"], "fingerprint": "abc="},
        "serviceAccounts": [{"email": "app@shop-prod.iam.gserviceaccount.com", "scopes": []}],
        "networkInterfaces": [
            {
                "network": NETWORK,
                "accessConfigs": [
                    {"type": "ONE_TO_ONE_NAT", "name": "External NAT", "natIP": "34.1.2.3"}
                ],
            }
        ],
        **fields,
    }


def test_instance_full_name_uses_the_zone_and_facets() -> None:
    [resource] = resources_from_compute("shop-prod", [instance()])

    assert resource.id == (
        "//compute.googleapis.com/projects/shop-prod/zones/europe-west1-b/instances/web-1"
    )
    assert resource.facets == {
        "networks": (NETWORK,),
        "external_ip": True,
        "tags": ("web", "ssh"),
        "service_accounts": ("app@shop-prod.iam.gserviceaccount.com",),
        "scopes": {"app@shop-prod.iam.gserviceaccount.com": ()},
        "status": "RUNNING",
        "addresses": ("34.1.2.3",),
    }
    assert resource.tags == {"env": "prod"}


def test_instance_without_access_configs_has_no_external_ip() -> None:
    nic = {"network": NETWORK, "networkIP": "10.0.0.2"}
    [resource] = resources_from_compute("shop-prod", [instance(networkInterfaces=[nic])])
    assert resource.facets["external_ip"] is False


def test_one_to_one_nat_without_an_address_yet_counts_as_external() -> None:
    nic = {"network": NETWORK, "accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}
    [resource] = resources_from_compute("shop-prod", [instance(networkInterfaces=[nic])])
    assert resource.facets["external_ip"] is True


def test_external_ipv6_counts_as_external() -> None:
    nic = {
        "network": NETWORK,
        "ipv6AccessConfigs": [{"type": "DIRECT_IPV6", "externalIpv6": "2600:1900::1"}],
    }
    [resource] = resources_from_compute("shop-prod", [instance(networkInterfaces=[nic])])
    assert resource.facets["external_ip"] is True


def test_network_and_unknown_kinds() -> None:
    network = {"kind": "compute#network", "name": "default", "selfLink": NETWORK}
    disk = {"kind": "compute#disk", "name": "d"}

    [resource] = resources_from_compute("shop-prod", [network, disk])

    assert resource.id == "//compute.googleapis.com/projects/shop-prod/global/networks/default"
    assert (resource.type, resource.facets) == (ResourceType.GCP_NETWORK, {})


def test_malformed_ports_are_an_input_error_naming_the_firewall() -> None:
    with pytest.raises(InputError, match=r"firewalls/allow-ssh.*'22-x'"):
        resources_from_compute(
            "shop-prod", [firewall(allowed=[{"IPProtocol": "tcp", "ports": ["22-x"]}])]
        )

"""ARM objects → Resources with the facets the checks read (pure, no SDK)."""

from __future__ import annotations

from typing import Any

import pytest

from clamp.errors import InputError
from clamp.model import ALL_PORTS, Access, Direction, PortRange, Protocol, ResourceType
from clamp.providers.azure.normalize import resources_from_arm

SUB = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
RG = f"/subscriptions/{SUB}/resourceGroups/Prod-RG/providers"
NSG_ID = f"{RG}/Microsoft.Network/networkSecurityGroups/web-nsg"
SUBNET_ID = f"{RG}/Microsoft.Network/virtualNetworks/vnet1/subnets/web"
NIC_ID = f"{RG}/Microsoft.Network/networkInterfaces/web-nic"
VM_ID = f"{RG}/Microsoft.Compute/virtualMachines/web-vm"
PIP_ID = f"{RG}/Microsoft.Network/publicIPAddresses/web-ip"


def rule(name: str, **props: Any) -> dict[str, Any]:
    base = {
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "access": "Allow",
        "priority": 100,
        "direction": "Inbound",
    }
    return {"name": name, "id": f"{NSG_ID}/securityRules/{name}", "properties": {**base, **props}}


def nsg(*rules: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {
        "id": NSG_ID,
        "name": "web-nsg",
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": "westeurope",
        "tags": {"env": "prod"},
        "properties": {"securityRules": list(rules), **props},
    }


def only_rule(*rules: dict[str, Any]) -> Any:
    [resource] = resources_from_arm([nsg(*rules)])
    return resource.facets["rules"][0]


def test_nsg_keeps_id_name_scope_from_the_arm_id_and_tags() -> None:
    [resource] = resources_from_arm([nsg()])

    assert resource.id == NSG_ID
    assert resource.type == ResourceType.AZURE_NSG
    assert resource.name == "web-nsg"
    assert resource.scope == SUB
    assert resource.tags == {"env": "prod"}


def test_given_subscription_wins_over_the_arm_id() -> None:
    [resource] = resources_from_arm([nsg()], subscription="other")
    assert resource.scope == "other"


def test_singular_fields_are_read() -> None:
    r = only_rule(rule("ssh", sourceAddressPrefix="Internet", destinationPortRange="22"))

    assert r.sources == ("Internet",)
    assert r.ports == (PortRange(22, 22),)
    assert r.protocols == frozenset({Protocol.TCP})
    assert (r.direction, r.access, r.priority, r.default) == (
        Direction.INGRESS,
        Access.ALLOW,
        100,
        False,
    )


def test_plural_fields_are_read_and_ranges_merged() -> None:
    r = only_rule(
        rule(
            "multi",
            sourceAddressPrefix="",
            sourceAddressPrefixes=["10.0.0.0/8", "0.0.0.0/0"],
            destinationPortRange="",
            destinationPortRanges=["3389", "20-25", "22"],
        )
    )

    assert r.sources == ("10.0.0.0/8", "0.0.0.0/0")
    assert r.ports == (PortRange(20, 25), PortRange(3389, 3389))


def test_star_port_means_every_port() -> None:
    assert only_rule(rule("any", destinationPortRange="*")).ports == ALL_PORTS
    assert only_rule(rule("none", sourceAddressPrefix="*")).ports == ALL_PORTS


def test_protocols_are_case_insensitive() -> None:
    expected = {
        "*": Protocol.ANY,
        "Tcp": Protocol.TCP,
        "UDP": Protocol.UDP,
        "icmp": Protocol.ICMP,
        "Esp": Protocol.ESP,
        "Ah": Protocol.AH,
    }
    for text, protocol in expected.items():
        assert only_rule(rule("r", protocol=text)).protocols == frozenset({protocol}), text


def test_outbound_deny_is_read_as_egress_deny() -> None:
    r = only_rule(rule("out", direction="Outbound", access="Deny"))
    assert (r.direction, r.access) == (Direction.EGRESS, Access.DENY)


def test_default_rules_are_kept_and_marked_default() -> None:
    default = rule("DenyAllInBound", priority=65500, access="Deny", protocol="*")
    [resource] = resources_from_arm([nsg(rule("ssh"), defaultSecurityRules=[default])])

    names = [(r.name, r.default) for r in resource.facets["rules"]]
    assert names == [("ssh", False), ("DenyAllInBound", True)]


def test_application_security_group_sources_are_kept_and_are_not_internet() -> None:
    asg = f"{RG}/Microsoft.Network/applicationSecurityGroups/web-asg"
    r = only_rule(
        rule("asg", sourceAddressPrefix="", sourceApplicationSecurityGroups=[{"id": asg}])
    )
    assert r.sources == (asg,)


def test_destination_application_security_groups_are_the_rule_targets() -> None:
    asg = f"{RG}/Microsoft.Network/applicationSecurityGroups/Web-ASG"
    r = only_rule(rule("to-web", destinationApplicationSecurityGroups=[{"id": asg}]))
    assert r.target_tags == (asg.lower(),)
    assert only_rule(rule("plain")).target_tags == ()


def test_nic_lists_the_application_security_groups_of_its_ip_configurations() -> None:
    web = f"{RG}/Microsoft.Network/applicationSecurityGroups/WEB"
    db = f"{RG}/Microsoft.Network/applicationSecurityGroups/db"
    configs = [
        {"name": "a", "properties": {"applicationSecurityGroups": [{"id": web}, {"id": db}]}},
        {"name": "b", "properties": {"applicationSecurityGroups": [{"id": web}]}},
    ]
    nic = {
        "id": NIC_ID,
        "name": "nic",
        "type": "Microsoft.Network/networkInterfaces",
        "properties": {"ipConfigurations": configs},
    }
    [resource] = resources_from_arm([nic])
    assert resource.facets["asgs"] == (web.lower(), db.lower())


def test_nsg_links_to_subnets_and_nics() -> None:
    [resource] = resources_from_arm(
        [nsg(subnets=[{"id": SUBNET_ID}], networkInterfaces=[{"id": NIC_ID}])]
    )
    assert resource.facets["subnets"] == (SUBNET_ID,)
    assert resource.facets["network_interfaces"] == (NIC_ID,)


def test_vnet_yields_itself_and_one_resource_per_subnet() -> None:
    vnet_id = SUBNET_ID.rsplit("/subnets/", 1)[0]
    vnet = {
        "id": vnet_id,
        "name": "vnet1",
        "type": "Microsoft.Network/virtualNetworks",
        "properties": {
            "subnets": [
                {
                    "id": SUBNET_ID,
                    "name": "web",
                    "properties": {"networkSecurityGroup": {"id": NSG_ID}},
                },
                {"id": f"{vnet_id}/subnets/db", "name": "db", "properties": {}},
            ]
        },
    }

    vnet_resource, web, db = resources_from_arm([vnet])

    assert vnet_resource.facets["subnets"] == (SUBNET_ID, f"{vnet_id}/subnets/db")
    assert (web.type, web.facets) == (ResourceType.AZURE_SUBNET, {"nsg": NSG_ID, "vnet": vnet_id})
    assert db.facets == {"nsg": None, "vnet": vnet_id}


def test_standalone_subnet_object_knows_its_vnet() -> None:
    subnet = {
        "id": SUBNET_ID,
        "name": "web",
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "properties": {"networkSecurityGroup": {"id": NSG_ID}},
    }
    [resource] = resources_from_arm([subnet])
    assert resource.facets == {"nsg": NSG_ID, "vnet": SUBNET_ID.rsplit("/subnets/", 1)[0]}


def test_nic_vm_and_public_ip_facets() -> None:
    nic = {
        "id": NIC_ID,
        "name": "web-nic",
        "type": "Microsoft.Network/networkInterfaces",
        "properties": {
            "networkSecurityGroup": {"id": NSG_ID},
            "virtualMachine": {"id": VM_ID},
            "ipConfigurations": [
                {
                    "name": "ipconfig1",
                    "properties": {
                        "subnet": {"id": SUBNET_ID},
                        "publicIPAddress": {"id": PIP_ID},
                    },
                }
            ],
        },
    }
    vm = {
        "id": VM_ID,
        "name": "web-vm",
        "type": "Microsoft.Compute/virtualMachines",
        "identity": {"type": "SystemAssigned", "principalId": "p"},
        "properties": {
            "networkProfile": {"networkInterfaces": [{"id": NIC_ID}]},
            "instanceView": {
                "statuses": [
                    {"code": "ProvisioningState/succeeded"},
                    {"code": "PowerState/running"},
                ]
            },
        },
    }
    pip = {
        "id": PIP_ID,
        "name": "web-ip",
        "type": "Microsoft.Network/publicIPAddresses",
        "properties": {"ipAddress": "20.1.2.3"},
    }

    nic_r, vm_r, pip_r = resources_from_arm([nic, vm, pip])

    assert nic_r.facets == {
        "nsg": NSG_ID,
        "subnets": (SUBNET_ID,),
        "vm": VM_ID,
        "public_ips": (PIP_ID,),
        "asgs": (),
        "private_ips": (),
    }
    assert vm_r.facets == {
        "network_interfaces": (NIC_ID,),
        "power_state": "PowerState/running",
        "identity": {"type": "SystemAssigned", "principalId": "p"},
        "principals": ({"kind": "system", "principal_id": "p", "id": ""},),
    }
    assert pip_r.facets == {"ip_address": "20.1.2.3"}


def test_types_clamp_does_not_evaluate_are_skipped() -> None:
    vault = {
        "id": f"{RG}/Microsoft.KeyVault/vaults/secrets",
        "type": "Microsoft.KeyVault/vaults",
    }
    assert resources_from_arm([vault]) == []


def test_arm_type_is_matched_case_insensitively() -> None:
    obj = nsg()
    obj["type"] = "microsoft.network/networksecuritygroups"
    assert [r.type for r in resources_from_arm([obj])] == [ResourceType.AZURE_NSG]


def test_malformed_port_is_an_input_error_naming_the_nsg_and_rule() -> None:
    with pytest.raises(InputError, match=r"web-nsg.*'bad'.*'twenty-two'"):
        resources_from_arm([nsg(rule("bad", destinationPortRange="twenty-two"))])

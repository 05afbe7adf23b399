"""The sandbox's NSGs as the network resource provider keeps them, through the real
azure-mgmt-network client: one etag per NSG shared by its rules, conditions ignored where
the spec declares none, ARM's validation codes, and no deleting an NSG in use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network.models import NetworkSecurityGroup

from clamp.config import Settings
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

SUB = "00000000-0000-4000-8000-000000000001"
GROUP = "clamp-demo"
CASSETTES = Path(__file__).parents[2] / ".." / "shared" / "data" / "custodian" / "azure-cassettes"
OPEN_PORTS = CASSETTES / "NetworkSecurityGroupTest.test_open_ports.json"


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as running:
        yield running


@pytest.fixture
def clients(box: Sandbox) -> AzureClients:
    return AzureClients(Settings(database_url="sqlite://", sandbox_url=box.url))


@pytest.fixture
def network(clients: AzureClients) -> NetworkManagementClient:
    return clients.network(SUB)


def _rule(priority: int = 200, **props: Any) -> dict[str, Any]:
    return {
        "properties": {
            "protocol": "Tcp",
            "access": "Allow",
            "direction": "Inbound",
            "priority": priority,
            "sourceAddressPrefix": "10.0.0.0/8",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "22",
            **props,
        }
    }


def _etags(nsg: NetworkSecurityGroup) -> set[str]:
    rules = [*(nsg.security_rules or []), *(nsg.default_security_rules or [])]
    return {str(r.etag) for r in rules}


def _put_rule(network: NetworkManagementClient, name: str, body: dict[str, Any]) -> Any:
    return network.security_rules.begin_create_or_update(GROUP, "web-nsg", name, body).result()


# -- one etag per NSG -----------------------------------------------------------------------
def test_every_rule_carries_its_nsgs_etag(network: NetworkManagementClient) -> None:
    for nsg in network.network_security_groups.list_all():
        assert _etags(nsg) == {nsg.etag}


def test_one_rule_put_gives_the_nsg_and_all_its_rules_one_new_etag(
    network: NetworkManagementClient,
) -> None:
    before = network.network_security_groups.get(GROUP, "web-nsg")

    written = _put_rule(network, "allow-ssh-office", _rule())

    after = network.network_security_groups.get(GROUP, "web-nsg")
    assert after.etag != before.etag and written.etag == after.etag
    assert _etags(after) == {after.etag}
    untouched = network.security_rules.get(GROUP, "web-nsg", "allow-http")
    assert untouched.etag == after.etag


def test_a_rule_delete_and_an_nsg_put_restamp_every_rule(
    network: NetworkManagementClient,
) -> None:
    _put_rule(network, "allow-ssh-office", _rule())
    created = network.network_security_groups.get(GROUP, "web-nsg")
    network.security_rules.begin_delete(GROUP, "web-nsg", "allow-ssh-office").result()
    deleted = network.network_security_groups.get(GROUP, "web-nsg")

    deleted.tags = {"owner": "net"}
    put = network.network_security_groups.begin_create_or_update(GROUP, "web-nsg", deleted).result()

    assert len({created.etag, deleted.etag, put.etag}) == 3
    assert _etags(deleted) == {deleted.etag} and _etags(put) == {put.etag}
    assert {r.name for r in put.default_security_rules or []} >= {"DenyAllInBound"}


@pytest.mark.skipif(not OPEN_PORTS.is_file(), reason="../shared/data/custodian is not present")
def test_the_recorded_rule_put_restamped_the_whole_nsg_as_the_sandbox_does() -> None:
    # The fact the sandbox copies: before and after a recorded rule PUT, every rule (custom
    # and default) carries its NSG's etag, and the NSG's etag changed.
    interactions = json.loads(OPEN_PORTS.read_text())["interactions"]
    put = next(i for i, x in enumerate(interactions) if x["request"]["method"] == "PUT")
    lists = [interactions[put - 1], interactions[put + 1]]
    nsgs = [
        next(n for n in x["response"]["body"]["data"]["value"] if n["name"] == "c7n-nsg")
        for x in lists
    ]
    for nsg in nsgs:
        props = nsg["properties"]
        rules = [*props["securityRules"], *props["defaultSecurityRules"]]
        assert {r["etag"] for r in rules} == {nsg["etag"]}
    assert nsgs[0]["etag"] != nsgs[1]["etag"]


# -- conditions only where the spec declares them -------------------------------------------
def test_network_writes_ignore_if_match_which_their_spec_does_not_declare(
    network: NetworkManagementClient,
) -> None:
    stale = {"If-Match": 'W/"stale"'}

    network.security_rules.begin_create_or_update(
        GROUP, "web-nsg", "allow-ssh-office", _rule(), headers=stale
    ).result()
    network.security_rules.begin_delete(
        GROUP, "web-nsg", "allow-ssh-office", headers=stale
    ).result()
    nsg = network.network_security_groups.get(GROUP, "web-nsg")
    network.network_security_groups.begin_create_or_update(
        GROUP, "web-nsg", nsg, headers={"If-None-Match": "*"}
    ).result()

    assert network.network_security_groups.get(GROUP, "web-nsg").etag != nsg.etag


def test_a_vm_patch_honours_the_if_match_its_spec_declares(clients: AzureClients) -> None:
    compute: ComputeManagementClient = clients.compute(SUB)
    vm = next(iter(compute.virtual_machines.list_all()))
    group = str(vm.id).split("/")[4]
    read = compute.virtual_machines.get(group, vm.name)
    compute.virtual_machines.begin_update(
        group,
        vm.name,
        {"tags": {"a": "1"}},
        etag=read.etag,
        match_condition=MatchConditions.IfNotModified,
    ).result()

    with pytest.raises(HttpResponseError) as stale:
        compute.virtual_machines.begin_update(
            group,
            vm.name,
            {"tags": {"a": "2"}},
            etag=read.etag,
            match_condition=MatchConditions.IfNotModified,
        ).result()

    assert stale.value.status_code == 412
    assert compute.virtual_machines.get(group, vm.name).tags == {"a": "1"}


# -- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("props", "code"),
    [
        ({"destinationPortRange": "70000"}, "SecurityRuleInvalidPortRange"),
        ({"destinationPortRange": "30-20"}, "SecurityRuleInvalidPortRange"),
        ({"destinationPortRange": "ssh"}, "SecurityRuleInvalidPortRange"),
        (
            {"destinationPortRange": None, "destinationPortRanges": ["22", "99999"]},
            "SecurityRuleInvalidPortRange",
        ),
        ({"sourceAddressPrefix": "10.0.0.0/33"}, "SecurityRuleInvalidAddressPrefix"),
        ({"sourceAddressPrefix": "10.0.0.0/8,10.1.0.0/16"}, "SecurityRuleInvalidAddressPrefix"),
        ({"sourceAddressPrefix": "10.0.0.300"}, "SecurityRuleInvalidAddressPrefix"),
        ({"priority": 99}, "SecurityRuleInvalidPriority"),
        ({"priority": 4097}, "SecurityRuleInvalidPriority"),
        ({"protocol": "Gre"}, "InvalidRequestFormat"),
        ({"access": "Permit"}, "InvalidRequestFormat"),
        ({"direction": "Ingress"}, "InvalidRequestFormat"),
        ({"destinationPortRanges": ["80"]}, "SecurityRuleInvalid"),
        ({"priority": 100}, "SecurityRuleConflict"),  # web-nsg's allow-rdp is Inbound at 100
    ],
)
def test_a_rule_arm_would_refuse_is_refused_with_its_code_and_nothing_changes(
    box: Sandbox, network: NetworkManagementClient, props: dict[str, Any], code: str
) -> None:
    before = box.state.to_scenario()

    with pytest.raises(HttpResponseError) as refused:
        _put_rule(network, "bad", _rule(**props))
    with pytest.raises(HttpResponseError) as inline:
        nsg = network.network_security_groups.get(GROUP, "web-nsg").as_dict()
        nsg["properties"]["securityRules"].append({"name": "bad", **_rule(**props)})
        network.network_security_groups.begin_create_or_update(GROUP, "web-nsg", nsg).result()

    assert refused.value.status_code == 400 and refused.value.error.code == code
    assert inline.value.status_code == 400 and inline.value.error.code == code
    assert box.state.to_scenario() == before


@pytest.mark.parametrize(
    "props",
    [
        {"sourceAddressPrefix": "Internet"},
        {"sourceAddressPrefix": "Storage.WestEurope"},
        {"sourceAddressPrefix": "2001:db8::/32"},
        {"sourceAddressPrefix": "192.0.2.7"},
        {"sourceAddressPrefix": None, "sourceAddressPrefixes": ["192.0.2.0/24", "10.1.0.0/16"]},
        {"destinationPortRange": "0-65535", "protocol": "*"},
        {"destinationPortRange": None, "destinationPortRanges": ["22", "3389-3390"]},
        {"protocol": "TCP"},  # recorded as such (NetworkSecurityGroupTest.test_open_ports)
        {"protocol": "Icmp", "destinationPortRange": "*"},
        {"protocol": "Esp"},
        {"protocol": "Ah"},
        {"priority": 4096, "direction": "Outbound", "access": "Deny"},
    ],
)
def test_a_rule_arm_accepts_is_stored(network: NetworkManagementClient, props: Any) -> None:
    written = _put_rule(network, "good", _rule(**props))

    assert written.provisioning_state == "Succeeded"
    assert network.security_rules.get(GROUP, "web-nsg", "good").priority == written.priority


def test_inline_rules_of_one_nsg_put_may_not_share_priority_and_direction(
    network: NetworkManagementClient,
) -> None:
    body = {
        "location": "westeurope",
        "properties": {
            "securityRules": [{"name": "a", **_rule()}, {"name": "b", **_rule()}],
        },
    }

    with pytest.raises(HttpResponseError) as refused:
        network.network_security_groups.begin_create_or_update(GROUP, "two", body).result()

    assert refused.value.error.code == "SecurityRuleConflict"
    assert "two" not in {n.name for n in network.network_security_groups.list_all()}


def test_inline_rules_get_their_id_type_and_the_nsgs_etag(
    network: NetworkManagementClient,
) -> None:
    body = {"location": "westeurope", "properties": {"securityRules": [{"name": "a", **_rule()}]}}

    made = network.network_security_groups.begin_create_or_update(GROUP, "one", body).result()

    [rule] = made.security_rules or []
    assert rule.id == f"{made.id}/securityRules/a" and rule.etag == made.etag
    assert rule.type == "Microsoft.Network/networkSecurityGroups/securityRules"
    assert len(made.default_security_rules or []) == 6 and _etags(made) == {made.etag}


# -- no deleting an NSG in use --------------------------------------------------------------
def test_an_nsg_attached_to_a_nic_cannot_be_deleted_until_detached(
    box: Sandbox, network: NetworkManagementClient
) -> None:
    body = {"location": "westeurope", "properties": {}}
    nsg = network.network_security_groups.begin_create_or_update(GROUP, "nic-nsg", body).result()
    nic = next(iter(network.network_interfaces.list_all()))
    was = nic.network_security_group
    nic.network_security_group = NetworkSecurityGroup(id=nsg.id)
    network.network_interfaces.begin_create_or_update(GROUP, str(nic.name), nic).result()
    before = box.state.to_scenario()

    with pytest.raises(HttpResponseError) as in_use:
        network.network_security_groups.begin_delete(GROUP, "nic-nsg").result()

    assert in_use.value.status_code == 400
    assert in_use.value.error.code == "InUseNetworkSecurityGroupCannotBeDeleted"
    assert str(nic.id) in str(in_use.value.error.message)
    assert box.state.to_scenario() == before
    nic.network_security_group = was
    network.network_interfaces.begin_create_or_update(GROUP, str(nic.name), nic).result()
    network.network_security_groups.begin_delete(GROUP, "nic-nsg").result()
    assert "nic-nsg" not in {n.name for n in network.network_security_groups.list_all()}


def test_an_nsg_attached_to_a_subnet_cannot_be_deleted(network: NetworkManagementClient) -> None:
    body = {"location": "westeurope", "properties": {}}
    made = network.network_security_groups.begin_create_or_update(GROUP, "subnet-nsg", body)
    nsg = made.result()
    vnet = next(iter(network.virtual_networks.list_all()))
    group = str(vnet.id).split("/")[4]
    subnet = (vnet.subnets or [])[0]
    subnet.network_security_group = NetworkSecurityGroup(id=nsg.id)
    network.subnets.begin_create_or_update(group, vnet.name, subnet.name, subnet).result()

    with pytest.raises(HttpResponseError) as in_use:
        network.network_security_groups.begin_delete(GROUP, "subnet-nsg").result()

    assert in_use.value.error.code == "InUseNetworkSecurityGroupCannotBeDeleted"
    assert str(subnet.id) in str(in_use.value.error.message)


def test_an_nsg_deleted_and_made_again_reads_as_made_again(
    network: NetworkManagementClient,
) -> None:
    """The sandbox remembers where it last found each resource: reads after deletes and
    creates (which move the others) still give what ARM holds now."""
    nsgs = network.network_security_groups
    for name in ("temp-a", "temp-b"):
        nsgs.begin_create_or_update(GROUP, name, {"location": "westeurope"}).result()
        nsgs.get(GROUP, name)
    nsgs.begin_delete(GROUP, "temp-a").result()
    with pytest.raises(HttpResponseError) as gone:
        nsgs.get(GROUP, "temp-a")
    assert gone.value.status_code == 404
    assert nsgs.get(GROUP, "temp-b").name == "temp-b"
    again = {
        "location": "westeurope",
        "properties": {"securityRules": [{"name": "ssh", **_rule()}]},
    }
    nsgs.begin_create_or_update(GROUP, "temp-a", again).result()
    assert [r.name for r in nsgs.get(GROUP, "temp-a").security_rules] == ["ssh"]

"""Fidelity: every object the sandbox's ARM returns is one the azure-mgmt models of the API
versions Clamp uses accept as they are: no unknown fields, the declared JSON types, and
the output fields a read carries (id, name, type; etag and provisioningState where the
model has them). Read from the demo estate as Clamp's driver reads it, then again after
the writes Clamp makes (a split rule, a quarantine NSG, a NIC moved, tags, a snapshot, a
lock, a role assignment). One sandbox for the module."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import models as compute
from azure.mgmt.mysqlflexibleservers import models as mysql
from azure.mgmt.network import models as network
from azure.mgmt.network.models import NetworkSecurityGroup
from azure.mgmt.postgresqlflexibleservers import models as postgres
from azure.mgmt.resource.locks import models as locks
from azure.mgmt.resource.subscriptions import models as subscriptions
from azure.mgmt.sql import models as sql
from azure.mgmt.storage import models as storage

from arm_models import check_msrest, check_output_fields, check_typespec
from clamp.config import Settings
from clamp.providers.azure.clients import SandboxCredential
from clamp.providers.azure.driver import AzureDriver
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

SUB = "00000000-0000-4000-8000-000000000001"
GROUP = "clamp-demo"
Seen = list[tuple[str, Any]]

# The last segment(s) of a request path → (model of one item, model of a list's items).
ROUTES: list[tuple[str, type, type]] = [
    (
        r"/networksecuritygroups/[^/]+/securityrules(/[^/]+)?$",
        network.SecurityRule,
        network.SecurityRule,
    ),
    (
        r"/networksecuritygroups/[^/]+/defaultsecurityrules(/[^/]+)?$",
        network.SecurityRule,
        network.SecurityRule,
    ),
    (
        r"/networksecuritygroups(/[^/]+)?$",
        network.NetworkSecurityGroup,
        network.NetworkSecurityGroup,
    ),
    (r"/networkinterfaces(/[^/]+)?$", network.NetworkInterface, network.NetworkInterface),
    (r"/virtualnetworks/[^/]+/subnets(/[^/]+)?$", network.Subnet, network.Subnet),
    (r"/virtualnetworks(/[^/]+)?$", network.VirtualNetwork, network.VirtualNetwork),
    (r"/publicipaddresses(/[^/]+)?$", network.PublicIPAddress, network.PublicIPAddress),
    (r"/loadbalancers(/[^/]+)?$", network.LoadBalancer, network.LoadBalancer),
    (
        r"/virtualmachines/[^/]+/instanceview$",
        compute.VirtualMachineInstanceView,
        compute.VirtualMachineInstanceView,
    ),
    (r"/virtualmachines(/[^/]+)?$", compute.VirtualMachine, compute.VirtualMachine),
    (r"/disks(/[^/]+)?$", compute.Disk, compute.Disk),
    (r"/snapshots(/[^/]+)?$", compute.Snapshot, compute.Snapshot),
    (r"/blobservices/[^/]+/containers(/[^/]+)?$", storage.BlobContainer, storage.ListContainerItem),
    (r"/blobservices(/[^/]+)?$", storage.BlobServiceProperties, storage.BlobServiceProperties),
    (r"/storageaccounts(/[^/]+)?$", storage.StorageAccount, storage.StorageAccount),
    (r"/locks(/[^/]+)?$", locks.ManagementLockObject, locks.ManagementLockObject),
    (r"^/subscriptions(/[^/]+)?$", subscriptions.Subscription, subscriptions.Subscription),
    (r"/microsoft.sql/servers/[^/]+/firewallrules(/[^/]+)?$", sql.FirewallRule, sql.FirewallRule),
    (r"/microsoft.sql/servers(/[^/]+)?$", sql.Server, sql.Server),
    *(
        (f"/microsoft.dbfor{name}/flexibleservers/[^/]+/{part}(/[^/]+)?$", model, model)
        for name, models in (("postgresql", postgres), ("mysql", mysql))
        for part, model in (
            ("firewallrules", models.FirewallRule),
            ("configurations", models.Configuration),
        )
    ),
    (r"/microsoft.dbforpostgresql/flexibleservers(/[^/]+)?$", postgres.Server, postgres.Server),
    (r"/microsoft.dbformysql/flexibleservers(/[^/]+)?$", mysql.Server, mysql.Server),
]


def _authorization_models() -> tuple[Any, Any]:
    """The msrest models of the API versions Clamp's authorization client uses (building a
    client sends nothing)."""
    client = AuthorizationManagementClient(SandboxCredential(), SUB)
    assignments = sys.modules[type(client.role_assignments).__module__.rsplit(".", 2)[0]]
    definitions = sys.modules[type(client.role_definitions).__module__.rsplit(".", 2)[0]]
    return assignments.models.RoleAssignment, definitions.models.RoleDefinition


def _model(path: str, auth: tuple[Any, Any]) -> tuple[type, type] | None:
    lower = path.lower().rstrip("/")
    if lower.endswith("/roleassignments") or "/roleassignments/" in lower:
        return auth[0], auth[0]
    if lower.endswith("/roledefinitions") or "/roledefinitions/" in lower:
        return auth[1], auth[1]
    for pattern, item, listed in ROUTES:
        if re.search(pattern, lower):
            return item, listed
    return None


def _arm_id_segments(path: str) -> str:
    return re.sub(r"/+", "/", path)


@pytest.fixture(scope="module")
def seen() -> Iterator[Seen]:
    """Every (path, JSON body) the sandbox answered to GETs, before and after Clamp's writes."""
    with Sandbox(load_state(None)) as box:
        driver = AzureDriver(Settings(database_url="sqlite://", sandbox_url=box.url))
        answers: Seen = []

        def capture(response: Any) -> None:
            http = response.http_response
            request = response.http_request
            if request.method == "GET" and http.status_code == 200 and "/_arm/" not in request.url:
                path = _arm_id_segments(request.url.split("://", 1)[1].split("/", 1)[1])
                answers.append(("/" + path.split("?", 1)[0], json.loads(http.text())))

        driver.clients.options["raw_response_hook"] = capture
        _read_everything(driver)
        _write_as_clamp_does(driver)
        _read_everything(driver)
        yield answers


def _read_everything(driver: AzureDriver) -> None:
    driver.discover_scopes()
    list(driver.collect(SUB))
    net, vms = driver.clients.network(SUB), driver.clients.compute(SUB)
    driver.clients.subscriptions.subscriptions.get(SUB)
    for nsg in net.network_security_groups.list_all():
        group = str(nsg.id).split("/")[4]
        driver.read(str(nsg.id))
        list(net.security_rules.list(group, nsg.name))
        list(net.default_security_rules.list(group, nsg.name))
        for rule in nsg.security_rules or []:
            net.security_rules.get(group, nsg.name, rule.name)
        net.default_security_rules.get(group, nsg.name, "DenyAllInBound")
    for vnet in net.virtual_networks.list_all():
        group = str(vnet.id).split("/")[4]
        for subnet in vnet.subnets or []:
            net.subnets.get(group, vnet.name, subnet.name)
    for nic in net.network_interfaces.list_all():
        net.network_interfaces.get(str(nic.id).split("/")[4], nic.name)
    for ip in net.public_ip_addresses.list_all():
        net.public_ip_addresses.get(str(ip.id).split("/")[4], ip.name)
    for vm in vms.virtual_machines.list_all():
        group = str(vm.id).split("/")[4]
        driver.read(str(vm.id))
        vms.virtual_machines.get(group, vm.name)
        vms.virtual_machines.instance_view(group, vm.name)
    for disk in vms.disks.list():
        vms.disks.get(str(disk.id).split("/")[4], disk.name)
    for snapshot in vms.snapshots.list():
        vms.snapshots.get(str(snapshot.id).split("/")[4], snapshot.name)
    store = driver.clients.storage(SUB)
    for account in store.storage_accounts.list():
        driver.read(str(account.id))
        group = str(account.id).split("/")[4]
        for container in store.blob_containers.list(group, account.name):
            store.blob_containers.get(group, account.name, container.name)
    for lock in driver.clients.locks(SUB).management_locks.list_at_subscription_level():
        driver.clients.locks(SUB).management_locks.get_by_scope(
            str(lock.id).split("/providers/Microsoft.Authorization/locks/")[0], lock.name
        )


def _rule(priority: int, source: str) -> dict[str, Any]:
    return {
        "properties": {
            "protocol": "Tcp",
            "access": "Allow",
            "direction": "Inbound",
            "priority": priority,
            "sourceAddressPrefix": source,
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "22",
        }
    }


def _write_as_clamp_does(driver: AzureDriver) -> None:
    """The SDK writes Clamp's drivers make, so their results are read back above."""
    net, vms = driver.clients.network(SUB), driver.clients.compute(SUB)
    net.security_rules.begin_create_or_update(
        GROUP, "web-nsg", "allow-ssh-https-restricted", _rule(130, "10.0.0.0/8")
    ).result()
    quarantine = net.network_security_groups.begin_create_or_update(
        GROUP,
        "quarantine-nsg",
        {
            "location": "westeurope",
            "tags": {"clamp-incident": "INC-1"},
            "properties": {"securityRules": [{"name": "deny-in", **_rule(110, "*")}]},
        },
    ).result()
    nic = next(iter(net.network_interfaces.list_all()))
    nic.network_security_group = NetworkSecurityGroup(id=quarantine.id)
    net.network_interfaces.begin_create_or_update(GROUP, str(nic.name), nic).result()
    vm = next(iter(vms.virtual_machines.list_all()))
    vms.virtual_machines.begin_update(
        GROUP, vm.name, {"tags": {"clamp-incident": "INC-1"}}
    ).result()
    disk = next(iter(vms.disks.list()))
    vms.snapshots.begin_create_or_update(
        GROUP,
        "evidence-1",
        {
            "location": disk.location,
            "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk.id}},
        },
    ).result()
    rule = {"properties": {"startIpAddress": "198.51.100.1", "endIpAddress": "198.51.100.9"}}
    driver.clients.sql(SUB).firewall_rules.create_or_update(GROUP, "clamp-demo-sql", "r1", rule)
    driver.clients.sql(SUB).servers.begin_update(
        GROUP, "clamp-demo-sql", {"properties": {"publicNetworkAccess": "Disabled"}}
    ).result()
    pg = driver.clients.postgres(SUB)
    pg.firewall_rules.begin_create_or_update(GROUP, "clamp-demo-pg", "r1", rule).result()
    pg.servers.begin_update(
        GROUP, "clamp-demo-pg", {"properties": {"network": {"publicNetworkAccess": "Disabled"}}}
    ).result()
    my = driver.clients.mysql(SUB)
    my.firewall_rules.begin_create_or_update(
        GROUP, "clamp-demo-mysql", "r1", mysql.FirewallRule.deserialize(rule)
    ).result()
    account = next(iter(driver.clients.storage(SUB).storage_accounts.list()))
    driver.clients.locks(SUB).management_locks.create_or_update_by_scope(
        str(account.id), "clamp-hold", {"level": "CanNotDelete", "notes": "incident INC-1"}
    )


def test_every_arm_type_clamp_reads_was_answered(seen: Seen) -> None:
    auth = (object, object)
    kinds = {m[0] for path, _ in seen if (m := _model(path, auth)) is not None}
    assert {
        network.NetworkSecurityGroup,
        network.SecurityRule,
        network.NetworkInterface,
        network.VirtualNetwork,
        network.Subnet,
        network.PublicIPAddress,
        network.LoadBalancer,
        compute.VirtualMachine,
        compute.VirtualMachineInstanceView,
        compute.Disk,
        compute.Snapshot,
        storage.StorageAccount,
        storage.BlobServiceProperties,
        storage.BlobContainer,
        locks.ManagementLockObject,
        subscriptions.Subscription,
        sql.Server,
        sql.FirewallRule,
        postgres.Server,
        postgres.FirewallRule,
        postgres.Configuration,
        mysql.Server,
        mysql.FirewallRule,
        mysql.Configuration,
        object,  # role assignments and definitions
    } <= kinds


def test_every_object_matches_its_azure_mgmt_model(seen: Seen) -> None:
    auth = _authorization_models()
    problems: list[str] = []
    checked = 0
    for path, body in seen:
        found = _model(path, auth)
        if found is None:
            continue
        item, listed = found
        objects = (
            [(listed, o) for o in body["value"]]
            if isinstance(body, dict) and isinstance(body.get("value"), list)
            else [(item, body)]
        )
        for cls, obj in objects:
            where = f"{path} ({cls.__name__} {obj.get('name', '')})"
            if hasattr(cls, "_attribute_map"):
                check_msrest(cls, obj, where, problems)
            else:
                check_typespec(cls, obj, where, problems)
            if cls not in (compute.VirtualMachineInstanceView, subscriptions.Subscription):
                check_output_fields(cls, obj, where, problems)
            checked += 1
    assert checked > 100
    assert not problems, "\n".join(sorted(set(problems))[:60])


CASSETTES = Path(__file__).parents[2] / ".." / "shared" / "data" / "custodian" / "azure-cassettes"
RECORDED = {
    "microsoft.network/networksecuritygroups": network.NetworkSecurityGroup,
    "microsoft.network/networkinterfaces": network.NetworkInterface,
    "microsoft.network/publicipaddresses": network.PublicIPAddress,
    "microsoft.compute/virtualmachines": compute.VirtualMachine,
    "microsoft.compute/disks": compute.Disk,
    "microsoft.storage/storageaccounts": storage.StorageAccount,
}


@pytest.mark.skipif(not CASSETTES.is_dir(), reason="../shared/data/custodian is not present")
def test_the_models_accept_what_azure_really_sent() -> None:
    # The yardstick itself: the recorded real responses pass the same check.
    problems: list[str] = []
    checked = 0
    for cassette in sorted(CASSETTES.glob("*.json")):
        for interaction in json.loads(cassette.read_text())["interactions"]:
            body = (interaction["response"].get("body") or {}).get("data")
            objects = body.get("value", [body]) if isinstance(body, dict) else []
            for obj in objects:
                model = (
                    RECORDED.get(str(obj.get("type", "")).lower())
                    if isinstance(obj, dict)
                    else None
                )
                if model is not None:
                    check_typespec(model, obj, f"{cassette.name} {obj.get('name')}", problems)
                    checked += 1
    assert checked > 200
    assert not problems, "\n".join(problems[:40])

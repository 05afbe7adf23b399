"""Which VMs a finding reaches: NSG associations on Azure, targets and networks on GCP."""

from __future__ import annotations

from typing import Any

from builders import GNET, NET, admin, arm_nsg, arm_rule, firewall, scan
from clamp.checks import evaluate
from clamp.checks.network import MAX_REACHES
from clamp.config import Settings
from clamp.providers.gcp.normalize import resources_from_compute

VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
SUBNET = f"{NET}/virtualNetworks/v/subnets"
TCP22 = [{"IPProtocol": "tcp", "ports": ["22"]}]


def nic(name: str, subnet: str = "a", *, vm: bool = True, **props: Any) -> dict[str, Any]:
    config = {"subnet": {"id": f"{SUBNET}/{subnet}"}}
    body: dict[str, Any] = {"ipConfigurations": [{"name": "c", "properties": config}], **props}
    if vm:
        body["virtualMachine"] = {"id": f"{VM}/{name}"}
    return {
        "id": f"{NET}/networkInterfaces/{name}",
        "name": name,
        "type": "Microsoft.Network/networkInterfaces",
        "properties": body,
    }


def test_nsg_side_subnet_association_is_enough_without_the_vnet() -> None:
    nsg = arm_nsg("open", arm_rule("ssh", 100, "22", "*"), subnets=[{"id": f"{SUBNET}/a"}])

    reaches = admin(scan([nsg, nic("vm1"), nic("vm2", subnet="b")]))["open"].details["reaches"]

    assert [r["vm"].rsplit("/", 1)[-1] for r in reaches] == ["vm1"]


def test_nsg_side_nic_association_is_enough_without_the_nic_link() -> None:
    nsg = arm_nsg(
        "open",
        arm_rule("ssh", 100, "22", "*"),
        networkInterfaces=[{"id": f"{NET}/networkInterfaces/vm1"}],
    )
    reaches = admin(scan([nsg, nic("vm1")]))["open"].details["reaches"]
    assert [r["nic"].rsplit("/", 1)[-1] for r in reaches] == ["vm1"]


def test_nic_nsg_that_denies_stops_a_subnet_nsg_that_allows() -> None:
    subnet_nsg = arm_nsg(
        "subnet-nsg", arm_rule("ssh", 100, "22", "*"), subnets=[{"id": f"{SUBNET}/a"}]
    )
    nic_nsg = arm_nsg("nic-nsg")
    vm = nic("vm1", networkSecurityGroup={"id": f"{NET}/networkSecurityGroups/nic-nsg"})

    found = admin(scan([subnet_nsg, nic_nsg, vm]))

    assert found["subnet-nsg"].details["reaches"] == []
    assert found["subnet-nsg"].severity == "high"


def test_traffic_must_pass_both_nsgs_on_the_same_port() -> None:
    # the subnet lets 22 in, the NIC lets 3389 in: nothing reaches the VM on either port
    subnet_nsg = arm_nsg("sub", arm_rule("ssh", 100, "22", "*"), subnets=[{"id": f"{SUBNET}/a"}])
    nic_nsg = arm_nsg("nicn", arm_rule("rdp", 100, "3389", "*"))
    vm = nic("vm1", networkSecurityGroup={"id": f"{NET}/networkSecurityGroups/nicn"})

    found = admin(scan([subnet_nsg, nic_nsg, vm]))

    assert found["sub"].details["reaches"] == found["nicn"].details["reaches"] == []


def test_subnet_nsg_missing_from_the_inventory_is_reported_as_unknown() -> None:
    nsg = arm_nsg("open", arm_rule("ssh", 100, "22", "*"))
    missing = f"{NET}/networkSecurityGroups/not-collected"
    vnet = {
        "id": f"{NET}/virtualNetworks/v",
        "name": "v",
        "type": "Microsoft.Network/virtualNetworks",
        "properties": {
            "subnets": [
                {
                    "id": f"{SUBNET}/a",
                    "name": "a",
                    "properties": {"networkSecurityGroup": {"id": missing}},
                }
            ]
        },
    }
    vm = nic("vm1", networkSecurityGroup={"id": f"{NET}/networkSecurityGroups/open"})

    [reach] = admin(scan([nsg, vnet, vm]))["open"].details["reaches"]

    assert reach["unknown_nsgs"] == [missing.lower()]


def test_nic_without_a_vm_is_not_listed() -> None:
    nsg = arm_nsg("open", arm_rule("ssh", 100, "22", "*"), subnets=[{"id": f"{SUBNET}/a"}])
    assert admin(scan([nsg, nic("spare", vm=False)]))["open"].details["reaches"] == []


def test_public_ip_id_without_the_address_still_counts_as_public() -> None:
    pip = {"id": f"{NET}/publicIPAddresses/ip1"}
    config = {"subnet": {"id": f"{SUBNET}/a"}, "publicIPAddress": pip}
    vm = nic("vm1", ipConfigurations=[{"name": "c", "properties": config}])
    nsg = arm_nsg("open", arm_rule("ssh", 100, "22", "*"), subnets=[{"id": f"{SUBNET}/a"}])

    finding = admin(scan([nsg, vm]))["open"]

    assert finding.details["reaches"][0]["public_ip"] == pip["id"]
    assert finding.severity == "critical"


def test_long_reach_lists_are_capped_with_public_vms_first_and_a_total() -> None:
    nsg = arm_nsg("open", arm_rule("ssh", 100, "22", "*"), subnets=[{"id": f"{SUBNET}/a"}])
    vms = [nic(f"vm{i}") for i in range(MAX_REACHES + 20)]
    config = {"subnet": {"id": f"{SUBNET}/a"}, "publicIPAddress": {"id": f"{NET}/pip"}}
    vms.append(nic("public", ipConfigurations=[{"name": "c", "properties": config}]))

    finding = admin(scan([nsg, *vms]))["open"]

    assert finding.details["reaches_total"] == MAX_REACHES + 21
    assert len(finding.details["reaches"]) == MAX_REACHES
    assert finding.details["reaches"][0]["vm"].endswith("/public")
    assert finding.severity == "critical"


def instance(name: str, project: str = "p1", network: str = "vpc", **fields: Any) -> dict[str, Any]:
    return {
        "kind": "compute#instance",
        "name": name,
        "zone": f"https://www.googleapis.com/compute/v1/projects/{project}/zones/us-east1-b",
        "networkInterfaces": [{"network": GNET + network}],
        **fields,
    }


def test_target_service_accounts_choose_the_instances_reached() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0"],
        allowed=TCP22,
        targetServiceAccounts=["web@p1.iam.gserviceaccount.com"],
    )
    web = instance("web", serviceAccounts=[{"email": "web@p1.iam.gserviceaccount.com"}])
    db = instance("db", serviceAccounts=[{"email": "db@p1.iam.gserviceaccount.com"}])

    reaches = admin(scan(gcp=[fw, web, db]))["fw"].details["reaches"]

    assert [r["instance"].rsplit("/", 1)[-1] for r in reaches] == ["web"]


def test_shared_vpc_instances_in_service_projects_are_reached() -> None:
    # the host project p1 owns the network and the firewall; the VM lives in project svc
    host = resources_from_compute("p1", [firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=TCP22)])
    service = resources_from_compute("svc", [instance("app", project="svc")])

    [finding] = [
        f
        for f in evaluate(host + service, Settings(database_url="sqlite://"))
        if f.check == "exposed-admin-port"
    ]

    assert finding.details["reaches"] == [
        {
            "instance": "//compute.googleapis.com/projects/svc/zones/us-east1-b/instances/app",
            "external_ip": False,
        }
    ]


def test_instances_with_external_ips_are_listed_first() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=TCP22)
    internal = instance("internal")
    public = instance(
        "public",
        networkInterfaces=[{"network": GNET + "vpc", "accessConfigs": [{"natIP": "34.9.9.9"}]}],
    )

    reaches = admin(scan(gcp=[fw, internal, public]))["fw"].details["reaches"]

    assert [r["external_ip"] for r in reaches] == [True, False]

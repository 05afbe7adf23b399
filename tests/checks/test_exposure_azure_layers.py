"""Azure sources and destinations beyond address ranges: broad service tags (reported as
broad, lower than the internet) and application security groups (a rule on an ASG exposes
only the NICs in it)."""

from __future__ import annotations

from typing import Any

from builders import NET, admin, arm_nsg, arm_rule, scan

SUBNET = f"{NET}/virtualNetworks/v/subnets/a"
VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
WEB = f"{NET}/applicationSecurityGroups/web"
DB = f"{NET}/applicationSecurityGroups/db"


def nic(name: str, *asgs: str, public_ip: bool = False) -> dict[str, Any]:
    config: dict[str, Any] = {
        "subnet": {"id": SUBNET},
        "applicationSecurityGroups": [{"id": a} for a in asgs],
    }
    if public_ip:
        config["publicIPAddress"] = {"id": f"{NET}/publicIPAddresses/{name}-ip"}
    return {
        "id": f"{NET}/networkInterfaces/{name}",
        "name": name,
        "type": "Microsoft.Network/networkInterfaces",
        "properties": {
            "ipConfigurations": [{"name": "c", "properties": config}],
            "virtualMachine": {"id": f"{VM}/{name}"},
        },
    }


def on_asg(rule: dict[str, Any], *asgs: str) -> dict[str, Any]:
    rule["properties"]["destinationApplicationSecurityGroups"] = [{"id": a} for a in asgs]
    return rule


def subnet_nsg(*rules: dict[str, Any]) -> dict[str, Any]:
    return arm_nsg("n", *rules, subnets=[{"id": SUBNET}])


def vms(finding: Any) -> list[str]:
    return sorted(r["vm"].rsplit("/", 1)[-1] for r in finding.details["reaches"])


# -- service tags -------------------------------------------------------------------------
def test_azurecloud_source_is_reported_as_broad_with_a_lower_severity() -> None:
    for tag in ("AzureCloud", "azurecloud", "AzureCloud.westeurope"):
        found = admin(scan([subnet_nsg(arm_rule("ssh", 100, "22", tag)), nic("vm1")]))
        finding = found["n"]
        assert finding.details["source_kind"] == "broad-service-tag", tag
        assert finding.severity == "medium", tag
        assert finding.details["rules"][0]["broad_sources"] == [tag]
        assert finding.details["rules"][0]["internet_sources"] == []
        assert "all of Azure" in finding.title
        assert vms(finding) == ["vm1"]


def test_broad_tag_reaching_a_public_vm_is_high_not_critical() -> None:
    nsg = subnet_nsg(arm_rule("ssh", 100, "22", "AzureCloud"))
    assert admin(scan([nsg, nic("vm1", public_ip=True)]))["n"].severity == "high"


def test_internet_source_stays_the_internet_and_not_broad() -> None:
    found = admin(scan([subnet_nsg(arm_rule("ssh", 100, "22", "Internet")), nic("vm1")]))
    assert "source_kind" not in found["n"].details
    assert found["n"].severity == "high"


def test_internet_deny_ahead_also_stops_azure_datacenters() -> None:
    # the Internet tag includes Azure's public address space (service tags docs)
    nsg = subnet_nsg(
        arm_rule("deny", 100, "22", "Internet", access="Deny"),
        arm_rule("azure", 200, "22", "AzureCloud"),
    )
    assert admin(scan([nsg, nic("vm1")])) == {}


def test_narrow_service_tags_are_not_reported() -> None:
    for tag in ("AzureLoadBalancer", "VirtualNetwork", "Storage.westeurope"):
        assert admin(scan([subnet_nsg(arm_rule("r", 100, "22", tag))])) == {}, tag


# -- application security groups ----------------------------------------------------------
def test_rule_on_an_asg_reaches_only_the_nics_in_it() -> None:
    nsg = subnet_nsg(on_asg(arm_rule("ssh-web", 100, "22", "Internet"), WEB))
    found = admin(scan([nsg, nic("web1", WEB), nic("db1", DB), nic("bare")]))
    assert vms(found["n"]) == ["web1"]
    assert found["n"].details["reaches_total"] == 1


def test_asg_ids_match_case_insensitively() -> None:
    nsg = subnet_nsg(on_asg(arm_rule("ssh-web", 100, "22", "Internet"), WEB.upper()))
    assert vms(admin(scan([nsg, nic("web1", WEB)]))["n"]) == ["web1"]


def test_a_deny_on_an_asg_protects_only_its_nics() -> None:
    nsg = subnet_nsg(
        on_asg(arm_rule("deny-db", 100, "22", "Internet", access="Deny"), DB),
        arm_rule("ssh", 200, "22", "Internet"),
    )
    found = admin(scan([nsg, nic("web1", WEB), nic("db1", DB)]))
    assert vms(found["n"]) == ["web1"]


def test_asg_rule_with_no_nic_in_the_asg_reaches_no_vm() -> None:
    nsg = subnet_nsg(on_asg(arm_rule("ssh-web", 100, "22", "Internet"), WEB))
    finding = admin(scan([nsg, nic("db1", DB)]))["n"]
    assert finding.details["reaches"] == []
    assert finding.severity == "high"


def test_public_vm_outside_the_asg_does_not_make_it_critical() -> None:
    nsg = subnet_nsg(on_asg(arm_rule("ssh-web", 100, "22", "Internet"), WEB))
    finding = admin(scan([nsg, nic("web1", WEB), nic("db1", DB, public_ip=True)]))["n"]
    assert finding.severity == "high"
    assert vms(finding) == ["web1"]

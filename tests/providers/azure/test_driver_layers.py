"""Azure network layers through the real azure-mgmt-network client against the sandbox:
application security groups on NSG rules and NICs survive the SDK's models, and a rule on
an ASG reaches only the VMs whose NICs are in it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.model import Finding
from clamp.providers.azure.driver import AzureDriver
from clamp.sandbox.scenario import demo_scenario
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState

SUB = "00000000-0000-4000-8000-000000000001"
NET = f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Network"
SSH_ASG = f"{NET}/applicationSecurityGroups/ssh-targets"


def _objects(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = scenario["azure"][SUB]
    return objects


def _named(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o.get("name") == name)


def _scan(scenario: dict[str, Any]) -> Iterator[Finding]:
    with Sandbox(SandboxState.from_scenario(scenario)) as box:
        settings = Settings(database_url="sqlite://", sandbox_url=box.url)
        resources = list(AzureDriver(settings).collect(SUB))
    yield from evaluate(resources, settings)


def _frontend(scenario: dict[str, Any]) -> Finding:
    found = [
        f
        for f in _scan(scenario)
        if f.check == "exposed-admin-port" and f.resource.endswith("/frontend-subnet-nsg")
    ]
    assert len(found) == 1
    return found[0]


def _ssh_on_asg(in_asg: bool) -> dict[str, Any]:
    scenario = demo_scenario()
    objects = _objects(scenario)
    nsg = _named(objects, "frontend-subnet-nsg")
    rule = _named(nsg["properties"]["securityRules"], "allow-ssh-from-anywhere")["properties"]
    rule.pop("destinationAddressPrefix", None)
    rule.pop("destinationAddressPrefixes", None)
    rule["destinationApplicationSecurityGroups"] = [{"id": SSH_ASG}]
    if in_asg:
        nic = _named(objects, "web-1-nic")
        config = nic["properties"]["ipConfigurations"][0]["properties"]
        config["applicationSecurityGroups"] = [{"id": SSH_ASG}]
    return scenario


def test_an_nsg_rule_on_an_asg_reaches_no_vm_outside_it() -> None:
    finding = _frontend(_ssh_on_asg(in_asg=False))
    assert finding.details["ports"] == ["22"]
    assert finding.details["reaches"] == []
    assert finding.severity == "high"


def test_an_nsg_rule_on_an_asg_reaches_the_vm_whose_nic_is_in_it() -> None:
    finding = _frontend(_ssh_on_asg(in_asg=True))
    assert [r["vm"].rsplit("/", 1)[-1] for r in finding.details["reaches"]] == ["web-1"]
    assert finding.severity == "critical"


def test_the_demo_admin_rule_always_allows_winrm_on_the_vnet() -> None:
    [finding] = [
        f
        for f in _scan(demo_scenario())
        if f.check == "exposed-admin-port" and f.resource.endswith("/virtualNetworks/demo-vnet")
    ]
    assert finding.details["ports"] == ["5985-5986"]
    assert finding.details["decided_by"]["rule"] == "always-allow-winrm"
    assert finding.details["decided_by"]["action"] == "allow"
    assert finding.details["reaches_total"] == 5


def test_an_admin_deny_read_from_the_sandbox_makes_the_nsg_allows_harmless() -> None:
    scenario = demo_scenario()
    rule = _named(_objects(scenario), "always-allow-winrm")["properties"]
    rule["access"] = "Deny"
    rule["protocol"] = "Any"  # allow-ssh-from-anywhere opens UDP 22 too
    rule["destinationPortRanges"] = ["22"]
    admin = {
        f.resource.rsplit("/", 1)[-1]: f for f in _scan(scenario) if f.check == "exposed-admin-port"
    }
    assert "frontend-subnet-nsg" not in admin  # it opened only 22
    assert admin["web-nsg"].details["ports"] == ["3389"]
    assert "demo-vnet" not in admin


def test_a_vnet_re_read_is_judged_as_in_a_scan(sandbox_settings: Settings) -> None:
    vnet = f"{NET}/virtualNetworks/demo-vnet"
    related = AzureDriver(sandbox_settings).read_related(vnet)
    [finding] = [f for f in evaluate(related, sandbox_settings) if f.check == "exposed-admin-port"]
    assert finding.resource == vnet and finding.details["ports"] == ["5985-5986"]
    assert finding.details["reaches_total"] == 5 and finding.severity == "critical"

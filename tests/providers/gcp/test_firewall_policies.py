"""Firewall policy layers read by the GCP driver (google-api-python-client's compute v1
discovery client) from the sandbox, and what the demo estate's layers decide."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import InputError, PermissionDenied
from clamp.model import Finding, ResourceType
from clamp.providers.gcp.driver import GcpDriver
from clamp.providers.gcp.permissions import SCAN_PERMISSIONS
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault, SandboxState

PROJECT = "clamp-demo-prod"
NETWORKS = f"//compute.googleapis.com/projects/{PROJECT}/global/networks"
FIREWALLS = f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls"


def _compute(sandbox: Sandbox) -> Any:
    return build(
        "compute",
        "v1",
        credentials=None,
        client_options={"api_endpoint": sandbox.url + "/compute/v1/"},
        static_discovery=True,
        cache_discovery=False,
        developerKey="sandbox",
    )


def _admin(settings: Settings) -> dict[str, Finding]:
    resources = list(GcpDriver(settings).collect(PROJECT))
    return {f.resource: f for f in evaluate(resources, settings) if f.check == "exposed-admin-port"}


def test_the_network_carries_its_policy_layers_in_enforcement_order(
    sandbox_settings: Settings,
) -> None:
    resources = list(GcpDriver(sandbox_settings).collect(PROJECT))
    prod = next(r for r in resources if r.id == f"{NETWORKS}/prod-vpc")

    assert prod.type == ResourceType.GCP_NETWORK
    assert prod.facets["enforcement_order"] == "AFTER_CLASSIC_FIREWALL"
    assert [x.name for x in prod.facets["policies_before"]] == [
        "hierarchical:firewallPolicies/9000000000000000001"
    ]
    assert [x.name for x in prod.facets["policies_after"]] == [
        f"network:projects/{PROJECT}/global/firewallPolicies/prod-vpc-policy"
    ]
    mgmt = next(r for r in resources if r.id == f"{NETWORKS}/mgmt-vpc")
    assert mgmt.facets["policies_after"] == ()  # the network policy is not associated with it


def test_an_organization_deny_hides_the_vpc_rule_and_a_network_policy_opens_vnc(
    sandbox_settings: Settings,
) -> None:
    found = _admin(sandbox_settings)

    assert f"{FIREWALLS}/allow-telnet-legacy" not in found
    vnc = found[f"{NETWORKS}/prod-vpc"]
    assert vnc.details["ports"] == ["5900"]
    assert vnc.details["decided_by"] == {
        "layer": f"network:projects/{PROJECT}/global/firewallPolicies/prod-vpc-policy",
        "rule": "vnc-vendor-support",
        "rule_priority": 1000,
        "action": "allow",
    }
    assert vnc.details["layers"] == [
        "hierarchical:firewallPolicies/9000000000000000001",
        f"vpc:projects/{PROJECT}/global/networks/prod-vpc",
        f"network:projects/{PROJECT}/global/firewallPolicies/prod-vpc-policy",
    ]
    assert {r["instance"].rsplit("/", 1)[-1] for r in vnc.details["reaches"]} >= {"web-1", "web-2"}
    # the VPC rules the policies do not touch keep their findings
    assert found[f"{FIREWALLS}/allow-rdp-all"].details["decided_by"]["layer"].startswith("vpc:")


def test_patching_the_org_rule_away_exposes_telnet_on_the_next_scan(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    with sandbox.state.lock:
        org = sandbox.state.gcp_organizations["123456789012"][0]
        next(r for r in org["rules"] if r["priority"] == 1000)["disabled"] = True

    telnet = _admin(sandbox_settings)[f"{FIREWALLS}/allow-telnet-legacy"]

    assert telnet.details["ports"] == ["23"]


def test_before_classic_firewall_moves_the_network_policy_ahead_of_the_vpc_rules(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    with sandbox.state.lock:
        net = next(o for o in sandbox.state.gcp[PROJECT] if o.get("name") == "prod-vpc")
        net["networkFirewallPolicyEnforcementOrder"] = "BEFORE_CLASSIC_FIREWALL"

    prod = next(
        r for r in GcpDriver(sandbox_settings).collect(PROJECT) if r.id == f"{NETWORKS}/prod-vpc"
    )

    assert [x.name.split(":")[0] for x in prod.facets["policies_before"]] == [
        "hierarchical",
        "network",
    ]
    assert prod.facets["policies_after"] == ()


def test_a_403_on_the_policy_read_names_the_permission(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    sandbox.state.faults.append(Fault(status=403, path="getEffectiveFirewalls", times=None))

    with pytest.raises(PermissionDenied, match=r"compute\.networks\.getEffectiveFirewalls"):
        list(GcpDriver(sandbox_settings).collect(PROJECT))
    assert "compute.networks.getEffectiveFirewalls" in SCAN_PERMISSIONS
    assert "compute.networks.getRegionEffectiveFirewalls" in SCAN_PERMISSIONS


def test_a_429_on_the_policy_read_is_retried_after_its_retry_after(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    throttled = Fault(status=429, path="getEffectiveFirewalls", retry_after=0.1, times=2)
    sandbox.state.faults.append(throttled)

    found = _admin(sandbox_settings)

    assert throttled.times == 0  # both 429s were met, and the read went on past them
    assert found == _admin(sandbox_settings)  # the same scan as an unthrottled one


def test_the_sandbox_serves_policies_and_rules_as_compute_does(sandbox: Sandbox) -> None:
    compute = _compute(sandbox)

    org = compute.firewallPolicies().list(parentId="organizations/123456789012").execute()
    assert [p["shortName"] for p in org["items"]] == ["org-baseline"]
    rule = compute.firewallPolicies().getRule(firewallPolicy=org["items"][0]["name"], priority=1000)
    assert rule.execute()["action"] == "deny"
    policy = compute.networkFirewallPolicies().get(
        project=PROJECT, firewallPolicy="prod-vpc-policy"
    )
    assert policy.execute()["associations"][0]["attachmentTarget"].endswith("/networks/prod-vpc")
    listed = compute.regionNetworkFirewallPolicies().list(project=PROJECT, region="europe-west1")
    assert listed.execute()["items"] == []
    regional = compute.regionNetworkFirewallPolicies().getEffectiveFirewalls(
        project=PROJECT, region="europe-west1", network="prod-vpc"
    )
    assert [p["type"] for p in regional.execute()["firewallPolicys"]] == ["HIERARCHY", "NETWORK"]
    with pytest.raises(HttpError) as missing:
        compute.networkFirewallPolicies().getRule(
            project=PROJECT, firewallPolicy="prod-vpc-policy", priority=7
        ).execute()
    assert missing.value.resp.status == 400


def test_patch_rule_changes_the_rule_and_refuses_a_bad_one(sandbox: Sandbox) -> None:
    policies = _compute(sandbox).networkFirewallPolicies()
    narrowed = {
        "match": {
            "srcIpRanges": ["203.0.113.0/24"],
            "layer4Configs": [{"ipProtocol": "tcp", "ports": ["5900"]}],
        }
    }

    op = policies.patchRule(
        project=PROJECT, firewallPolicy="prod-vpc-policy", priority=1000, body=narrowed
    ).execute()
    assert op["kind"] == "compute#operation"
    rule = policies.getRule(project=PROJECT, firewallPolicy="prod-vpc-policy", priority=1000)
    assert rule.execute()["match"]["srcIpRanges"] == ["203.0.113.0/24"]

    bad = {"action": "maybe"}
    with pytest.raises(HttpError) as refused:
        policies.patchRule(
            project=PROJECT, firewallPolicy="prod-vpc-policy", priority=1000, body=bad
        ).execute()
    assert refused.value.resp.status == 400
    assert rule.execute()["action"] == "allow"


def test_re_reading_the_network_judges_it_as_a_scan_does(sandbox_settings: Settings) -> None:
    related = GcpDriver(sandbox_settings).read_related(f"{NETWORKS}/prod-vpc")

    assert related[0].id == f"{NETWORKS}/prod-vpc"
    found = [f for f in evaluate(related, sandbox_settings) if f.resource == related[0].id]
    assert [f.details["ports"] for f in found if f.check == "exposed-admin-port"] == [["5900"]]


def test_organization_policies_round_trip_through_a_scenario(sandbox: Sandbox) -> None:
    scenario = sandbox.state.to_scenario()

    assert SandboxState.from_scenario(scenario).gcp_organizations == scenario["gcp_organizations"]
    with pytest.raises(InputError, match="gcp_organizations"):
        SandboxState.from_scenario({"gcp_organizations": {"1": {"not": "a list"}}})


def test_one_driver_reads_each_project_right_on_several_threads_at_once(
    sandbox_settings: Settings,
) -> None:
    # a scan collects projects on several threads, and the service runs scans side by side;
    # httplib2 is not thread-safe: one shared Http crossed the threads' answers
    driver = GcpDriver(sandbox_settings)
    projects = [PROJECT, "clamp-demo-dev"] * 6

    def layers(project: str) -> dict[str, Any]:
        return {
            r.id: (r.facets["policies_before"], r.facets["policies_after"])
            for r in driver.collect(project)
            if r.type == ResourceType.GCP_NETWORK
        }

    alone = {project: layers(project) for project in set(projects)}
    with ThreadPoolExecutor(4) as pool:
        side_by_side = list(pool.map(layers, projects))

    assert all(alone.values()) and side_by_side == [alone[p] for p in projects]

"""GCP exposure through firewall policy layers: hierarchical, global and regional network
policies around the VPC firewall rules, in the network's enforcement order (raw API shapes
→ normalize → the port checks)."""

from __future__ import annotations

from typing import Any

import pytest

from builders import GNET, admin, firewall, scan
from clamp.actions.restrict_ingress import RestrictIngress
from clamp.config import Settings
from clamp.errors import InputError, PlanRefused
from clamp.model import ChangeOp, Plan
from clamp.providers.gcp.normalize import resources_from_compute

TCP22 = [{"IPProtocol": "tcp", "ports": ["22"]}]
OPEN_SSH = firewall("open-ssh", sourceRanges=["0.0.0.0/0"], allowed=TCP22)


def network(order: str | None = None, name: str = "vpc") -> dict[str, Any]:
    net: dict[str, Any] = {"kind": "compute#network", "name": name, "selfLink": GNET + name}
    if order:
        net["networkFirewallPolicyEnforcementOrder"] = order
    return net


def policy_rule(
    priority: int, action: str, ports: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    config: dict[str, Any] = {"ipProtocol": "tcp"}
    if ports is not None:
        config["ports"] = ports
    match = {"srcIpRanges": ["0.0.0.0/0"], "layer4Configs": [config], **fields.pop("match", {})}
    return {
        "kind": "compute#firewallPolicyRule",
        "priority": priority,
        "action": action,
        "direction": "INGRESS",
        "match": match,
        **fields,
    }


def effective(
    *policies: dict[str, Any], regions: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """Clamp's envelope around getEffectiveFirewalls responses for network ``vpc``."""
    return {
        "kind": "clamp#effectiveFirewalls",
        "network": GNET + "vpc",
        "global": {"firewalls": [], "firewallPolicys": list(policies)},
        "regions": {r: {"firewallPolicys": p} for r, p in (regions or {}).items()},
    }


def org(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"name": "123", "shortName": "org-baseline", "type": "HIERARCHY", "rules": list(rules)}


def net_policy(*rules: dict[str, Any], kind: str = "NETWORK") -> dict[str, Any]:
    return {"name": "vpc-policy", "type": kind, "rules": list(rules)}


def instance(name: str, zone: str = "europe-west1-b", **fields: Any) -> dict[str, Any]:
    return {
        "kind": "compute#instance",
        "name": name,
        "zone": f"https://www.googleapis.com/compute/v1/projects/p1/zones/{zone}",
        "networkInterfaces": [
            {"network": GNET + "vpc", "accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}
        ],
        **fields,
    }


def test_an_organization_deny_makes_a_vpc_rule_harmless() -> None:
    found = admin(scan(gcp=[network(), OPEN_SSH, effective(org(policy_rule(100, "deny", ["22"])))]))
    assert found == {}


def test_without_policies_read_the_vpc_rule_is_exposed_and_says_so() -> None:
    finding = admin(scan(gcp=[network(), OPEN_SSH]))["open-ssh"]
    assert finding.details["decided_by"] == {
        "layer": "vpc:projects/p1/global/networks/vpc",
        "rule": "open-ssh",
        "rule_priority": 1000,
        "action": "allow",
    }
    assert finding.details["layers"] == ["vpc:projects/p1/global/networks/vpc"]


def test_goto_next_hands_the_decision_to_the_vpc_rules() -> None:
    policies = effective(org(policy_rule(100, "goto_next", ["22"]), policy_rule(200, "deny")))
    finding = admin(scan(gcp=[network(), OPEN_SSH, policies]))["open-ssh"]
    assert finding.details["layers"][0] == "hierarchical:firewallPolicies/123"
    assert finding.details["decided_by"]["layer"].startswith("vpc:")


def test_a_disabled_or_egress_policy_deny_changes_nothing() -> None:
    for rule in (
        policy_rule(100, "deny", ["22"], disabled=True),
        policy_rule(100, "deny", ["22"], direction="EGRESS"),
    ):
        assert "open-ssh" in admin(scan(gcp=[network(), OPEN_SSH, effective(org(rule))]))


def test_a_policy_deny_for_other_targets_hides_nothing() -> None:
    for fields in (
        {"targetServiceAccounts": ["db@p1.iam.gserviceaccount.com"]},
        {"targetResources": [GNET + "other"]},
        {"targetSecureTags": [{"name": "tagValues/1", "state": "EFFECTIVE"}]},
        {"match": {"srcIpRanges": [], "srcRegionCodes": ["CN"]}},
    ):
        rule = policy_rule(100, "deny", ["22"], **fields)
        assert "open-ssh" in admin(scan(gcp=[network(), OPEN_SSH, effective(org(rule))])), fields


def test_a_policy_deny_on_the_rule_s_own_network_shadows_it() -> None:
    rule = policy_rule(100, "deny", ["22"], targetResources=[GNET + "vpc"])
    assert admin(scan(gcp=[network(), OPEN_SSH, effective(org(rule))])) == {}


def test_a_port_only_a_network_policy_opens_is_reported_on_the_network() -> None:
    vnc = policy_rule(1000, "allow", ["5900"], ruleName="vnc-support")
    found = admin(scan(gcp=[network(), instance("vm"), effective(net_policy(vnc))]))
    finding = found["vpc"]
    assert finding.resource == "//compute.googleapis.com/projects/p1/global/networks/vpc"
    assert finding.details["ports"] == ["5900"]
    assert finding.details["decided_by"] == {
        "layer": "network:projects/p1/global/firewallPolicies/vpc-policy",
        "rule": "vnc-support",
        "rule_priority": 1000,
        "action": "allow",
    }
    assert finding.details["rules"][0]["layer"] == finding.details["decided_by"]["layer"]
    assert finding.details["reaches"][0]["external_ip"] is True
    assert finding.severity == "critical"
    assert "firewall policies of network vpc" in finding.title


def test_after_classic_firewall_a_vpc_deny_shadows_a_network_policy_allow() -> None:
    deny = firewall("deny-vnc", sourceRanges=["0.0.0.0/0"], denied=[{"IPProtocol": "tcp"}])
    vnc = policy_rule(1000, "allow", ["5900"])
    after = [network(), deny, effective(net_policy(vnc))]
    assert admin(scan(gcp=after)) == {}
    before = [network("BEFORE_CLASSIC_FIREWALL"), deny, effective(net_policy(vnc))]
    assert admin(scan(gcp=before))["vpc"].details["ports"] == ["5900"]


def test_before_classic_firewall_a_network_policy_deny_shadows_a_vpc_rule() -> None:
    deny = policy_rule(10, "deny", ["22"])
    assert "open-ssh" in admin(scan(gcp=[network(), OPEN_SSH, effective(net_policy(deny))]))
    before = [network("BEFORE_CLASSIC_FIREWALL"), OPEN_SSH, effective(net_policy(deny))]
    assert admin(scan(gcp=before)) == {}


def test_a_regional_policy_opens_ports_only_for_its_region_s_vms() -> None:
    vnc = policy_rule(1000, "allow", ["5900"])
    regional = {"us-east1": [net_policy(vnc, kind="NETWORK_REGIONAL")]}
    objects = [network(), instance("eu"), instance("us", zone="us-east1-c")]
    finding = admin(scan(gcp=[*objects, effective(regions=regional)]))["vpc"]
    assert finding.details["decided_by"]["layer"] == (
        "regional:projects/p1/regions/us-east1/firewallPolicies/vpc-policy"
    )
    assert [r["instance"].rsplit("/", 1)[-1] for r in finding.details["reaches"]] == ["us"]


def test_a_regional_deny_does_not_hide_a_vpc_rule_in_other_regions() -> None:
    deny = net_policy(policy_rule(10, "deny", ["22"]), kind="NETWORK_REGIONAL")
    policies = effective(regions={"us-east1": [deny]})
    assert "open-ssh" in admin(scan(gcp=[network("BEFORE_CLASSIC_FIREWALL"), OPEN_SSH, policies]))


def test_a_hierarchical_allow_is_reported_and_the_vpc_rule_it_decides_before_too() -> None:
    # the org rule decides first; the VPC rule would expose SSH were the org rule gone
    policies = effective(org(policy_rule(100, "allow", ["22"], ruleName="ssh-everywhere")))
    found = admin(scan(gcp=[network(), OPEN_SSH, policies]))
    assert set(found) == {"open-ssh", "vpc"}
    assert found["vpc"].details["decided_by"]["layer"] == "hierarchical:firewallPolicies/123"


def test_security_profile_inspection_counts_as_allowing() -> None:
    rule = policy_rule(100, "apply_security_profile_group", ["22"])
    assert "vpc" in admin(scan(gcp=[network(), effective(org(rule))]))


def test_a_policy_allow_from_private_ranges_or_one_country_exposes_nothing() -> None:
    for match in ({"srcIpRanges": ["10.0.0.0/8"]}, {"srcIpRanges": [], "srcRegionCodes": ["FR"]}):
        rule = policy_rule(100, "allow", ["22"], match=match)
        assert admin(scan(gcp=[network(), effective(org(rule))])) == {}


def test_a_malformed_policy_is_a_clear_input_error() -> None:
    bad = policy_rule(100, "allow", ["twenty-two"])
    with pytest.raises(InputError, match="firewall policies of projects/p1/global/networks/vpc"):
        scan(gcp=[network(), effective(org(bad))])


def _plan(objects: list[dict[str, Any]], **params: Any) -> Plan:
    [finding] = [f for f in scan(gcp=objects) if f.check == "exposed-admin-port"]
    [network_resource] = [
        r for r in resources_from_compute("p1", objects) if r.id == finding.resource
    ]
    return RestrictIngress().plan(
        finding, network_resource, params, Settings(database_url="sqlite://")
    )


def test_restrict_ingress_narrows_the_network_policy_rule_keeping_private_ranges() -> None:
    vnc = policy_rule(
        1000, "allow", ["5900"], ruleName="vnc", match={"srcIpRanges": ["0.0.0.0/0", "10.1.0.0/16"]}
    )
    policies = effective(net_policy(vnc))
    plan = _plan([network(), policies], allow=["192.0.2.0/24"])
    [change] = plan.changes
    assert change.target.endswith("/projects/p1/global/firewallPolicies/vpc-policy/rules/1000")
    assert change.after is not None
    assert change.after["match"]["srcIpRanges"] == ["10.1.0.0/16", "192.0.2.0/24"]
    fixed = effective(net_policy(dict(change.after)))
    assert admin(scan(gcp=[network(), fixed])) == {}


def test_restrict_ingress_splits_a_policy_rule_that_also_opens_other_ports() -> None:
    mixed = policy_rule(
        1000,
        "allow",
        ["5900", "443"],
        ruleName="vnc-and-web",
        match={"srcIpRanges": ["0.0.0.0/0", "10.1.0.0/16"]},
    )
    plan = _plan([network(), effective(net_policy(mixed))])

    added, patched = plan.changes
    assert (added.op, added.api_call) == (ChangeOp.CREATE, "networkFirewallPolicies.addRule")
    assert added.target.endswith("/firewallPolicies/vpc-policy/rules/1001")
    assert added.after is not None and patched.after is not None
    assert added.after["match"]["layer4Configs"] == [{"ipProtocol": "tcp", "ports": ["5900"]}]
    assert added.after["match"]["srcIpRanges"] == ["10.1.0.0/16"]
    assert patched.after["match"]["layer4Configs"] == [{"ipProtocol": "tcp", "ports": ["443"]}]
    assert patched.after["match"]["srcIpRanges"] == ["0.0.0.0/0", "10.1.0.0/16"]
    fixed = effective(net_policy(dict(patched.after), dict(added.after)))
    assert admin(scan(gcp=[network(), fixed])) == {}  # and 443 stays open to everyone


def test_a_split_with_only_the_internet_to_keep_only_drops_the_sensitive_ports() -> None:
    mixed = policy_rule(1000, "allow", ["5900", "443"], ruleName="vnc-and-web")
    [patched] = _plan([network(), effective(net_policy(mixed))]).changes
    assert patched.after is not None
    assert patched.after["match"]["layer4Configs"] == [{"ipProtocol": "tcp", "ports": ["443"]}]


def test_restrict_ingress_says_an_organization_policy_is_its_owners_to_close() -> None:
    ssh = policy_rule(100, "allow", ["22"], ruleName="ssh-everywhere")
    with pytest.raises(PlanRefused) as refused:
        _plan([network(), effective(org(ssh))])
    message = refused.value.message
    assert "hierarchical firewall policy org-baseline (firewallPolicies/123)" in message
    assert "an allow there is terminal" in message and "owners" in message


def test_an_organization_goto_next_leaves_the_fix_to_the_network_policy_that_allows() -> None:
    defer = policy_rule(100, "goto_next", ["22"], ruleName="defer-ssh")
    ssh = policy_rule(1000, "allow", ["22"], ruleName="ssh")
    plan = _plan([network(), effective(org(defer), net_policy(ssh))])
    [change] = plan.changes
    assert "/global/firewallPolicies/vpc-policy/rules/1000" in change.target

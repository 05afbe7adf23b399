"""restrict_ingress on the layer that opens the port: a rule of a GCP network firewall
policy (global on the demo estate, regional on a small one), planned, applied with
``patchRule`` through the discovery client, verified by re-reading the network's effective
firewalls, and undone — against the sandbox. An organization policy's allow is refused
with who owns it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clamp.errors import ConflictError, PlanRefused
from clamp.model import ActionStatus, Provider
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState
from rig import Rig, make_rig

CHECK = "exposed-admin-port"
PROJECT = "clamp-demo-prod"
API = "https://www.googleapis.com/compute/v1"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The demo estate; each test leaves it as it found it."""
    with Sandbox(load_state(None)) as sandbox:
        yield make_rig(sandbox, Path(tmp_path_factory.mktemp("policy-rules")))


def _policy(rig: Rig, project: str, name: str) -> dict[str, Any]:
    return next(
        o
        for o in rig.state()["gcp"][project]
        if o.get("kind") == "compute#firewallPolicy" and o.get("name") == name
    )


def _rule(rig: Rig, project: str, policy: str, priority: int) -> dict[str, Any]:
    rules = _policy(rig, project, policy)["rules"]
    return dict(next(r for r in rules if r["priority"] == priority))


def test_the_network_policy_rule_opening_vnc_is_narrowed_verified_and_undone(demo: Rig) -> None:
    before = _rule(demo, PROJECT, "prod-vpc-policy", 1000)
    finding = demo.finding(Provider.GCP, CHECK, "prod-vpc").finding
    plan = demo.engine.plan(finding.id, params={"allow": ["198.51.100.0/24"]})

    [change] = plan.changes
    assert change.api_call == "networkFirewallPolicies.patchRule"
    assert change.target == (
        f"//compute.googleapis.com/projects/{PROJECT}/global/firewallPolicies/"
        "prod-vpc-policy/rules/1000"
    )
    assert "srcIpRanges 0.0.0.0/0 → 198.51.100.0/24" in plan.summary
    assert "198.51.100.0/24 keeps access" in plan.blast_radius
    record = demo.engine.apply(plan, actor="tester")

    assert record.status == ActionStatus.VERIFIED
    after = _rule(demo, PROJECT, "prod-vpc-policy", 1000)
    assert after["match"]["srcIpRanges"] == ["198.51.100.0/24"]
    assert after["match"]["layer4Configs"] == before["match"]["layer4Configs"]
    assert after["ruleName"] == "vnc-vendor-support" and after["action"] == "allow"

    demo.engine.undo(record.id, actor="tester")
    assert _rule(demo, PROJECT, "prod-vpc-policy", 1000)["match"] == before["match"]
    assert not _rule(demo, PROJECT, "prod-vpc-policy", 1000).get("disabled")
    demo.scan()
    assert demo.finding(Provider.GCP, CHECK, "prod-vpc")  # open again after the undo


def test_a_rule_with_only_the_internet_is_disabled_and_the_undo_enables_it(demo: Rig) -> None:
    finding = demo.finding(Provider.GCP, CHECK, "prod-vpc").finding
    plan = demo.engine.plan(finding.id)
    assert "disabled" in plan.summary and "never deleted" in plan.summary

    record = demo.engine.apply(plan, actor="tester")
    assert record.status == ActionStatus.VERIFIED
    assert _rule(demo, PROJECT, "prod-vpc-policy", 1000)["disabled"] is True

    demo.engine.undo(record.id, actor="tester")
    assert _rule(demo, PROJECT, "prod-vpc-policy", 1000)["disabled"] is False


def test_a_rule_changed_since_the_plan_is_not_written(demo: Rig) -> None:
    finding = demo.finding(Provider.GCP, CHECK, "prod-vpc").finding
    plan = demo.engine.plan(finding.id)
    with demo.sandbox.state.lock:
        rule = next(
            r
            for r in _live_policy(demo.sandbox.state, "prod-vpc-policy")["rules"]
            if r["priority"] == 1000
        )
        rule["match"]["srcIpRanges"] = ["0.0.0.0/0", "10.9.0.0/16"]

    try:
        with pytest.raises(ConflictError, match="changed since it was read"):
            demo.engine.apply(plan, actor="tester")
        assert _rule(demo, PROJECT, "prod-vpc-policy", 1000)["match"]["srcIpRanges"] == [
            "0.0.0.0/0",
            "10.9.0.0/16",
        ]
    finally:
        with demo.sandbox.state.lock:
            rule["match"]["srcIpRanges"] = ["0.0.0.0/0"]


def _live_policy(state: SandboxState, name: str) -> dict[str, Any]:
    return next(
        o
        for o in state.gcp[PROJECT]
        if o.get("kind") == "compute#firewallPolicy" and o.get("name") == name
    )


def test_an_organization_allow_is_refused_naming_the_policy_and_what_can_be_done(
    demo: Rig,
) -> None:
    with demo.sandbox.state.lock:
        [org] = demo.sandbox.state.gcp_organizations["123456789012"]
        rule = copy.deepcopy(org["rules"][0])
        rule.update(ruleName="rdp-everywhere", priority=900, action="allow")
        rule["match"]["layer4Configs"] = [{"ipProtocol": "tcp", "ports": ["3389"]}]
        org["rules"].insert(0, rule)
    try:
        demo.scan()
        finding = demo.finding(Provider.GCP, CHECK, "prod-vpc").finding
        with pytest.raises(PlanRefused) as refused:
            demo.engine.plan(finding.id)
    finally:
        with demo.sandbox.state.lock:
            org["rules"].remove(rule)
        demo.scan()
    message = refused.value.message
    assert "hierarchical firewall policy org-baseline" in message
    assert "attached to the organization or a folder above project clamp-demo-prod" in message
    assert "not even a deny" in message and "isolate_instance" in message
    assert _policy(demo, PROJECT, "prod-vpc-policy")["rules"][0]["match"]["srcIpRanges"] == [
        "0.0.0.0/0"
    ]


# -- a regional policy on a small estate ----------------------------------------------------

SMALL = "acme-regional"
NET = f"{API}/projects/{SMALL}/global/networks/vpc"


def _small_state() -> SandboxState:
    rdp = {
        "kind": "compute#firewallPolicyRule",
        "ruleName": "rdp-support",
        "priority": 500,
        "action": "allow",
        "direction": "INGRESS",
        "match": {
            "srcIpRanges": ["0.0.0.0/0", "10.40.0.0/16"],
            "layer4Configs": [{"ipProtocol": "tcp", "ports": ["3389"]}],
        },
    }
    return SandboxState.from_scenario(
        {
            "gcp": {
                SMALL: [
                    {
                        "kind": "compute#network",
                        "name": "vpc",
                        "selfLink": NET,
                        "id": "1",
                        "creationTimestamp": "2026-01-05T10:00:00.000-08:00",
                    },
                    {
                        "kind": "compute#instance",
                        "name": "win-1",
                        "id": "2",
                        "creationTimestamp": "2026-01-05T10:05:00.000-08:00",
                        "zone": f"{API}/projects/{SMALL}/zones/us-east1-b",
                        "selfLink": f"{API}/projects/{SMALL}/zones/us-east1-b/instances/win-1",
                        "status": "RUNNING",
                        "networkInterfaces": [{"network": NET, "networkIP": "10.40.0.5"}],
                    },
                    {
                        "kind": "compute#firewallPolicy",
                        "id": "77",
                        "name": "east-policy",
                        "creationTimestamp": "2026-01-05T10:10:00.000-08:00",
                        "region": f"{API}/projects/{SMALL}/regions/us-east1",
                        "selfLink": (
                            f"{API}/projects/{SMALL}/regions/us-east1/firewallPolicies/east-policy"
                        ),
                        "fingerprint": "AAAAAAAAAAA=",
                        "associations": [{"name": "a", "attachmentTarget": NET}],
                        "rules": [rdp],
                    },
                ]
            }
        }
    )


def test_a_regional_policy_rule_keeps_its_private_range_and_undo_restores_it(
    tmp_path: Path,
) -> None:
    with Sandbox(_small_state()) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        finding = rig.finding(Provider.GCP, CHECK, "vpc").finding
        plan = rig.engine.plan(finding.id)
        [change] = plan.changes
        assert change.api_call == "regionNetworkFirewallPolicies.patchRule"
        record = rig.engine.apply(plan, actor="tester")

        assert record.status == ActionStatus.VERIFIED
        assert _rule(rig, SMALL, "east-policy", 500)["match"]["srcIpRanges"] == ["10.40.0.0/16"]
        rig.engine.undo(record.id, actor="tester")
        assert _rule(rig, SMALL, "east-policy", 500)["match"]["srcIpRanges"] == [
            "0.0.0.0/0",
            "10.40.0.0/16",
        ]


def test_restrict_ingress_declares_every_permission_the_policy_rule_fix_and_undo_need(
    demo: Rig, tmp_path: Path
) -> None:
    finding = demo.finding(Provider.GCP, CHECK, "prod-vpc").finding
    plans = [demo.engine.plan(finding.id)]
    with Sandbox(_small_state()) as sandbox:
        small = make_rig(sandbox, tmp_path)
        plans.append(small.engine.plan(small.finding(Provider.GCP, CHECK, "vpc").finding.id))
        driver = small.engine.drivers(Provider.GCP)
        needed = {
            p
            for plan in plans
            for c in [*plan.changes, *(c.inverse() for c in plan.changes)]
            for p in driver.describe(c).permissions
        }
    assert {"compute.firewallPolicies.update", "compute.regionFirewallPolicies.update"} <= needed
    assert needed <= set(plans[0].permissions)


# -- a rule that opens other ports too: split, not narrowed whole ---------------------------


def _east_rules(state: SandboxState) -> list[dict[str, Any]]:
    policy = next(o for o in state.gcp[SMALL] if o.get("kind") == "compute#firewallPolicy")
    rules: list[dict[str, Any]] = policy["rules"]
    return rules


def _mixed_state(configs: list[dict[str, Any]], taken: tuple[int, ...] = ()) -> SandboxState:
    """The small estate whose rule 500 opens ``configs``; other rules at ``taken``."""
    state = _small_state()
    [rdp] = _east_rules(state)
    rdp["match"]["layer4Configs"] = configs
    for priority in taken:
        _east_rules(state).append({**copy.deepcopy(rdp), "priority": priority, "action": "deny"})
        _east_rules(state)[-1]["match"]["srcIpRanges"] = ["192.0.2.0/24"]
    return state


def test_a_rule_that_also_opens_https_is_split_and_undo_puts_it_back(tmp_path: Path) -> None:
    tcp = [{"ipProtocol": "tcp", "ports": ["443", "3380-3390"]}]
    with Sandbox(_mixed_state(tcp)) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        before = copy.deepcopy(_east_rules(sandbox.state))
        finding = rig.finding(Provider.GCP, CHECK, "vpc").finding
        plan = rig.engine.plan(finding.id)

        assert [c.api_call for c in plan.changes] == [
            "regionNetworkFirewallPolicies.addRule",
            "regionNetworkFirewallPolicies.patchRule",
        ]
        assert "split" in plan.summary and "TCP 443,3380-3388,3390" in plan.summary
        record = rig.engine.apply(plan, actor="tester")

        assert record.status == ActionStatus.VERIFIED
        rules = {r["priority"]: r for r in _east_rules(sandbox.state)}
        assert set(rules) == {500, 501}  # right beside it: evaluated where the original is
        assert rules[500]["match"]["srcIpRanges"] == ["0.0.0.0/0", "10.40.0.0/16"]
        assert rules[500]["match"]["layer4Configs"] == [
            {"ipProtocol": "tcp", "ports": ["443", "3380-3388", "3390"]}
        ]
        assert rules[501]["ruleName"] == "rdp-support-restricted"
        assert rules[501]["match"]["srcIpRanges"] == ["10.40.0.0/16"]
        assert rules[501]["match"]["layer4Configs"] == [{"ipProtocol": "tcp", "ports": ["3389"]}]

        undo = rig.engine.undo(record.id, actor="tester")
        assert undo.status == ActionStatus.VERIFIED
        # the rule as it was (``disabled: false`` now explicit: patchRule sends it)
        assert [{"disabled": False, **r} for r in before] == _east_rules(sandbox.state)


def test_a_split_with_no_room_beside_the_rule_or_for_every_protocol_is_refused(
    tmp_path: Path,
) -> None:
    tcp = [{"ipProtocol": "tcp", "ports": ["443", "3389"]}]
    for state, message in (
        (_mixed_state(tcp, taken=(499, 501)), "priorities 499 and 501 are taken"),
        (_mixed_state([{"ipProtocol": "all"}]), "cannot be split by port"),
    ):
        with Sandbox(state) as sandbox:
            rig = make_rig(sandbox, tmp_path / str(len(message)))
            finding = rig.finding(Provider.GCP, CHECK, "vpc").finding
            with pytest.raises(PlanRefused, match=message):
                rig.engine.plan(finding.id)


def test_a_split_whose_priority_a_rule_for_other_networks_holds_writes_nothing(
    tmp_path: Path,
) -> None:
    state = _mixed_state([{"ipProtocol": "tcp", "ports": ["443", "3389"]}], taken=(501,))
    [_, hidden] = _east_rules(state)
    hidden["targetResources"] = [f"{API}/projects/{SMALL}/global/networks/other"]
    with Sandbox(state) as sandbox:
        rig = make_rig(sandbox, tmp_path)
        before = copy.deepcopy(_east_rules(sandbox.state))
        plan = rig.engine.plan(rig.finding(Provider.GCP, CHECK, "vpc").finding.id)
        assert plan.changes[0].target.endswith("/rules/501")  # not listed for this network

        with pytest.raises(ConflictError, match="priority 501 of firewall policy east-policy"):
            rig.engine.apply(plan, actor="tester")
        assert _east_rules(sandbox.state) == before

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

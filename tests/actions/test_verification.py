"""Verification re-reads every object a plan touched: a change that opens something new is
failed and rolled back, never verified; undo plans name the calls they really make."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

import clamp.actions  # noqa: F401  (registers the intents)
from clamp.actions.interface import INTENTS
from clamp.errors import VerificationFailed
from clamp.model import ActionStatus, ChangeOp, Plan, Provider
from rig import Rig

ADMIN = "exposed-admin-port"
DATABASE = "exposed-database-port"


def _opening(plan: Plan, edit: dict[str, Any]) -> Plan:
    """``plan`` with its created object edited: what a faulty intent (or plugin) might send."""
    changes = []
    for change in plan.changes:
        if change.op == ChangeOp.CREATE:
            after = dict(change.after or {})
            if "properties" in after:
                after["properties"] = {**after["properties"], **edit}
            else:
                after.update(edit)
            change = replace(change, after=after)
        changes.append(change)
    assert any(c.op == ChangeOp.CREATE for c in changes), "the fix should split the rule"
    return replace(plan, changes=tuple(changes))


def _without_etags(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in ("etag", "fingerprint")}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {name: clean(obj) for name, obj in objects.items()}


def test_an_azure_split_whose_new_rule_opens_a_database_port_is_rolled_back(rig: Rig) -> None:
    before = rig.nsg_rules("web-nsg")
    finding = rig.finding(Provider.AZURE, ADMIN, "web-nsg")
    plan = rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]})
    faulty = _opening(
        plan,
        {
            "destinationPortRange": "3306",
            "destinationPortRanges": [],
            "sourceAddressPrefix": "Internet",
            "sourceAddressPrefixes": [],
        },
    )

    with pytest.raises(VerificationFailed, match=DATABASE):
        rig.engine.apply(faulty, actor="tester")

    assert _without_etags(rig.nsg_rules("web-nsg")) == _without_etags(before)
    [record] = rig.store.actions()
    assert record.status == ActionStatus.FAILED
    assert DATABASE in record.result and "rolled back" in record.result
    assert "action.failed" in [e.event for e in rig.store.audit.entries()]


def test_a_gcp_split_whose_new_firewall_opens_postgres_is_rolled_back(rig: Rig) -> None:
    before = rig.firewalls()
    finding = rig.finding(Provider.GCP, ADMIN, "allow-ssh-web")
    plan = rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]})
    faulty = _opening(
        plan, {"sourceRanges": ["0.0.0.0/0"], "allowed": [{"IPProtocol": "tcp", "ports": ["5432"]}]}
    )

    with pytest.raises(VerificationFailed, match=DATABASE):
        rig.engine.apply(faulty, actor="tester")

    assert set(rig.firewalls()) == set(before)  # the new firewall is gone again
    assert _without_etags(rig.firewalls()) == _without_etags(before)
    [record] = rig.store.actions()
    assert record.status == ActionStatus.FAILED and "rolled back" in record.result


def test_a_finding_that_was_there_before_does_not_fail_an_unrelated_fix(rig: Rig) -> None:
    # allow-mysql's database finding is open in the same project; fixing SSH must verify.
    finding = rig.finding(Provider.GCP, ADMIN, "allow-ssh-web")
    record = rig.engine.apply(
        rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]}), actor="tester"
    )
    assert record.status == ActionStatus.VERIFIED
    assert rig.finding(Provider.GCP, DATABASE, "allow-mysql")


@pytest.mark.parametrize(
    ("provider", "name", "delete_call", "delete_permission"),
    [
        (
            Provider.AZURE,
            "web-nsg",
            "SecurityRulesOperations.begin_delete",
            "Microsoft.Network/networkSecurityGroups/securityRules/delete",
        ),
        (Provider.GCP, "allow-ssh-web", "FirewallsClient.delete_unary", "compute.firewalls.delete"),
    ],
)
def test_the_undo_of_a_split_names_the_delete_it_makes(
    rig: Rig, provider: Provider, name: str, delete_call: str, delete_permission: str
) -> None:
    finding = rig.finding(provider, ADMIN, name)
    record = rig.engine.apply(
        rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]}), actor="tester"
    )

    undo = rig.engine.undo_plan(record.id)

    ops = [(c.op, c.api_call) for c in undo.changes]
    assert (ChangeOp.DELETE, delete_call) in ops
    assert delete_permission in undo.permissions
    # ... and the role ``clamp permissions --intent restrict_ingress`` prints allows it
    assert set(undo.permissions) <= set(INTENTS.get("restrict_ingress").permissions[provider])
    assert all("create" not in call.lower() for op, call in ops if op == ChangeOp.DELETE)

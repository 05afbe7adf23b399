"""Automation rules with their guardrails, against the sandbox through the real SDKs:
caps, failure budget, promotion, exemptions, backlog, approvals and re-plans."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clamp.automation.rules import Rule, parse_rules
from clamp.automation.runner import RuleRunner
from clamp.model import FindingStatus
from clamp.sandbox.state import Fault
from clamp.selectors import Selector
from clamp.store.audit import AuditLog
from clamp.store.codec import plan_to_json
from rig import Rig

SUB = "00000000-0000-4000-8000-000000000001"
STAGES = {
    "non-prod": (Selector(projects=frozenset({"clamp-demo-dev"})),),
    "prod": (Selector(subscriptions=frozenset({SUB}), projects=frozenset({"clamp-demo-prod"})),),
}


@pytest.fixture
def rig(demo_rig: Rig) -> Rig:
    demo_rig.settings = replace(demo_rig.settings, stages=STAGES)
    return demo_rig


def _rules(*rules: dict[str, Any]) -> list[Rule]:
    return parse_rules({"rules": list(rules)}, "rules.yaml", STAGES)


def _rule(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "close-public-ports",
        "match": {"check": ["exposed-admin-port", "exposed-database-port"], "severity": ">=high"},
        "action": "restrict_ingress",
        "params": {"allow": ["10.0.0.0/8"]},
        "mode": "auto",
        "backlog": True,
    }
    return {**base, **fields}


def _runner(rig: Rig) -> RuleRunner:
    rig.engine.settings = rig.settings
    return RuleRunner(rig.store, rig.engine, rig.settings)


def _open(rig: Rig, check: str) -> set[str]:
    return {
        f.resource.rsplit("/", 1)[-1]
        for f in rig.store.findings(status=FindingStatus.OPEN)
        if f.check == check
    }


def test_a_dry_run_plans_and_changes_nothing(rig: Rig) -> None:
    before = copy.deepcopy(rig.state())

    report = _runner(rig).run(_rules(_rule()), actor="tester", dry_run=True)

    assert report.summary()["planned"] == 5  # the default cap: 5 actions per run
    assert report.summary()["applied"] == 0
    # four over the cap, the VNC port only prod-vpc's network firewall policy opens and the
    # WinRM ports a security admin rule always allows on demo-vnet: restrict_ingress narrows
    # VPC and NSG rules, not policy or admin rules ("no plan")
    assert report.summary()["skipped"] == 6
    assert rig.state() == before
    assert rig.store.actions() == [] and rig.store.rules.states() == []


def test_the_per_run_cap_stops_a_rule_and_the_hourly_cap_holds_across_runs(rig: Rig) -> None:
    rules = _rules(_rule(limits={"max_actions_per_run": 2, "max_actions_per_hour": 3}))
    runner = _runner(rig)

    first = runner.run(rules, actor="tester")

    assert first.summary()["applied"] == 2
    skipped = [a.reason for a in first.actions if a.outcome == "skipped"]
    assert skipped and all("max_actions_per_run (2)" in r for r in skipped)
    second = runner.run(rules, actor="tester")
    assert second.summary()["applied"] == 1
    assert any("max_actions_per_hour (3)" in a.reason for a in second.actions)
    later = runner.run(rules, actor="tester", now=datetime.now(UTC) + timedelta(hours=2))
    assert later.summary()["applied"] == 2


def test_a_rule_acts_only_on_findings_first_seen_after_it_was_enabled(rig: Rig) -> None:
    report = _runner(rig).run(_rules(_rule(backlog=False)), actor="tester")

    assert report.summary()["applied"] == 0
    assert all(a.reason.startswith("backlog:") for a in report.actions)


def test_the_failure_budget_halts_the_rule_and_says_why(rig: Rig) -> None:
    rig.sandbox.state.faults.append(Fault(status=403, method="PATCH", times=None))
    rig.sandbox.state.faults.append(Fault(status=403, method="PUT", times=None))
    rules = _rules(_rule(limits={"max_actions_per_run": 10, "failure_budget": 1}))
    runner = _runner(rig)

    report = runner.run(rules, actor="tester")

    assert report.summary()["failed"] == 2  # the second failure exceeds a budget of 1
    assert any("failure budget exceeded: 2 of 2" in n for n in report.notes)
    halted = [a for a in report.actions if a.reason.startswith("rule halted")]
    assert len(halted) == len(report.actions) - 2 > 0
    again = runner.run(rules, actor="tester")
    assert {a.outcome for a in again.actions} == {"skipped"}
    runner.resume(rules[0], actor="lead")
    assert rig.store.audit.entries()[-1].event == "rule.resumed"


def test_the_promotion_gate_holds_until_clean_runs_and_age_are_earned(rig: Rig) -> None:
    rules = _rules(
        _rule(
            match={"check": ["exposed-database-port"]},
            promote={"stages": ["non-prod", "prod"], "after": {"clean_runs": 1, "min_age": "24h"}},
        )
    )
    runner = _runner(rig)

    first = runner.run(rules, actor="tester")

    applied = {a.resource.rsplit("/", 1)[-1] for a in first.actions if a.outcome == "applied"}
    assert applied == {"allow-redis-debug"}  # the only finding in non-prod
    assert all("outside non-prod" in a.reason for a in first.actions if a.outcome == "skipped")
    second = runner.run(rules, actor="tester")
    assert second.summary()["applied"] == 0  # one clean run, but not 24 hours old yet
    assert rig.store.rules.state("close-public-ports").stage == 0  # type: ignore[union-attr]

    third = runner.run(rules, actor="tester", now=datetime.now(UTC) + timedelta(hours=25))

    assert rig.store.rules.state("close-public-ports").stage == 1  # type: ignore[union-attr]
    assert {a.resource.rsplit("/", 1)[-1] for a in third.actions if a.outcome == "applied"} == {
        "db-nsg",
        "allow-mysql",
        "default-allow-anything",
    }
    assert "rule.promoted" in [e.event for e in rig.store.audit.entries()]


def test_manual_promotion_and_demotion_are_audited(rig: Rig) -> None:
    [rule] = _rules(_rule(promote={"stages": ["non-prod", "prod"]}))
    runner = _runner(rig)
    assert runner.move(rule, actor="lead", step=1).stage == 1
    assert runner.move(rule, actor="lead", step=-1).stage == 0
    events = [(e.event, e.actor) for e in rig.store.audit.entries()]
    assert ("rule.promoted", "lead") in events and ("rule.demoted", "lead") in events


class _Crash(BaseException):
    """The process dying mid-write: nothing in Clamp catches it."""


def test_a_crash_while_a_promotion_is_audited_leaves_the_rule_where_it_was(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    [rule] = _rules(_rule(promote={"stages": ["non-prod", "prod"]}))
    runner = _runner(rig)
    runner.move(rule, actor="lead", step=1)
    before = len(rig.store.audit.entries())

    def die(*_args: Any) -> None:
        raise _Crash

    monkeypatch.setattr(AuditLog, "append_in", die)
    with pytest.raises(_Crash):
        runner.move(rule, actor="lead", step=-1)
    monkeypatch.undo()

    assert rig.store.rules.state(rule.name).stage == 1  # type: ignore[union-attr]
    assert len(rig.store.audit.entries()) == before and rig.store.audit.verify() == before


def test_exemptions_hold_until_they_expire_then_are_reported_and_ignored(rig: Rig) -> None:
    gone = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    later = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    web_nsg = next(f.resource for f in rig.store.findings() if f.resource.endswith("/web-nsg"))
    rules = _rules(
        _rule(
            match={"check": ["exposed-admin-port"], "provider": ["azure"]},
            exempt=[
                {"resource": web_nsg, "reason": "vendor access until migration", "expires": later},
                {"tag": "env", "value": "prod", "reason": "old freeze", "expires": gone},
            ],
        )
    )

    report = _runner(rig).run(rules, actor="tester")

    by_name = {a.resource.rsplit("/", 1)[-1]: a for a in report.actions}
    assert by_name["web-nsg"].outcome == "skipped"
    assert "vendor access until migration" in by_name["web-nsg"].reason
    assert by_name["frontend-subnet-nsg"].outcome == "applied"
    assert any("env=prod" in n and "expired" in n for n in report.notes)


def test_approval_applies_exactly_the_approved_plan(rig: Rig) -> None:
    rules = _rules(
        _rule(mode="approve", match={"check": ["exposed-database-port"], "provider": ["gcp"]})
    )
    runner = _runner(rig)

    report = runner.run(rules, actor="tester")

    assert report.summary()["queued"] == 3 and report.summary()["applied"] == 0
    assert "allow-redis-debug" in _open(rig, "exposed-database-port")
    requests = rig.store.incidents.approvals()
    target = next(r for r in requests if "allow-redis-debug" in (r.plan or {}).get("resource", ""))
    outcome, line = runner.decide(
        target.id, {r.name: r for r in rules}, actor="approver-1", approve=True
    )
    assert outcome == "applied", line
    [action] = rig.store.actions()
    assert plan_to_json(action.plan) == target.plan  # exactly what was approved
    assert action.status == "verified"  # re-read from the sandbox: the exposure is gone
    assert len(rig.store.incidents.approvals()) == 2


def test_a_resource_changed_since_the_plan_forces_a_re_plan(rig: Rig) -> None:
    rules = _rules(
        _rule(mode="approve", match={"check": ["exposed-database-port"], "provider": ["gcp"]})
    )
    runner = _runner(rig)
    runner.run(rules, actor="tester")
    target = next(
        r
        for r in rig.store.incidents.approvals()
        if "allow-mysql" in (r.plan or {}).get("resource", "")
    )
    firewall = next(
        o for o in rig.sandbox.state.gcp["clamp-demo-prod"] if o.get("name") == "allow-mysql"
    )
    firewall["description"] = "changed by someone else"

    outcome, line = runner.decide(
        target.id, {r.name: r for r in rules}, actor="approver-1", approve=True
    )

    assert outcome == "queued" and "re-planned" in line
    assert rig.store.actions() == []  # nothing applied from the stale plan
    assert rig.store.incidents.approval(target.id).decision == "superseded"
    fresh = [
        r
        for r in rig.store.incidents.approvals()
        if "allow-mysql" in (r.plan or {}).get("resource", "")
    ]
    assert len(fresh) == 1 and fresh[0].id != target.id


def test_a_rule_matching_a_thousand_findings_acts_on_at_most_its_cap(rig: Rig) -> None:
    objects = rig.sandbox.state.gcp["clamp-demo-dev"]
    template = next(o for o in objects if o.get("name") == "allow-redis-debug")
    for n in range(1000):
        clone = copy.deepcopy(template)
        clone["name"] = f"allow-redis-{n}"
        clone["id"] = str(8_100_000_000_000_000_000 + n)
        clone["selfLink"] = template["selfLink"].rsplit("/", 1)[0] + f"/allow-redis-{n}"
        objects.append(clone)
    rig.scan()
    assert len(_open(rig, "exposed-database-port")) > 1000
    rules = _rules(
        _rule(
            match={"check": ["exposed-database-port"], "provider": ["gcp"]},
            limits={"max_actions_per_run": 20, "max_actions_per_hour": 50},
        )
    )

    report = _runner(rig).run(rules, actor="tester")

    summary = report.summary()
    assert summary["applied"] == 20
    assert summary["skipped"] == len(report.actions) - 20
    assert len(rig.store.actions()) == 20


def test_the_example_plugin_intent_runs_through_a_rule(rig: Rig) -> None:
    rules = _rules(
        _rule(
            name="disable-open-ssh",
            match={"check": ["exposed-admin-port"], "provider": ["gcp"]},
            action="disable_firewall_rule",
            params={"reason": "incident 42"},
            limits={"max_actions_per_run": 1},
        )
    )

    report = _runner(rig).run(rules, actor="tester")

    [applied] = [a for a in report.actions if a.outcome == "applied"]
    name = applied.resource.rsplit("/", 1)[-1]
    firewall = next(o for o in rig.sandbox.state.gcp["clamp-demo-prod"] if o.get("name") == name)
    assert firewall["disabled"] is True
    assert rig.store.action(applied.action or "").intent == "disable_firewall_rule"

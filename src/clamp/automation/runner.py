"""Running rules over the open findings, with every guardrail.

For each rule, the open findings it matches are taken most severe (then oldest) first and
each is either skipped with a reason — exempt, outside the rule's current stage, backlog,
a cap reached, the rule halted — or planned, then applied (``auto``), queued for an
approver (``approve``) or only reported (``notify``). A failure budget halts the rule
(until ``clamp rules resume``) when too many of its actions fail; a rule is promoted to its
next stage once it has earned it (clean runs and age) or by hand (audited). One rule's pass
over its findings lives in ``clamp.automation.rule_pass``; ``run_on`` runs the rules over
a given list of findings (those a cloud change event opened).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from clamp.actions.engine import ActionEngine
from clamp.actions.interface import INTENTS
from clamp.approvals import ApprovalQueue, new_approval_id
from clamp.automation.rule_pass import (
    ACTED,
    HOUR,
    TRIED,
    Report,
    RuleOutcome,
    RulePass,
    stage_name,
)
from clamp.automation.rules import Rule
from clamp.compare import matches
from clamp.config import Settings
from clamp.errors import InputError, PlanRefused
from clamp.model import (
    ActionStatus,
    Approval,
    ApprovalKind,
    Decision,
    FindingStatus,
    Outcome,
    Plan,
)
from clamp.roles import Role
from clamp.store import AuditNote, FindingRecord
from clamp.store.codec import plan_from_json, plan_to_json
from clamp.store.records import RuleState

if TYPE_CHECKING:
    from clamp.store import Store

__all__ = ["ACTED", "HOUR", "TRIED", "Report", "RuleOutcome", "RuleRunner"]


class RuleRunner:
    """Applies rules to the store's open findings through the action engine."""

    def __init__(self, store: Store, engine: ActionEngine, settings: Settings) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.book = store.rules
        self.approvals = ApprovalQueue(store, settings)

    def run(
        self,
        rules: Sequence[Rule],
        *,
        actor: str,
        dry_run: bool = False,
        now: datetime | None = None,
    ) -> Report:
        """Run every rule once; ``dry_run`` plans and changes nothing (state included)."""
        findings = self.store.findings(status=FindingStatus.OPEN)
        return self.run_on(rules, findings, actor=actor, dry_run=dry_run, now=now)

    def run_on(
        self,
        rules: Sequence[Rule],
        findings: Sequence[FindingRecord],
        *,
        actor: str,
        dry_run: bool = False,
        now: datetime | None = None,
    ) -> Report:
        """Run every rule once over ``findings`` alone (those a cloud change event opened,
        say), with the same guardrails as a whole run."""
        now = now or datetime.now(UTC)
        report = Report(run=f"rr-{uuid.uuid4().hex[:10]}", dry_run=dry_run)
        findings = sorted(findings, key=lambda r: (-r.severity.rank, r.first_seen, r.id))
        tags = self.book.tags_of(f.resource for f in findings)
        for rule in rules:
            state = self._state(rule, now, actor, dry_run)
            matched = [f for f in findings if self._matches(rule, f, tags)]
            RulePass(self, rule, state, report, actor, now, tags).work(matched)
        return report

    # -- state and promotion --------------------------------------------------------------
    def enable(self, rules: Sequence[Rule], *, actor: str, at: datetime) -> None:
        """Enable the rules never run before as of ``at`` (an event's receipt: the findings
        that event opens are then not backlog)."""
        for rule in rules:
            if self.book.state(rule.name) is None:
                self._enable(rule, at, actor)

    def _enable(self, rule: Rule, now: datetime, actor: str) -> RuleState:
        state = RuleState(rule.name, enabled=now, stage_since=now)
        self.book.save_state(state, AuditNote("rule.enabled", actor, {"rule": rule.name}))
        return state

    def _state(self, rule: Rule, now: datetime, actor: str, dry_run: bool) -> RuleState:
        state = self.book.state(rule.name)
        if state is None:
            state = RuleState(rule.name, enabled=now, stage_since=now)
            if not dry_run:
                state = self._enable(rule, now, actor)
        earned = self.earned(rule, state, now)
        if earned and not dry_run and rule.promote is not None:
            state = replace(state, stage=state.stage + 1, stage_since=now)
            payload = {"rule": rule.name, "stage": self.stage_name(rule, state), "why": earned}
            self.book.save_state(state, AuditNote("rule.promoted", "clamp", payload))
        return state

    def earned(self, rule: Rule, state: RuleState, now: datetime) -> str:
        """Why the rule has earned its next stage, or empty if it has not (yet)."""
        promote = rule.promote
        if promote is None or state.stage >= len(promote.stages) - 1 or state.halted:
            return ""
        clean = self.clean_runs(rule, state)
        age = now - (state.stage_since or state.enabled)
        if clean < promote.clean_runs or age < promote.min_age:
            return ""
        return f"{clean} clean run(s) and {age} at stage {promote.stages[state.stage]}"

    def clean_runs(self, rule: Rule, state: RuleState) -> int:
        """Runs at the current stage that applied something and had no failed or undone
        action."""
        stage = self.stage_name(rule, state)
        runs: dict[str, bool] = {}
        for done in self.book.actions(rule.name, since=state.stage_since):
            if done.stage != stage or done.outcome not in TRIED:
                continue
            ok = done.outcome == Outcome.APPLIED and not self._undone(done.action)
            runs[done.run] = runs.get(done.run, True) and ok
        return sum(runs.values())

    def _undone(self, action_id: str | None) -> bool:
        return action_id is not None and self.store.action(action_id).status == ActionStatus.UNDONE

    @staticmethod
    def stage_name(rule: Rule, state: RuleState) -> str:
        """The name of the rule's current stage ("" when it has no promotion)."""
        return stage_name(rule, state)

    def move(self, rule: Rule, *, actor: str, step: int) -> RuleState:
        """Promote (``step`` 1) or demote (-1) a rule by hand; audited."""
        verb = "promote" if step > 0 else "demote"
        self.settings.roles.require(actor, Role.REMEDIATOR, f"{verb} rule {rule.name}")
        if rule.promote is None:
            raise InputError(f"rule {rule.name} has no stages to move through")
        now = datetime.now(UTC)
        state = self.book.state(rule.name) or RuleState(rule.name, enabled=now, stage_since=now)
        stage = state.stage + step
        if not 0 <= stage < len(rule.promote.stages):
            where = "last" if step > 0 else "first"
            raise InputError(f"rule {rule.name} is at its {where} stage already")
        state = replace(state, stage=stage, stage_since=now, halted="")
        event = "rule.promoted" if step > 0 else "rule.demoted"
        payload = {"rule": rule.name, "stage": rule.promote.stages[stage], "why": "by hand"}
        self.book.save_state(state, AuditNote(event, actor, payload))
        return state

    def resume(self, rule: Rule, *, actor: str) -> RuleState:
        """Lift a failure-budget halt (audited); the budget counts afresh from now."""
        self.settings.roles.require(actor, Role.REMEDIATOR, f"resume rule {rule.name}")
        state = self.book.state(rule.name)
        if state is None or not state.halted:
            raise InputError(f"rule {rule.name} is not halted")
        state = replace(state, halted="", stage_since=datetime.now(UTC))
        self.book.save_state(state, AuditNote("rule.resumed", actor, {"rule": rule.name}))
        return state

    # -- matching -------------------------------------------------------------------------
    def takes(self, rule: Rule, findings: Sequence[FindingRecord]) -> bool:
        """Whether ``rule`` matches any of ``findings`` (guardrails aside)."""
        tags = self.book.tags_of(f.resource for f in findings)
        return any(self._matches(rule, f, tags) for f in findings)

    @staticmethod
    def _matches(rule: Rule, finding: FindingRecord, tags: Mapping[str, Mapping[str, str]]) -> bool:
        match = rule.match
        return (
            (not match.checks or finding.check in match.checks)
            and finding.severity.rank >= match.min_severity.rank
            and finding.provider in match.providers
            and match.scope.matches(
                finding.provider, finding.scope, tags.get(finding.resource.lower(), {})
            )
        )

    # -- planning and approvals -----------------------------------------------------------
    def plan(self, rule: Rule, finding: FindingRecord) -> Plan:
        """The rule's plan for one finding: its intent fixes the finding, or acts on the
        finding's resource (a containment intent)."""
        intent = INTENTS.get(rule.action)
        if finding.check in intent.fixes:
            return self.engine.plan(finding.id, intent=rule.action, params=dict(rule.params))
        if intent.targets:
            return self.engine.plan_containment(rule.action, finding.resource, dict(rule.params))
        raise PlanRefused(f"{rule.action} does not fix {finding.check}")

    def queue(self, rule: Rule, finding: FindingRecord, plan: Plan, *, actor: str) -> Approval:
        """Queue ``plan`` for an approver; the approval applies exactly this plan."""
        return self.approvals.request(
            Approval(
                id=new_approval_id(),
                subject=finding.id,
                requester=f"rule:{rule.name}",
                created=datetime.now(UTC),
                summary=f"rule {rule.name}: {plan.summary}",
                kind=ApprovalKind.PLAN,
                plan=plan_to_json(plan),
                rule=rule.name,
                authorized_by=actor,
            )
        )

    def decide(
        self,
        approval_id: str,
        rules: Mapping[str, Rule],
        *,
        actor: str,
        approve: bool,
        reason: str = "",
    ) -> tuple[str, str]:
        """Approve (apply exactly the queued plan) or reject a rule's plan. If the resource
        changed since the plan, it is re-planned and queued again instead. Returns the
        outcome and a line to show."""
        verb = "approve" if approve else "reject"
        approval = self.approvals.pending(approval_id, ApprovalKind.PLAN, actor=actor, verb=verb)
        if not approve:
            self.approvals.close(approval, Decision.REJECTED, actor=actor, reason=reason)
            return str(Decision.REJECTED), f"rejected {approval_id}"
        assert approval.plan is not None  # a rule's request always carries its plan
        plan = plan_from_json(approval.plan)
        driver = self.engine.drivers(plan.provider)
        if any(not matches(c.before, driver.current(c)) for c in plan.changes):
            self.approvals.close(
                approval,
                Decision.SUPERSEDED,
                actor=actor,
                reason="the resource changed since the plan",
            )
            rule = rules.get(approval.rule)
            if rule is None:
                raise InputError(f"rule {approval.rule} is not in the rules file; cannot re-plan")
            finding = self.store.finding(approval.subject)
            fresh = self.queue(
                rule, finding, self.plan(rule, finding), actor=approval.authorized_by
            )
            return (
                Outcome.QUEUED,
                f"the resource changed since the plan: re-planned as {fresh.id}, approve that one",
            )
        self.approvals.close(approval, Decision.APPROVED, actor=actor, reason=reason)
        record = self.engine.apply(
            plan,
            actor=approval.requester,
            reason=f"{approval.summary}; approved by {actor}",
            authorized_by=approval.authorized_by or None,
        )
        return Outcome.APPLIED, f"{record.status} {record.id}: {record.result}"

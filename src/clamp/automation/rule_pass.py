"""One rule's pass over the findings it matched, in one run: each finding skipped with a
reason (halted, exempt, outside the stage, backlog, a cap) or planned, then applied,
queued or reported, the caps and the failure budget counted as it goes; and what a run
reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from clamp.actions.engine import ActionEngine
from clamp.automation.rules import Rule
from clamp.config import Settings
from clamp.errors import ClampError, PlanRefused
from clamp.model import Approval, Outcome, Plan
from clamp.store import AuditNote, FindingRecord
from clamp.store.records import RuleAction, RuleState

if TYPE_CHECKING:
    from clamp.store.automation import RuleBook

ACTED = (Outcome.APPLIED, Outcome.FAILED, Outcome.QUEUED)
TRIED = (Outcome.APPLIED, Outcome.FAILED)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule did with one finding."""

    rule: str
    finding: str
    intent: str
    outcome: Outcome
    reason: str = ""
    action: str | None = None
    resource: str = ""


@dataclass
class Report:
    """A rules run: every outcome, plus what the user should know (halts, expiries)."""

    run: str
    dry_run: bool
    actions: list[RuleOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts per outcome (always with planned, applied, queued, skipped)."""
        counts: dict[str, int] = dict.fromkeys(map(str, Outcome), 0)
        for outcome in self.actions:
            counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
        return counts


def stage_name(rule: Rule, state: RuleState) -> str:
    """The name of the rule's current stage ("" when it has no promotion)."""
    return rule.promote.stages[state.stage] if rule.promote else ""


class PassHost(Protocol):
    """What a pass needs of its runner (``RuleRunner``)."""

    engine: ActionEngine
    settings: Settings
    book: RuleBook

    def plan(self, rule: Rule, finding: FindingRecord) -> Plan:
        """The rule's plan for one finding."""
        ...

    def queue(self, rule: Rule, finding: FindingRecord, plan: Plan, *, actor: str) -> Approval:
        """Queue ``plan`` for an approver."""
        ...


class RulePass:
    """One rule's pass over its matched findings in one run (caps counted as it goes)."""

    def __init__(
        self,
        runner: PassHost,
        rule: Rule,
        state: RuleState,
        report: Report,
        actor: str,
        now: datetime,
        tags: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.runner, self.rule, self.state, self.report = runner, rule, state, report
        self.actor, self.now, self.tags = actor, now, tags
        self.this_run = 0
        counts = runner.book.tally(
            rule.name,
            {
                "hour": (now - HOUR, ACTED),
                "tried": (state.stage_since, TRIED),
                "failed": (state.stage_since, (Outcome.FAILED,)),
            },
        )
        self.this_hour = counts["hour"]
        self.attempted, self.failed = counts["tried"], counts["failed"]
        self.stage = stage_name(rule, state)

    def work(self, findings: Sequence[FindingRecord]) -> None:
        for finding in findings:
            reason = self._skip(finding)
            if reason.startswith("limit: "):
                note = f"rule {self.rule.name}: {reason.removeprefix('limit: ')}"
                if note not in self.report.notes:
                    self.report.notes.append(note)
            if reason:
                self._out(finding, Outcome.SKIPPED, reason)
            else:
                self._act(finding)
        if not self.report.dry_run:
            self.runner.book.save_state(replace(self.state, last_run=self.now))

    def _skip(self, finding: FindingRecord) -> str:
        rule, limits = self.rule, self.rule.limits
        if self.state.halted:
            return f"rule halted: {self.state.halted}"
        tags = self.tags.get(finding.resource.lower(), {})
        for exemption in rule.exempt:
            if not exemption.covers(finding.resource, tags):
                continue
            if not exemption.expired(self.now):
                return f"exempt: {exemption.describe()}"
            note = f"rule {rule.name}: exemption {exemption.describe()} has expired and is ignored"
            if note not in self.report.notes:
                self.report.notes.append(note)
        if rule.promote is not None:
            active = rule.promote.stages[: self.state.stage + 1]
            stages = self.runner.settings.stages
            selectors = [sel for name in active for sel in stages[name]]
            if not any(sel.matches(finding.provider, finding.scope, tags) for sel in selectors):
                return f"stage: outside {', '.join(active)} (the rule is at stage {self.stage})"
        if not rule.backlog and finding.first_seen < self.state.enabled:
            return "backlog: first seen before the rule was enabled (set backlog: true to work it)"
        if self.this_run >= limits.per_run:
            return f"limit: max_actions_per_run ({limits.per_run}) reached"
        if self.this_hour >= limits.per_hour:
            return f"limit: max_actions_per_hour ({limits.per_hour}) reached"
        return ""

    def _act(self, finding: FindingRecord) -> None:
        rule = self.rule
        try:
            plan = self.runner.plan(rule, finding)
        except PlanRefused as exc:
            self._out(finding, Outcome.SKIPPED, f"no plan: {exc}")
            return
        except ClampError as exc:
            self._count(finding, Outcome.FAILED, f"could not plan: {exc}")
            return
        if rule.mode == "notify":
            self._out(finding, Outcome.PLANNED, plan.summary)
            return
        if self.report.dry_run:  # what the run would do, caps included
            self._count(finding, Outcome.PLANNED, plan.summary)
            return
        if rule.mode == "approve":
            approval = self.runner.queue(rule, finding, plan, actor=self.actor)
            self._count(
                finding, Outcome.QUEUED, f"waiting for approval {approval.id}: {plan.summary}"
            )
            return
        try:
            record = self.runner.engine.apply(
                plan,
                actor=f"rule:{rule.name}",
                reason=f"rule {rule.name}",
                authorized_by=self.actor,
            )
        except ClampError as exc:
            self._count(finding, Outcome.FAILED, str(exc))
            return
        self._count(finding, Outcome.APPLIED, record.result, record.id)

    def _count(
        self, finding: FindingRecord, outcome: Outcome, reason: str, action: str | None = None
    ) -> None:
        """An outcome that uses the caps (and, when applied or failed, the budget)."""
        self.this_run += 1
        self.this_hour += 1
        if outcome in TRIED:
            self.attempted += 1
            self.failed += outcome == Outcome.FAILED
        self._out(finding, outcome, reason, action)
        limits = self.rule.limits
        if outcome == Outcome.FAILED and limits.exceeded(self.failed, self.attempted):
            budget = (
                f"{limits.budget:g} failures" if limits.budget_is_count else f"{limits.budget:.0%}"
            )
            why = f"failure budget exceeded: {self.failed} of {self.attempted} actions failed (budget {budget})"
            self.state = replace(self.state, halted=why)
            halted = AuditNote("rule.halted", "clamp", {"rule": self.rule.name, "why": why})
            self.runner.book.save_state(self.state, halted)
            self.report.notes.append(
                f"rule {self.rule.name} halted: {why}; `clamp rules resume {self.rule.name}` after a review"
            )

    def _out(
        self, finding: FindingRecord, outcome: Outcome, reason: str, action: str | None = None
    ) -> None:
        done = RuleOutcome(
            self.rule.name, finding.id, self.rule.action, outcome, reason, action, finding.resource
        )
        self.report.actions.append(done)
        if self.report.dry_run or outcome == Outcome.SKIPPED:  # skips are reported, not kept
            return
        self.runner.book.record(
            RuleAction(
                rule=self.rule.name,
                run=self.report.run,
                finding=finding.id,
                intent=self.rule.action,
                outcome=outcome,
                created=datetime.now(UTC),
                reason=reason,
                action=action,
                stage=self.stage,
            )
        )

"""What a rules run and the rules stand at, as JSON: the shapes ``clamp rules run|status
--format json`` print and the service returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clamp.automation.rules import Rule
from clamp.automation.runner import Report, RuleRunner
from clamp.store.codec import iso


def report_to_json(report: Report) -> dict[str, Any]:
    """The contract: ``summary`` counts and ``actions`` (rule, finding, intent, outcome,
    reason), plus the run id, notes and whether it was a dry run."""
    return {
        "run": report.run,
        "dry_run": report.dry_run,
        "summary": report.summary(),
        "actions": [
            {
                "rule": a.rule,
                "finding": a.finding,
                "intent": a.intent,
                "outcome": a.outcome,
                "reason": a.reason,
                "action": a.action,
                "resource": a.resource,
            }
            for a in report.actions
        ],
        "notes": report.notes,
    }


def rule_status(runner: RuleRunner, rules: Sequence[Rule]) -> list[dict[str, Any]]:
    """Each rule's stage, clean runs, failure budget used, halt and last run."""
    rows: list[dict[str, Any]] = []
    for rule in rules:
        state = runner.book.state(rule.name)
        done = runner.book.actions(rule.name, since=state.stage_since if state else None)
        tried = [a for a in done if a.outcome in ("applied", "failed")]
        first = rule.promote.stages[0] if rule.promote else ""
        rows.append(
            {
                "name": rule.name,
                "enabled": iso(state.enabled) if state else None,
                "stage": runner.stage_name(rule, state) if state else first,
                "clean_runs": runner.clean_runs(rule, state) if state else 0,
                "failed": sum(1 for a in tried if a.outcome == "failed"),
                "attempted": len(tried),
                "halted": state.halted if state else "",
                "last_run": iso(state.last_run) if state else None,
            }
        )
    return rows

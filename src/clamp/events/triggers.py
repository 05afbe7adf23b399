"""Automation rules that act on cloud change events.

After an event's re-read has updated the findings, the rules of the service's rules file
that say ``trigger: event`` run on the findings that event opened (new or reopened) and
on no other, through ``RuleRunner.run_on``: the same guardrails, caps, stages and
approvals as a run of every rule. An event that opens nothing runs nothing — which is how
the events of Clamp's own fixes end: their re-read finds the fix holding, opens nothing,
and so never triggers a second action.

When a rule acted, the event records when the first action call was issued (the action
engine's journal time of the first action the run applied): the ``latency_ms`` of the
stats, from receipt to that call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clamp.automation.rules import Rule, load_rules
from clamp.automation.runner import RuleRunner
from clamp.config import Settings
from clamp.errors import ClampError, NotFoundError
from clamp.model import FindingStatus, Outcome
from clamp.store import FindingRecord, Store

EVENTS = "events"
"""The actor of event-triggered rule runs (their authority is the service's rules file,
which only its operators can change)."""


@dataclass(frozen=True, slots=True)
class Triggered:
    """What the event's rules did: a line for the event's result, and when the first
    action call was issued (None when no rule applied anything)."""

    note: str
    acted: datetime | None = None


class EventRules:
    """The rules file's ``trigger: event`` rules, re-read when the file changes."""

    def __init__(self, store: Store, settings: Settings, runner: Callable[[], RuleRunner]):
        self.store = store
        self.settings = settings
        self.runner = runner
        self._loaded: tuple[Path, int, list[Rule]] | None = None

    def rules(self) -> list[Rule]:
        """The event-triggered rules (none without a rules file); a bad file raises."""
        path = self.settings.rules_file
        if path is None or not path.is_file():
            return []
        stamp = path.stat().st_mtime_ns
        if self._loaded is None or self._loaded[:2] != (path, stamp):
            rules = [r for r in load_rules(path, self.settings.stages) if r.on_events]
            self._loaded = (path, stamp, rules)
        return self._loaded[2]

    def act(self, opened: Sequence[str], received: datetime) -> Triggered:
        """Run the event rules over the findings ``opened`` (ids) by an event received at
        ``received``."""
        if not opened:
            return Triggered("")
        try:
            rules = self.rules()
        except ClampError as exc:
            return Triggered(f"rules not run: {exc}")
        rules = [r for r in rules if not r.enforcement_delay]  # delayed ones: not yet
        if not rules:
            return Triggered("")
        findings = self._open(opened)
        runner = self.runner()
        runner.enable(rules, actor=EVENTS, at=received)
        report = runner.run_on(rules, findings, actor=EVENTS)
        counts = ", ".join(f"{n} {k}" for k, n in report.summary().items() if n)
        actions = [a.action for a in report.actions if a.action and a.outcome == Outcome.APPLIED]
        acted = min((self.store.action(a).created for a in actions), default=None)
        return Triggered(f"rules {report.run}: {counts or 'nothing to do'}", acted)

    def _open(self, ids: Sequence[str]) -> list[FindingRecord]:
        found = []
        for finding_id in ids:
            try:
                record = self.store.finding(finding_id)
            except NotFoundError:
                continue
            if record.status == FindingStatus.OPEN:
                found.append(record)
        return found

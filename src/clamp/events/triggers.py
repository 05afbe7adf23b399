"""Automation rules that act on cloud change events.

After an event's re-read has updated the findings, the rules of the service's rules file
that say ``trigger: event`` run on the findings that event opened (new or reopened) and
on no other, through ``RuleRunner.run_on``: the same guardrails, caps, stages and
approvals as a run of every rule. An event that opens nothing runs nothing — which is how
the events of Clamp's own fixes end: their re-read finds the fix holding, opens nothing,
and so never triggers a second action; and a finding on a resource with an action of Clamp
in flight (a write whose event overtook its verification, a rollback) is left to that
action.

A rule with an ``enforcement_delay`` acts only once the delay has passed since the event's
receipt: the event keeps the findings it opened and when those rules are due, in the
store, and the service's clock (``Service.run_delayed``) runs them then — so a restart in
between loses nothing. They act on those findings only if they are still open (a
deployment that put things right in the meantime sent its own event, whose re-read
resolved them).

When a rule acted, the event records when the first action call was issued (the action
engine's journal time of the first action the run applied): the ``latency_ms`` of the
stats, from receipt to that call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clamp.automation.rules import Rule, load_rules
from clamp.automation.runner import RuleRunner
from clamp.config import Settings
from clamp.errors import ClampError, NotFoundError
from clamp.model import FindingStatus, Outcome, Resource
from clamp.roles import EVENTS
from clamp.store import FindingRecord, Store


@dataclass(frozen=True, slots=True)
class Triggered:
    """What the event's rules did: a line for the event's result, when the first action
    call was issued (None when no rule applied anything), and when rules with an
    enforcement delay are next due (None when none wait)."""

    note: str
    acted: datetime | None = None
    due: datetime | None = None


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

    def act(
        self,
        opened: Sequence[str],
        received: datetime,
        *,
        since: datetime | None = None,
        now: datetime | None = None,
        read: Sequence[Resource] = (),
    ) -> Triggered:
        """Run the event rules that are due over the findings ``opened`` (ids) by an event
        received at ``received``: when the event is processed (``since`` None) those
        without a delay; later, those whose delay ran out since ``since`` (the time they
        were due from). ``read``: the event's re-read a moment ago, which their plans
        start from (``ActionEngine.seen``)."""
        if not opened:
            return Triggered("")
        try:
            rules = self.rules()
        except ClampError as exc:
            return Triggered(f"rules not run: {exc}")
        now = now or datetime.now(UTC)

        def at(rule: Rule) -> datetime:
            return received + rule.enforcement_delay

        findings = self._open(opened)
        runner = self.runner()
        runner.engine.seen(read)
        waiting = [r for r in rules if r.enforcement_delay and runner.takes(r, findings)]
        if since is None:
            ready = [r for r in rules if not r.enforcement_delay]
            later = [at(r) for r in waiting]
        else:
            ready = [r for r in waiting if since <= at(r) <= now]
            later = [at(r) for r in waiting if at(r) > now]
        due = min(later, default=None)
        note, acted = self._run(runner, ready, findings, received) if ready else ("", None)
        if due is not None:
            waits = f"rules with an enforcement delay due at {due.isoformat(timespec='seconds')}"
            note = "; ".join(filter(None, (note, waits)))
        return Triggered(note, acted, due)

    def _run(
        self,
        runner: RuleRunner,
        rules: Sequence[Rule],
        findings: Sequence[FindingRecord],
        received: datetime,
    ) -> tuple[str, datetime | None]:
        runner.enable(rules, actor=EVENTS, at=received)
        report = runner.run_on(rules, findings, actor=EVENTS)
        counts = ", ".join(f"{n} {k}" for k, n in report.summary().items() if n)
        actions = [a.action for a in report.actions if a.action and a.outcome == Outcome.APPLIED]
        acted = min((self.store.action(a).created for a in actions), default=None)
        return f"rules {report.run}: {counts or 'nothing to do'}", acted

    def _open(self, ids: Sequence[str]) -> list[FindingRecord]:
        """The findings of ``ids`` still open, less those on a resource Clamp is changing
        right now (an action in flight: its writes' events re-verify, never act again)."""
        busy = {a.plan.resource.lower() for a in self.store.in_flight_actions()}
        found = []
        for finding_id in ids:
            try:
                record = self.store.finding(finding_id)
            except NotFoundError:
                continue
            if record.status == FindingStatus.OPEN and record.resource.lower() not in busy:
                found.append(record)
        return found

"""Rules ``on: signal``: flow signals on an exposed VM open an incident with the evidence
and run a containment playbook, with the guardrails rules have.

    rules:
      - name: contain-ssh-brute-force
        on: signal
        match:
          signal: [success-after-failures, threat-match]   # SignalKind values
          check: exposed-admin-port                         # optional, the finding's check
          provider: azure                                   # optional
          scope: {tags: {env: [dev, test]}}                 # optional selector
        playbook: contain-compromised-vm
        params: {forensics_cidr: 10.99.0.0/24}              # optional, for its steps
        pre_approved: true                                  # skip the second person
        stage: non-prod                                     # optional: only this stage
        limits: {max_actions_per_run: 1, max_actions_per_hour: 2, failure_budget: 1}
        exempt: [{tag: owner, value: sre, reason: "handled by SRE"}]

One incident per VM and rule while it is open; each run is a playbook run of the
``Responder`` (journaled, verified, undoable). ``limits`` count playbook runs: per rules
pass, per hour, and the failure budget over the last hour halts the rule. A playbook that
waits for approval (its file, or ``[approvals] playbooks``) is queued for a second person
unless the rule says ``pre_approved: true`` — which holds for the rule's own playbook
only, within its caps, and is written to the audit log as ``run.pre-approved``. A
playbook with a step that can never be undone is refused at load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clamp.automation.rules import (
    Exemption,
    Limits,
    _exemptions,
    _limits,
    _match,
    is_signal_rule,
    with_on_key,
)
from clamp.errors import ClampError, InputError
from clamp.events.flows.signals import Signal, SignalKind
from clamp.fields import check_fields
from clamp.files import Format, load
from clamp.model import Outcome, Provider, RunStatus
from clamp.response.playbook import Playbook, load_playbook
from clamp.response.responder import Responder
from clamp.selectors import Selector
from clamp.store import FindingRecord

SIGNAL_KEYS = {
    "name",
    "description",
    "on",
    "match",
    "playbook",
    "params",
    "pre_approved",
    "stage",
    "limits",
    "exempt",
}
HOUR_SECONDS = 3600


@dataclass(frozen=True)
class SignalRule:
    """One ``on: signal`` rule."""

    name: str
    signals: frozenset[SignalKind]
    playbook: Playbook
    checks: frozenset[str] = frozenset()
    providers: frozenset[Provider] = frozenset(Provider)
    scope: Selector = field(default_factory=Selector)
    params: Mapping[str, Any] = field(default_factory=dict)
    pre_approved: bool = False
    stage: str = ""
    limits: Limits = field(default_factory=Limits)
    exempt: tuple[Exemption, ...] = ()
    description: str = ""


def parse_signal_rules(
    data: Any, where: str, stages: Mapping[str, Sequence[Selector]]
) -> list[SignalRule]:
    """The ``on: signal`` rules of a parsed rules file (others are ``parse_rules``')."""
    items = data.get("rules") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise InputError(f"{where}: a rules file is a mapping with one key, rules")
    return [
        _signal_rule(with_on_key(item), f"{where}: rule {n}", stages)
        for n, item in enumerate(items, 1)
        if is_signal_rule(item)
    ]


def _signal_rule(raw: Mapping[str, Any], where: str, stages: Mapping[str, Any]) -> SignalRule:
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
        raise InputError(f"{where}: field name: lowercase letters, digits, '-', '_' or '.'")
    where = f"{where.rsplit(': rule', 1)[0]}: rule {name}"
    check_fields(raw, SIGNAL_KEYS, where)
    match = dict(raw.get("match") or {})
    wanted = match.pop("signal", None)
    kinds = [wanted] if isinstance(wanted, str) else wanted
    valid = ", ".join(k.value for k in SignalKind)
    if not isinstance(kinds, list) or not kinds:
        raise InputError(f"{where}: field match.signal: name the signals ({valid})")
    try:
        signals = frozenset(SignalKind(k) for k in kinds)
    except ValueError:
        raise InputError(f"{where}: field match.signal: {kinds} not all in {valid}") from None
    base = _match(match, f"{where}: field match")
    try:
        playbook = load_playbook(str(raw.get("playbook") or ""))
    except ClampError as exc:
        raise InputError(f"{where}: field playbook: {exc}") from None
    if any(s.irreversible for s in playbook.steps):
        raise InputError(
            f"{where}: field playbook: {playbook.name} has a step that can never be undone; "
            "a rule never runs it"
        )
    pre = raw.get("pre_approved", False)
    if not isinstance(pre, bool):
        raise InputError(f"{where}: field pre_approved: must be true or false, not {pre!r}")
    stage = raw.get("stage") or ""
    if stage and stage not in stages:
        known = ", ".join(sorted(stages)) or "none: add [stages.NAME] tables to the config"
        raise InputError(f"{where}: field stage: unknown stage {stage!r}; configured: {known}")
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        raise InputError(f"{where}: field params: a mapping")
    return SignalRule(
        name=name,
        signals=signals,
        playbook=playbook,
        checks=base.checks,
        providers=base.providers,
        scope=base.scope,
        params=dict(params),
        pre_approved=pre,
        stage=str(stage),
        limits=_limits(raw.get("limits"), f"{where}: field limits"),
        exempt=tuple(_exemptions(raw.get("exempt"), f"{where}: field exempt")),
        description=str(raw.get("description") or ""),
    )


@dataclass(frozen=True)
class SignalOutcome:
    """What one signal rule did for one VM."""

    rule: str
    resource: str
    outcome: Outcome
    reason: str = ""
    incident: str | None = None
    run: str | None = None


class SignalRunner:
    """Turns fired signals into incidents and playbook runs, rule by rule."""

    def __init__(
        self, responder: Responder, stages: Mapping[str, Sequence[Selector]] | None = None
    ) -> None:
        self.responder = responder
        self.store = responder.store
        self.stages = stages if stages is not None else responder.settings.stages

    def run(
        self,
        rules: Sequence[SignalRule],
        signals: Sequence[Signal],
        *,
        actor: str,
        now: datetime | None = None,
    ) -> list[SignalOutcome]:
        """Each rule over the signals (grouped per VM), with every guardrail."""
        now = now or datetime.now(UTC)
        tags = self.store.rules.tags_of()
        out: list[SignalOutcome] = []
        for rule in rules:
            acted = 0
            for vm, fired in _by_vm(s for s in signals if s.kind in rule.signals).items():
                finding = self._finding(fired)
                skip = self._skip(rule, vm, fired, finding, tags, now, acted)
                if skip:
                    out.append(SignalOutcome(rule.name, vm, Outcome.SKIPPED, skip))
                    continue
                acted += 1
                out.append(self._respond(rule, vm, fired, actor))
        return out

    def _finding(self, fired: Sequence[Signal]) -> FindingRecord | None:
        for signal in fired:
            if signal.finding:
                try:
                    return self.store.finding(signal.finding)
                except ClampError:
                    continue
        return None

    def _skip(
        self,
        rule: SignalRule,
        vm: str,
        fired: Sequence[Signal],
        finding: FindingRecord | None,
        tags: Mapping[str, Mapping[str, str]],
        now: datetime,
        acted: int,
    ) -> str:
        """Why the rule leaves this VM alone ("" if it acts)."""
        provider = fired[0].provider
        own = tags.get(vm.lower(), {})
        scope = finding.scope if finding is not None else ""
        if provider not in rule.providers:
            return f"{provider} is not matched"
        if rule.checks and (finding is None or finding.check not in rule.checks):
            return "the signals' finding is not one of the rule's checks"
        if not rule.scope.matches(provider, scope, own):
            return "outside the rule's scope"
        for exemption in rule.exempt:
            if exemption.covers(vm, own) and not exemption.expired(now):
                return f"exempt: {exemption.describe()}"
        if rule.stage and not any(
            s.matches(provider, scope, own) for s in self.stages.get(rule.stage, ())
        ):
            return f"not in stage {rule.stage}"
        mine = [i for i in self.store.incidents.incidents() if i.title.startswith(_title(rule))]
        if any(i.open and i.resource.lower() == vm.lower() for i in mine):
            return "an incident this rule opened on the VM is still open"
        if acted >= rule.limits.per_run:
            return f"cap reached: {rule.limits.per_run} per run"
        recent = [i for i in mine if (now - i.created).total_seconds() < HOUR_SECONDS]
        if len(recent) >= rule.limits.per_hour:
            return f"cap reached: {rule.limits.per_hour} per hour"
        runs = [r for i in recent for r in self.store.incidents.runs(incident=i.id)]
        failed = sum(r.status == RunStatus.FAILED for r in runs)
        if runs and rule.limits.exceeded(failed, len(runs)):
            return f"halted: {failed} of its last {len(runs)} runs failed (failure budget)"
        return ""

    def _respond(
        self, rule: SignalRule, vm: str, fired: Sequence[Signal], actor: str
    ) -> SignalOutcome:
        kinds = ", ".join(sorted({str(s.kind) for s in fired}))
        try:
            incident = self.responder.open_incident(
                f"{_title(rule)} {kinds} on {vm.rsplit('/', 1)[-1]}",
                vm,
                actor=actor,
                evidence=[s.to_json() for s in fired],
                rule=rule.name,
            )
            run = self.responder.respond(
                rule.playbook,
                incident.id,
                actor=actor,
                target=vm,
                params=rule.params,
                pre_approved_by=rule.name if rule.pre_approved else None,
            )
        except ClampError as exc:
            return SignalOutcome(rule.name, vm, Outcome.FAILED, str(exc))
        outcome = {
            RunStatus.AWAITING_APPROVAL: Outcome.QUEUED,
            RunStatus.SUCCEEDED: Outcome.APPLIED,
        }.get(run.status, Outcome.FAILED)
        return SignalOutcome(rule.name, vm, outcome, run.result, incident.id, run.id)


def _title(rule: SignalRule) -> str:
    return f"[signal rule {rule.name}]"


def _by_vm(signals: Any) -> dict[str, list[Signal]]:
    out: dict[str, list[Signal]] = {}
    for signal in signals:
        out.setdefault(signal.resource, []).append(signal)
    return out


def load_signal_rules(path: Path, stages: Mapping[str, Sequence[Selector]]) -> list[SignalRule]:
    """The ``on: signal`` rules of a rules file, each validated."""
    return parse_signal_rules(load(path, "rules file", Format.YAML), str(path), stages)

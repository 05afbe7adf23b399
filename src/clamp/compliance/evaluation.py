"""Judge a framework's controls on what the store holds: pass, fail or not assessed, with
the evidence (findings and their resources) and what Clamp did about them (actions,
incidents). A control is never passed on no evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from clamp.compliance.mapping import CheckRef, Control, Framework
from clamp.model import ActionRecord, FindingStatus, Incident, Run
from clamp.store.records import FindingRecord, ScanSummary


class ControlStatus(StrEnum):
    """Where a control stands."""

    PASS = "pass"
    FAIL = "fail"
    NOT_ASSESSED = "not assessed"


@dataclass(frozen=True, slots=True)
class ControlResult:
    """One control judged: its status, why, and the evidence behind it."""

    control: Control
    status: ControlStatus
    reason: str
    findings: tuple[FindingRecord, ...] = ()
    actions: tuple[ActionRecord, ...] = ()
    incidents: tuple[Incident, ...] = ()


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """Every control of one framework, judged at ``generated``."""

    framework: Framework
    generated: datetime
    results: tuple[ControlResult, ...]

    def count(self, status: ControlStatus) -> int:
        """How many controls stand at ``status``."""
        return sum(1 for r in self.results if r.status == status)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the store holds that a report judges: findings, actions, incidents with their
    playbook runs, and the recorded scans (what was looked at)."""

    findings: Sequence[FindingRecord]
    actions: Sequence[ActionRecord]
    incidents: Sequence[Incident]
    runs: Sequence[Run]
    scans: Sequence[ScanSummary]


def _matches(ref: CheckRef, record: FindingRecord) -> bool:
    details = record.finding.details
    if record.finding.check != ref.check:
        return False
    if ref.item is not None:
        unmet = [str(i).lower() for i in details.get("not_met") or ()]
        if not any(ref.item.lower() in item for item in unmet):
            return False
    if ref.port is not None:
        return any(_covers(str(p), ref.port) for p in details.get("ports") or ())
    return True


def _covers(ports: str, port: int) -> bool:
    lo, _, hi = ports.partition("-")
    try:
        return int(lo) <= port <= int(hi or lo)
    except ValueError:
        return False


def judge(control: Control, framework: Framework, evidence: Evidence) -> ControlResult:
    """One control: fail on an open or suppressed finding of its checks, pass when a scan
    of the framework's cloud ran and found none, otherwise not assessed."""
    provider = framework.provider
    findings = tuple(
        r
        for r in evidence.findings
        if (provider is None or r.finding.provider == provider)
        and any(_matches(ref, r) for ref in control.checks)
    )
    finding_ids = {r.id for r in findings}
    actions = tuple(
        a
        for a in evidence.actions
        if (a.finding and a.finding in finding_ids)
        or (
            not a.finding
            and a.intent in control.intents
            and (provider is None or a.plan.provider == provider)
        )
    )
    incident_ids = {
        run.incident
        for run in evidence.runs
        if any(step.intent in control.intents for step in run.steps)
    }
    incidents = tuple(i for i in evidence.incidents if i.id in incident_ids)
    failing = [r for r in findings if r.status != FindingStatus.RESOLVED]
    scanned = any(provider is None or p == provider for s in evidence.scans for p, _ in s.scopes)
    if failing:
        suppressed = sum(1 for r in failing if r.status == FindingStatus.SUPPRESSED)
        reason = f"{len(failing)} finding(s) not resolved" + (
            f" ({suppressed} suppressed: accepted, still failing)" if suppressed else ""
        )
        status = ControlStatus.FAIL
    elif not control.checks:
        status = ControlStatus.NOT_ASSESSED
        reason = control.note or "no Clamp check assesses this control"
    elif not scanned:
        status = ControlStatus.NOT_ASSESSED
        cloud = provider.value if provider else "any cloud"
        reason = f"no scan of {cloud} is recorded"
    else:
        status = ControlStatus.PASS
        checks = ", ".join(dict.fromkeys(ref.check for ref in control.checks))
        reason = f"no unresolved finding of {checks}"
    return ControlResult(control, status, reason, findings, actions, incidents)


def evaluate(framework: Framework, evidence: Evidence, generated: datetime) -> ComplianceReport:
    """Every control of ``framework`` judged on ``evidence``."""
    results = tuple(judge(c, framework, evidence) for c in framework.controls)
    return ComplianceReport(framework, generated, results)

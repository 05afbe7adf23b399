"""The flat, JSON-ready shapes the formats share: a compliance evaluation, and the short
forms of findings, actions and incidents that evidence lists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clamp.model import ActionRecord, Incident
from clamp.store.codec import iso
from clamp.store.records import FindingRecord

if TYPE_CHECKING:
    from clamp.compliance import ComplianceReport, ControlResult


def finding_brief(record: FindingRecord) -> dict[str, Any]:
    """A finding as evidence: id, check, resource, severity, status."""
    f = record.finding
    return {
        "id": f.id,
        "check": f.check,
        "provider": f.provider.value,
        "resource": f.resource,
        "severity": f.severity.value,
        "status": record.status.value,
    }


def action_brief(action: ActionRecord) -> dict[str, Any]:
    """An action as evidence: id, intent, status, finding, resource, when."""
    return {
        "id": action.id,
        "intent": action.intent,
        "status": action.status.value,
        "finding": action.finding,
        "resource": action.plan.resource,
        "undoes": action.undoes,
        "created": iso(action.created),
    }


def incident_brief(incident: Incident) -> dict[str, Any]:
    """An incident as evidence: id, title, resource, open."""
    return {
        "id": incident.id,
        "title": incident.title,
        "resource": incident.resource,
        "open": incident.open,
    }


def control_to_json(result: ControlResult) -> dict[str, Any]:
    """One judged control with its evidence."""
    control = result.control
    return {
        "id": control.id,
        "title": control.title,
        "status": result.status.value,
        "reason": result.reason,
        "checks": list(dict.fromkeys(ref.check for ref in control.checks)),
        "intents": list(control.intents),
        "findings": [finding_brief(r) for r in result.findings],
        "actions": [action_brief(a) for a in result.actions],
        "incidents": [incident_brief(i) for i in result.incidents],
    }


def compliance_to_json(report: ComplianceReport) -> dict[str, Any]:
    """A compliance evaluation: the framework, a summary by status and every control."""
    from clamp.compliance import ControlStatus

    fw = report.framework
    return {
        "framework": {
            "id": fw.id,
            "name": fw.name,
            "version": fw.version,
            "provider": fw.provider.value if fw.provider else None,
        },
        "generated": iso(report.generated),
        "summary": {s.value: report.count(s) for s in ControlStatus},
        "controls": [control_to_json(r) for r in report.results],
    }

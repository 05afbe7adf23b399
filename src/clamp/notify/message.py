"""A notice rendered once for every sink: a title and a line for people (chat), and the
JSON event for machines, which carries the OCSF event where one fits — a Detection Finding
(2004) for a finding opened, reopened or resolved, a (Network) Remediation Activity
(7001 / 7004) for a fix, an undo or a containment step (``clamp.outputs.ocsf``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from clamp.model import FindingStatus
from clamp.outputs.ocsf import detection_finding, remediation_activity
from clamp.store.codec import action_from_json, iso
from clamp.store.notice_records import Notice
from clamp.store.records import FindingRecord

FindingLookup = Callable[[str], FindingRecord | None]
"""A finding's stored record by id (None if the store has none)."""

HEADLINES = {
    "finding.opened": "Finding opened",
    "finding.reopened": "Finding reopened",
    "finding.resolved": "Finding resolved",
    "action.applied": "Change applied",
    "action.verified": "Change verified",
    "action.failed": "Change failed",
    "action.undone": "Change undone",
    "action.reconciled": "Interrupted change settled",
    "undo.verified": "Undo verified",
    "undo.failed": "Undo failed",
    "approval.requested": "Approval requested",
    "approval.approved": "Approval granted",
    "approval.rejected": "Approval rejected",
    "incident.opened": "Incident opened",
    "incident.closed": "Incident closed",
    "run.finished": "Playbook run finished",
    "run.undone": "Playbook run undone",
    "run.undo_failed": "Playbook run undo failed",
    "rule.halted": "Automation rule halted",
    "rule.notified": "Automation rule match",
}
STATUS_OF = {
    "finding.opened": FindingStatus.OPEN,
    "finding.reopened": FindingStatus.OPEN,
    "finding.resolved": FindingStatus.RESOLVED,
}


@dataclass(frozen=True)
class Message:
    """One notice as the sinks send it."""

    notice: Notice
    title: str
    text: str
    ocsf: dict[str, Any] | None

    def document(self) -> dict[str, Any]:
        """The JSON event (the Standard Webhooks payload shape: type, timestamp, data)."""
        n = self.notice
        return {
            "type": n.kind,
            "timestamp": iso(n.created),
            "data": {
                "id": n.id,
                "subject": n.subject,
                "actor": n.actor,
                "severity": n.severity,
                "provider": n.provider,
                "scope": n.scope,
                "title": self.title,
                "text": self.text,
                "event": dict(n.data.get("event", {})),
                "ocsf": self.ocsf,
            },
        }


def render(notice: Notice, finding: FindingLookup) -> Message:
    """The title, text and OCSF event of one notice."""
    record = _finding(notice, finding)
    headline = HEADLINES.get(notice.kind, notice.kind)
    event = notice.data.get("event", {})
    ocsf: dict[str, Any] | None = None
    if notice.kind in STATUS_OF and record is not None:
        record = replace(record, status=STATUS_OF[notice.kind])
        ocsf = detection_finding(record)
        text = f"{record.check} on {record.resource}"
        title = f"{headline} ({record.severity}): {record.title}"
    elif notice.kind == "rule.notified" and record is not None:
        ocsf = detection_finding(record)
        title = f"{headline} ({record.severity}): {record.title}"
        text = f"rule {event.get('rule')} would {event.get('intent')}: {event.get('summary')}"
    elif "action" in notice.data:
        action = action_from_json(notice.data["action"])
        ocsf = remediation_activity(action, record)
        title = f"{headline}: {action.intent} on {action.plan.resource}"
        text = action.result or action.plan.summary
    else:
        about = event.get("title") or event.get("summary") or event.get("why") or ""
        title = f"{headline}: {notice.subject}" + (f" — {about}" if about else "")
        text = str(event.get("reason") or event.get("resource") or event.get("status") or "")
    return Message(
        notice, title, f"{text} (by {notice.actor})" if text else f"by {notice.actor}", ocsf
    )


def _finding(notice: Notice, lookup: FindingLookup) -> FindingRecord | None:
    finding_id = notice.data.get("finding_id")
    return lookup(str(finding_id)) if finding_id else None

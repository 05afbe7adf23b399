"""``--format ocsf``: OCSF 1.5 events, a JSON array. Findings are Detection Findings
(class 2004, built with py-ocsf-models); actions are Remediation Activities (7001), or
Network Remediation Activities (7004) for the intents that change what traffic reaches a
VM (``ocsf_remediation``). Both carry the cloud profile. The pydantic models load only when
this format renders."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from clamp.model import ActionRecord, ActionStatus, FindingStatus, Provider, Severity
from clamp.outputs.interface import FORMATS, OutputFormat, Report, Subject, clamp_version
from clamp.store.codec import to_jsonable
from clamp.store.records import FindingRecord

if TYPE_CHECKING:
    from py_ocsf_models.objects.cloud import Cloud
    from py_ocsf_models.objects.metadata import Metadata

OCSF_VERSION = "1.5.0"
CLOUD_NAME = {Provider.AZURE: "Azure", Provider.GCP: "GCP"}
ACCOUNT_TYPE = {Provider.AZURE: "Azure Subscription", Provider.GCP: "GCP Project"}
SEVERITY_ID = {
    Severity.INFO: 1,
    Severity.LOW: 2,
    Severity.MEDIUM: 3,
    Severity.HIGH: 4,
    Severity.CRITICAL: 5,
}
SEVERITY_CAPTION = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
# A finding's lifecycle as OCSF's status_id (New / Suppressed / Resolved) and the finding
# activity that last changed it (Create / Update / Close).
FINDING_STATUS_ID = {FindingStatus.OPEN: 1, FindingStatus.SUPPRESSED: 3, FindingStatus.RESOLVED: 4}
FINDING_ACTIVITY_ID = {
    FindingStatus.OPEN: 1,
    FindingStatus.SUPPRESSED: 2,
    FindingStatus.RESOLVED: 3,
}

NETWORK = "network"
INTENT_ACTIVITY: dict[str, tuple[str, str]] = {
    # intent: (D3FEND tactic as OCSF's activity, "network" for class 7004 else "")
    "isolate_instance": ("Isolate", NETWORK),
    "restrict_ingress": ("Harden", NETWORK),
    "restrict_database_access": ("Harden", NETWORK),
    "stop_instance": ("Evict", ""),
    "suspend_instance": ("Evict", ""),
    "terminate_instance": ("Evict", ""),
    "detach_identity": ("Evict", ""),
    "revoke_identity_roles": ("Evict", ""),
    "enable_versioning": ("Harden", ""),
    "enable_soft_delete": ("Harden", ""),
    "protect_from_deletion": ("Harden", ""),
    "block_public_access": ("Harden", ""),
    "require_secure_transport": ("Harden", ""),
    "lock_retention_policy": ("Harden", ""),
    "apply_password_policy": ("Harden", ""),
    "tag_instance": ("Other", ""),
    "snapshot_disks": ("Other", ""),
}
"""Each built-in intent's remediation activity; an undo is always Restore, an intent not
listed (a plugin's) Other."""
DIRECTION = {"isolate_instance": (99, "Inbound and Outbound"), "restrict_ingress": (1, "Inbound")}


def millis(moment: datetime | None) -> int | None:
    """OCSF's timestamp: milliseconds since the epoch."""
    return None if moment is None else int(moment.timestamp() * 1000)


def _metadata(event_code: str, uid: str) -> Metadata:
    from py_ocsf_models.objects.metadata import Metadata
    from py_ocsf_models.objects.product import Product

    product = Product(name="Clamp", vendor_name="Clamp", uid="clamp", version=clamp_version())
    return Metadata(
        product=product, version=OCSF_VERSION, profiles=["cloud"], event_code=event_code, uid=uid
    )


def _cloud(provider: Provider, scope: str) -> Cloud:
    from py_ocsf_models.objects.account import Account, TypeID
    from py_ocsf_models.objects.cloud import Cloud

    account = Account(name=scope, uid=scope, type_id=TypeID.Other, type=ACCOUNT_TYPE[provider])
    return Cloud(provider=CLOUD_NAME[provider], account=account)


def detection_finding(record: FindingRecord) -> dict[str, Any]:
    """One finding as an OCSF Detection Finding (2004)."""
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding
    from py_ocsf_models.objects.analytic import Analytic
    from py_ocsf_models.objects.finding_info import FindingInformation
    from py_ocsf_models.objects.remediation import Remediation
    from py_ocsf_models.objects.resource_details import ResourceDetails

    from clamp.checks import CHECKS  # the checks load with this format, not with the CLI

    f = record.finding
    check = CHECKS.get(f.check) if f.check in CHECKS else None
    activity = FINDING_ACTIVITY_ID[record.status]
    from clamp.actions.interface import remediations  # the intents load with this format

    fixes = remediations(f.check)
    fix = f"clamp fix {f.id}" + (f" (intents: {', '.join(fixes)})" if fixes else "")
    event = DetectionFinding(
        metadata=_metadata(f.check, f"{f.id}-{millis(record.last_seen)}"),
        activity_id=activity,
        activity_name={1: "Create", 2: "Update", 3: "Close"}[activity],
        type_uid=2004 * 100 + activity,
        type_name=f"Detection Finding: {({1: 'Create', 2: 'Update', 3: 'Close'})[activity]}",
        severity_id=SEVERITY_ID[f.severity],
        severity=SEVERITY_CAPTION[SEVERITY_ID[f.severity]],
        status_id=FINDING_STATUS_ID[record.status],
        status={1: "New", 3: "Suppressed", 4: "Resolved"}[FINDING_STATUS_ID[record.status]],
        status_detail=record.suppressed_reason,
        message=f.title,
        time=millis(record.last_seen) or 0,
        finding_info=FindingInformation(
            uid=f.id,
            title=f.title,
            desc=check.rationale if check else None,
            analytic=Analytic(
                uid=f.check, name=check.title if check else f.check, type_id=1, type="Rule"
            ),
            created_time=millis(record.first_seen),
            first_seen_time=millis(record.first_seen),
            last_seen_time=millis(record.last_seen),
            modified_time=millis(record.resolved_at or record.last_seen),
        ),
        cloud=_cloud(f.provider, f.scope),
        resources=[
            ResourceDetails(
                uid=f.resource,
                name=f.resource.rstrip("/").rsplit("/", 1)[-1],
                data={"details": to_jsonable(f.details)},
            )
        ],
        remediation=Remediation(desc=fix),
    )
    data: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
    return data


def _action_status(action: ActionRecord) -> tuple[int, str, str | None]:
    """status_id, its caption and the detail, for an action."""
    from clamp.outputs.ocsf_remediation import RemediationStatusID as S

    match action.status:
        case ActionStatus.VERIFIED if action.plan.accepts:
            left = ", ".join(action.plan.accepts)
            return S.Partial, S.Partial.caption, f"{action.result}; left to do by hand: {left}"
        case ActionStatus.VERIFIED:
            return S.Success, S.Success.caption, action.result or None
        case ActionStatus.UNDONE:
            return S.Success, S.Success.caption, "verified, later undone"
        case ActionStatus.FAILED:
            return S.Failure, S.Failure.caption, action.result or None
        case ActionStatus.PLANNED | ActionStatus.APPLIED:
            return S.Other, f"in progress ({action.status.value})", action.result or None


def remediation_activity(action: ActionRecord, finding: FindingRecord | None) -> dict[str, Any]:
    """One action as an OCSF (Network) Remediation Activity (7001 / 7004); ``finding`` is
    the one it fixes (its severity and scope), if any."""
    from py_ocsf_models.objects.observable import Observable, TypeID
    from py_ocsf_models.objects.remediation import Remediation

    from clamp.outputs import ocsf_remediation as m

    undo = action.undoes is not None
    tactic, kind = ("Restore", "") if undo else INTENT_ACTIVITY.get(action.intent, ("Other", ""))
    if undo and action.intent in DIRECTION:
        kind = NETWORK
    activity = m.RemediationActivityID[tactic]
    status_id, status, detail = _action_status(action)
    plan = action.plan
    severity = finding.finding.severity if finding else None
    scope = finding.finding.scope if finding else _scope_of(plan.resource, plan.provider)
    fields: dict[str, Any] = {
        "activity_id": activity,
        "activity_name": tactic if tactic != "Other" else action.intent,
        "command_uid": action.id,
        "time": millis(action.updated or action.created),
        "start_time": millis(action.created),
        "end_time": millis(action.updated) if not action.in_flight else None,
        "severity_id": SEVERITY_ID[severity or Severity.INFO],
        "severity": SEVERITY_CAPTION[SEVERITY_ID[severity or Severity.INFO]],
        "status_id": status_id,
        "status": status,
        "status_detail": detail,
        "message": f"{'undo ' if undo else ''}{action.intent} on {plan.resource}: {plan.summary}",
        "metadata": _metadata(action.intent, action.id),
        "cloud": _cloud(plan.provider, scope),
        "countermeasures": (
            [m.D3fend(d3f_tactic=m.D3fTactic(name=tactic, uid=f"d3f:{tactic}"))]
            if tactic != "Other"
            else None
        ),
        "observables": [
            Observable(name="resource.uid", type_id=TypeID.Resource_UID, value=plan.resource)
        ],
        "remediation": Remediation(desc=plan.summary) if plan.summary else None,
        "unmapped": {
            "intent": action.intent,
            "finding": action.finding or None,
            "undoes": action.undoes,
            "actor": action.actor,
            "reversible": plan.reversible,
            "permissions": list(plan.permissions),
        },
    }
    model: type[m.RemediationActivity] = m.RemediationActivity
    if kind == NETWORK:
        direction_id, direction = DIRECTION.get(action.intent, (0, "Unknown"))
        fields["connection_info"] = m.NetworkConnectionInfo(
            direction_id=direction_id, direction=direction
        )
        model = m.NetworkRemediationActivity
    klass = model.model_fields["class_uid"].default
    name = model.model_fields["class_name"].default
    fields["type_uid"] = int(klass) * 100 + int(activity)
    fields["type_name"] = f"{name}: {tactic}"
    return model(**fields).model_dump(mode="json", exclude_none=True)


def _scope_of(resource: str, provider: Provider) -> str:
    """The subscription or project a resource id names (the id itself when it names none):
    a containment action has no finding to take the scope from."""
    parts = resource.strip("/").split("/")
    key = "subscriptions" if provider == Provider.AZURE else "projects"
    return parts[parts.index(key) + 1] if key in parts[:-1] else resource


@FORMATS.register("ocsf")
class OcsfFormat(OutputFormat):
    """OCSF 1.5 JSON: Detection Findings or Remediation Activities."""

    name = "ocsf"
    subjects: ClassVar[frozenset[Subject]] = frozenset({Subject.FINDINGS, Subject.ACTIONS})

    def render(self, report: Report, subject: Subject) -> str:
        """The records as a JSON array of OCSF events."""
        if subject == Subject.FINDINGS:
            events = [detection_finding(r) for r in report.findings]
        elif subject == Subject.ACTIONS:
            by_id = {r.id: r for r in report.findings}
            events = [remediation_activity(a, by_id.get(a.finding)) for a in report.actions]
        else:
            raise self.refuse(subject)
        return json.dumps(events, indent=2) + "\n"

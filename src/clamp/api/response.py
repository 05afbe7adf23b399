"""``/api/v1/incidents``, ``/runs`` and ``/approvals``: incident response in the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clamp.api.deps import DECIDE, RESPOND, ServiceDep, UserDep
from clamp.api.service import Service
from clamp.automation.rules import load_rules
from clamp.errors import InputError
from clamp.model import ApprovalKind
from clamp.response import load_playbook, shipped_playbooks
from clamp.store.codec import plan_to_json, record_to_json
from clamp.store.timeline import run_to_json, timeline
from clamp.store.users import User

router = APIRouter(tags=["incident response"])


class IncidentRequest(BaseModel):
    """A new incident: what it is about and the VM it concerns."""

    title: str = Field(min_length=1)
    resource: str = Field(min_length=1)


class CloseRequest(BaseModel):
    """How the incident ended."""

    note: str = ""


class RunRequest(BaseModel):
    """A playbook to run on a target (default: the incident's resource)."""

    playbook: str = Field(min_length=1)
    target: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    dry_run: bool = False
    confirm_irreversible: bool = False


class DecisionRequest(BaseModel):
    """Why the request is approved or rejected."""

    reason: str = ""


class RejectRequest(BaseModel):
    """Why the request is rejected (required)."""

    reason: str = Field(min_length=1)


@router.get("/incidents")
def list_incidents(
    service: ServiceDep, _user: UserDep, open_only: bool = False
) -> list[dict[str, Any]]:
    """Incidents, newest first."""
    return [record_to_json(i) for i in service.store.incidents.incidents(open_only=open_only)]


@router.post("/incidents", status_code=201)
def open_incident(service: ServiceDep, user: UserDep, body: IncidentRequest) -> dict[str, Any]:
    """Open an incident about a VM."""
    service.require(user, RESPOND, "open an incident")
    incident = service.responder(user.name).open_incident(
        body.title, body.resource, actor=user.name
    )
    return record_to_json(incident)


@router.get("/incidents/{incident_id}")
def get_incident(service: ServiceDep, _user: UserDep, incident_id: str) -> dict[str, Any]:
    """An incident with its runs and its timeline."""
    incident = service.store.incidents.incident(incident_id)
    runs = service.store.incidents.runs(incident=incident_id)
    return {
        **record_to_json(incident),
        "runs": [run_to_json(r) for r in runs],
        "timeline": timeline(service.store, incident, runs),
    }


@router.post("/incidents/{incident_id}/close")
def close_incident(
    service: ServiceDep, user: UserDep, incident_id: str, body: CloseRequest | None = None
) -> dict[str, Any]:
    """Close an incident (refused while a run is in progress)."""
    service.require(user, RESPOND, f"close {incident_id}")
    note = body.note if body else ""
    closed = service.responder(user.name).close_incident(incident_id, actor=user.name, note=note)
    return record_to_json(closed)


@router.get("/playbooks")
def playbooks(_user: UserDep) -> list[dict[str, Any]]:
    """The shipped playbooks and their steps."""
    out = []
    for name in shipped_playbooks():
        book = load_playbook(name)
        out.append(
            {
                "name": book.name,
                "description": book.description,
                "role": str(book.role),
                "approval": book.approval,
                "steps": [s.intent for s in book.steps],
            }
        )
    return out


@router.post("/incidents/{incident_id}/runs", status_code=201)
def run_playbook(service: ServiceDep, user: UserDep, incident_id: str, body: RunRequest) -> Any:
    """Run a playbook for the incident (or queue it for approval); ``dry_run``: each step's
    plan against the target as it is now, nothing changes."""
    service.require(user, RESPOND, f"run playbooks for {incident_id}")
    if body.playbook not in shipped_playbooks():
        raise InputError(
            f"unknown playbook {body.playbook!r}; shipped: {', '.join(shipped_playbooks())}"
        )
    book = load_playbook(body.playbook)
    responder = service.responder(user.name)
    service.require(user, (book.role,), f"run playbook {book.name}")
    if body.dry_run:
        rehearsal = responder.rehearse(book, incident_id, target=body.target, params=body.params)
        return [
            {
                "intent": step.intent,
                "params": dict(step.params),
                "plan": plan_to_json(plan) if plan else None,
                "note": note,
            }
            for step, plan, note in rehearsal
        ]
    run = responder.respond(
        book,
        incident_id,
        actor=user.name,
        target=body.target,
        params=body.params,
        confirm_irreversible=body.confirm_irreversible,
    )
    return run_to_json(run)


@router.get("/runs/{run_id}")
def get_run(service: ServiceDep, _user: UserDep, run_id: str) -> dict[str, Any]:
    """One playbook run with its steps, in the shape of ``clamp respond --format json``."""
    return run_to_json(service.store.incidents.run(run_id))


@router.post("/runs/{run_id}/undo")
def undo_run(service: ServiceDep, user: UserDep, run_id: str) -> dict[str, Any]:
    """Undo every step of a run in reverse order, each verified (release)."""
    service.require(user, RESPOND, f"release {run_id}")
    return run_to_json(service.responder(user.name).undo(run_id, actor=user.name))


@router.get("/approvals")
def list_approvals(service: ServiceDep, _user: UserDep, all: bool = False) -> list[dict[str, Any]]:
    """Requests waiting for a second person (every request with ``all``)."""
    return [record_to_json(a) for a in service.store.incidents.approvals(pending_only=not all)]


@router.post("/approvals/{approval_id}/approve")
def approve(
    service: ServiceDep, user: UserDep, approval_id: str, body: DecisionRequest | None = None
) -> dict[str, Any]:
    """Approve a request (never your own) and carry it out now."""
    return _decide(service, user, approval_id, True, body.reason if body else "")


@router.post("/approvals/{approval_id}/reject")
def reject(
    service: ServiceDep, user: UserDep, approval_id: str, body: RejectRequest
) -> dict[str, Any]:
    """Reject a request (never your own), with the reason."""
    return _decide(service, user, approval_id, False, body.reason)


def _decide(
    service: Service, user: User, approval_id: str, approve: bool, reason: str
) -> dict[str, Any]:
    verb = "approve" if approve else "reject"
    service.require(user, DECIDE, f"{verb} {approval_id}")
    approval = service.store.incidents.approval(approval_id)
    if approval.kind == ApprovalKind.RUN:
        run = service.responder(user.name).decide(
            approval_id, actor=user.name, approve=approve, reason=reason
        )
        return {"approval": approval_id, "outcome": str(run.status), "run": run_to_json(run)}
    path = service.settings.rules_file
    rules = load_rules(path, service.settings.stages) if approve and path and path.is_file() else []
    outcome, line = service.rule_runner(user.name).decide(
        approval_id, {r.name: r for r in rules}, actor=user.name, approve=approve, reason=reason
    )
    return {"approval": approval_id, "outcome": str(outcome), "result": line}

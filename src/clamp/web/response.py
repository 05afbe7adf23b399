"""Incident response: incidents, a playbook's dry-run preview and its run, the approvals
queue, a run's steps and timeline, and its release (the undo of the run).

The handlers call the API's route functions (plain functions over the ``Service``), so the
console and the API check and do exactly the same things."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from clamp.api import response as api
from clamp.api.deps import UserDep
from clamp.model import ApprovalKind, ResourceType
from clamp.response import load_playbook, shipped_playbooks
from clamp.response.responder import UNDOABLE
from clamp.store.codec import plan_from_json
from clamp.store.timeline import timeline
from clamp.web.pages import ConsoleRoute, back_to, page, service

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
VM_TYPES = {ResourceType.AZURE_VM.value, ResourceType.GCP_INSTANCE.value}


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, user: UserDep) -> Response:
    """Incidents, newest first, and the form that opens one."""
    store = service(request).store
    vms = sorted(i.id for i in store.rules.inventory() if str(i.type) in VM_TYPES)
    return page(request, user, "incidents.html", incidents=store.incidents.incidents(), vms=vms)


@router.post("/incidents")
def open_incident(
    request: Request,
    user: UserDep,
    title: Annotated[str, Form(min_length=1)],
    resource: Annotated[str, Form(min_length=1)],
) -> Response:
    """Open an incident about a VM."""
    body = api.IncidentRequest(title=title.strip(), resource=resource.strip())
    opened = api.open_incident(service(request), user, body)
    return back_to(f"/incidents/{opened['id']}")


def _playbooks() -> list[Any]:
    return [load_playbook(name) for name in shipped_playbooks()]


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(request: Request, user: UserDep, incident_id: str) -> Response:
    """An incident: its runs, its timeline, and the playbook form."""
    store = service(request).store
    record = store.incidents.incident(incident_id)
    runs = store.incidents.runs(incident=incident_id)
    return page(
        request,
        user,
        "incident.html",
        incident=record,
        runs=runs,
        timeline=timeline(store, record, runs),
        playbooks=_playbooks(),
    )


@router.get("/incidents/{incident_id}/preview", response_class=HTMLResponse)
def preview(
    request: Request, user: UserDep, incident_id: str, playbook: str, target: str = ""
) -> Response:
    """A playbook's dry run: each step's plan against the VM as it is now; nothing changes."""
    running = service(request)
    body = api.RunRequest(playbook=playbook, target=target.strip() or None, dry_run=True)
    steps = api.run_playbook(running, user, incident_id, body)
    for step in steps:
        step["plan"] = plan_from_json(step["plan"]) if step["plan"] else None
    book = load_playbook(playbook)
    return page(
        request,
        user,
        "preview.html",
        incident=running.store.incidents.incident(incident_id),
        book=book,
        target=body.target,
        steps=steps,
        irreversible=any(s.irreversible for s in book.steps),
    )


@router.post("/incidents/{incident_id}/runs")
def run_playbook(
    request: Request,
    user: UserDep,
    incident_id: str,
    playbook: Annotated[str, Form(min_length=1)],
    target: Annotated[str, Form()] = "",
    confirm_irreversible: Annotated[str, Form()] = "",
) -> Response:
    """Run the playbook (or queue it for approval); follow it on the run's page."""
    body = api.RunRequest(
        playbook=playbook,
        target=target.strip() or None,
        confirm_irreversible=confirm_irreversible == "yes",
    )
    run = api.run_playbook(service(request), user, incident_id, body)
    return back_to(f"/runs/{run['run']}")


@router.post("/incidents/{incident_id}/close")
def close_incident(
    request: Request, user: UserDep, incident_id: str, note: Annotated[str, Form()] = ""
) -> Response:
    """Close the incident."""
    api.close_incident(service(request), user, incident_id, api.CloseRequest(note=note))
    return back_to(f"/incidents/{incident_id}")


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, user: UserDep, run_id: str) -> Response:
    """A run: its steps with their actions, and Release."""
    store = service(request).store
    record = store.incidents.run(run_id)
    approvals = [a for a in store.incidents.approvals(pending_only=False) if a.subject == run_id]
    releasable = record.status in UNDOABLE
    return page(request, user, "run.html", run=record, approvals=approvals, releasable=releasable)


@router.post("/runs/{run_id}/undo")
def release(request: Request, user: UserDep, run_id: str) -> Response:
    """Undo every step of the run in reverse order, each verified."""
    api.undo_run(service(request), user, run_id)
    return back_to(f"/runs/{run_id}")


@router.get("/approvals", response_class=HTMLResponse)
def approvals(request: Request, user: UserDep) -> Response:
    """Requests waiting for a second person, and the latest decisions."""
    every = service(request).store.incidents.approvals(pending_only=False)
    pending = [a for a in every if a.decided is None]
    decided = [a for a in every if a.decided is not None][:50]
    return page(request, user, "approvals.html", pending=pending, decided=decided)


@router.post("/approvals/{approval_id}/{decision}")
def decide(
    request: Request,
    user: UserDep,
    approval_id: str,
    decision: str,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Approve (and carry out) or reject (with a reason) a request; never your own."""
    running = service(request)
    if decision == "approve":
        api.approve(running, user, approval_id, api.DecisionRequest(reason=reason))
    elif decision == "reject":
        api.reject(running, user, approval_id, api.RejectRequest(reason=reason))
    else:
        return back_to("/approvals")
    approval = running.store.incidents.approval(approval_id)
    if approval.kind == ApprovalKind.RUN:
        return back_to(f"/runs/{approval.subject}")
    return back_to("/approvals")

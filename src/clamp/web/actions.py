"""Actions and the audit log: every action, one action's live progress and its undo, and
the audit entries with the verification of their hash chain."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from clamp.api import actions as api
from clamp.api.deps import UserDep
from clamp.model import ActionStatus
from clamp.web.pages import ConsoleRoute, back_to, page, service

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
UNDOABLE = (ActionStatus.VERIFIED, ActionStatus.APPLIED)
AUDIT_PAGE = 200


@router.get("/actions", response_class=HTMLResponse)
def actions(request: Request, user: UserDep) -> Response:
    """Every action, newest first."""
    return page(request, user, "actions.html", actions=service(request).store.actions())


@router.get("/actions/{action_id}", response_class=HTMLResponse)
def action(request: Request, user: UserDep, action_id: str) -> Response:
    """One action: its plan, its status (polled while in flight), its result, Undo."""
    store = service(request).store
    record = store.action(action_id)
    undone_by = next((a for a in store.actions() if a.undoes == record.id), None)
    return page(
        request,
        user,
        "action.html",
        action=record,
        undoable=record.status in UNDOABLE
        and record.plan.reversible
        and not record.in_flight
        and record.undoes is None,
        undone_by=undone_by,
    )


@router.post("/actions/{action_id}/undo")
def undo(request: Request, user: UserDep, action_id: str) -> Response:
    """Journal the undo (refused on drift, or by the engine's role check) and follow it."""
    record = service(request).undo(user.name, action_id)
    return back_to(f"/actions/{record.id}")


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, user: UserDep, since: int = 0) -> Response:
    """The audit log, newest page last, and whether its chain verifies."""
    running = service(request)
    entries = running.store.audit.entries(since=max(since, 0), limit=AUDIT_PAGE)
    chain = api.audit_verify(running, user)
    return page(request, user, "audit.html", entries=entries, chain=chain, page_size=AUDIT_PAGE)

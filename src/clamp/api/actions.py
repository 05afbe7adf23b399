"""``/api/v1/actions`` and ``/api/v1/audit``: what was done, undo, and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from clamp.api.deps import ServiceDep, UserDep
from clamp.errors import ClampError
from clamp.store.codec import action_to_json, iso

router = APIRouter(tags=["actions"])


@router.get("/actions")
def list_actions(service: ServiceDep, _user: UserDep) -> list[dict[str, Any]]:
    """Every action, in the shape of ``clamp actions --format json``."""
    return [action_to_json(r) for r in service.store.actions()]


@router.get("/actions/{action_id}")
def get_action(service: ServiceDep, _user: UserDep, action_id: str) -> dict[str, Any]:
    """One action: its plan, status and result."""
    return action_to_json(service.store.action(action_id))


@router.post("/actions/{action_id}/undo", status_code=202)
def undo(service: ServiceDep, user: UserDep, action_id: str, response: Response) -> dict[str, Any]:
    """Journal the undo (refused on drift) and apply it in the background; poll the undo
    action at ``Location``."""
    record = service.undo(user.name, action_id)
    response.headers["Location"] = f"/api/v1/actions/{record.id}"
    return action_to_json(record)


@router.get("/audit")
def audit_entries(
    service: ServiceDep, _user: UserDep, since: int = 0, limit: int = 200
) -> list[dict[str, Any]]:
    """Audit entries after ``since`` in chain order (at most ``limit``, up to 1000)."""
    entries = service.store.audit.entries(since=max(since, 0), limit=min(max(limit, 1), 1000))
    return [
        {
            "seq": e.seq,
            "timestamp": iso(e.timestamp),
            "event": e.event,
            "actor": e.actor,
            "payload": e.payload,
            "hash": e.hash,
        }
        for e in entries
    ]


@router.get("/audit/verify")
def audit_verify(service: ServiceDep, _user: UserDep) -> dict[str, Any]:
    """Check the audit log's hash chain: ``ok``, how many ``entries``, and why not."""
    try:
        count = service.store.audit.verify()
    except ClampError as exc:
        return {"ok": False, "entries": len(service.store.audit.entries()), "error": str(exc)}
    return {"ok": True, "entries": count}

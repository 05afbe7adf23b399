"""``/api/v1/findings``: list, read, plan, fix, suppress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from clamp.api.deps import REMEDIATE, ServiceDep, UserDep
from clamp.model import FindingStatus, Provider, Severity
from clamp.store.codec import action_to_json, finding_to_json, plan_to_json

router = APIRouter(tags=["findings"])


class PlanRequest(BaseModel):
    """Which fix to plan: an intent and its parameters, or a bundle."""

    intent: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    bundle: str | None = None


class FixRequest(PlanRequest):
    """A fix: the plan's choice, the second confirmation of an irreversible plan, why."""

    confirm_irreversible: bool = False
    reason: str = ""


class SuppressRequest(BaseModel):
    """Why a finding is accepted, and until when."""

    reason: str = Field(min_length=1)
    until: datetime | None = None


class UnsuppressRequest(BaseModel):
    """Why a suppression is lifted."""

    reason: str = ""


@router.get("/findings")
def list_findings(
    service: ServiceDep,
    _user: UserDep,
    status: FindingStatus | None = None,
    severity: Severity | None = None,
    check: str | None = None,
    provider: Provider | None = None,
) -> list[dict[str, Any]]:
    """Findings, most severe first, in the shape of ``clamp findings --format json``."""
    records = service.store.findings(status=status, severities={severity} if severity else None)
    return [
        finding_to_json(r)
        for r in records
        if (check is None or r.check == check) and (provider is None or r.provider == provider)
    ]


@router.get("/findings/{finding_id}")
def get_finding(service: ServiceDep, _user: UserDep, finding_id: str) -> dict[str, Any]:
    """One finding with its evidence and the actions taken on it."""
    record = service.store.finding(finding_id)
    actions = service.store.actions_for(finding_id)
    return {**finding_to_json(record), "actions": [action_to_json(a) for a in actions]}


@router.post("/findings/{finding_id}/plan")
def plan_fix(
    service: ServiceDep, user: UserDep, finding_id: str, body: PlanRequest | None = None
) -> dict[str, Any]:
    """The plan a fix would follow, read from the cloud now; nothing changes."""
    _engine, plan = service.plan(user.name, finding_id, (body or PlanRequest()).model_dump())
    return plan_to_json(plan)


@router.post("/findings/{finding_id}/fix", status_code=202)
def fix(
    service: ServiceDep,
    user: UserDep,
    finding_id: str,
    response: Response,
    body: FixRequest | None = None,
) -> dict[str, Any]:
    """Journal the fix and apply it in the background; poll the action at ``Location``."""
    service.require(user, REMEDIATE, f"fix {finding_id}")
    request = body or FixRequest()
    record = service.fix(user.name, finding_id, request.model_dump(), reason=request.reason)
    response.headers["Location"] = f"/api/v1/actions/{record.id}"
    return action_to_json(record)


@router.post("/findings/{finding_id}/suppress")
def suppress(
    service: ServiceDep, user: UserDep, finding_id: str, body: SuppressRequest
) -> dict[str, Any]:
    """Accept a finding with a reason (and an expiry)."""
    service.require(user, REMEDIATE, f"suppress {finding_id}")
    until = body.until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    record = service.store.suppress(finding_id, reason=body.reason, until=until, actor=user.name)
    return finding_to_json(record)


@router.post("/findings/{finding_id}/unsuppress")
def unsuppress(
    service: ServiceDep, user: UserDep, finding_id: str, body: UnsuppressRequest | None = None
) -> dict[str, Any]:
    """Lift a suppression: the finding is open again until a scan says otherwise."""
    service.require(user, REMEDIATE, f"unsuppress {finding_id}")
    reason = body.reason if body else ""
    return finding_to_json(service.store.unsuppress(finding_id, actor=user.name, reason=reason))

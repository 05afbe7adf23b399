"""Findings: the filtered list, a finding's evidence and plan, the confirmation of a fix,
the fix itself, suppression, and starting a scan."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from clamp.actions.interface import INTENTS, remediations
from clamp.api.deps import OPERATE, REMEDIATE, UserDep
from clamp.errors import ClampError, InputError
from clamp.model import FindingStatus, Plan, Severity
from clamp.store import FindingRecord
from clamp.web.pages import ConsoleRoute, back_to, form_params, page, service

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
LIMIT = 500


def _matches(record: FindingRecord, query: Mapping[str, str], tags: Mapping[str, str]) -> bool:
    """Whether a finding passes the list's filters (check, cloud, scope, tag, search)."""
    if query.get("check") and record.check != query["check"]:
        return False
    if query.get("cloud") and str(record.provider) != query["cloud"]:
        return False
    if query.get("scope") and record.scope != query["scope"]:
        return False
    if tag := query.get("tag", "").strip():
        key, has_value, value = tag.partition("=")
        if key.strip() not in tags or (has_value and tags[key.strip()] != value.strip()):
            return False
    if text := query.get("q", "").strip().lower():
        haystack = " ".join((record.id, record.check, record.title, record.resource)).lower()
        return all(word in haystack for word in text.split())
    return True


def _status(text: str | None) -> FindingStatus | None:
    if not text or text == "all":
        return None
    try:
        return FindingStatus(text)
    except ValueError:
        raise InputError(f"status {text!r}: open, resolved, suppressed or all") from None


def _severity(text: str | None) -> set[Severity] | None:
    if not text:
        return None
    try:
        return {Severity(text)}
    except ValueError:
        valid = ", ".join(s.value for s in Severity)
        raise InputError(f"severity {text!r}: one of {valid}") from None


@router.get("/findings", response_class=HTMLResponse)
def findings(request: Request, user: UserDep) -> Response:
    """Findings with filters (status, severity, check, cloud, scope, tag) and search."""
    store = service(request).store
    query = {k: v for k, v in request.query_params.items() if v}
    query.setdefault("status", "open")
    every = store.findings(
        status=_status(query["status"]), severities=_severity(query.get("severity"))
    )
    tags = store.rules.tags_of()
    shown = [r for r in every if _matches(r, query, tags.get(r.resource.lower(), {}))]
    everything = store.findings()
    return page(
        request,
        user,
        "findings.html",
        findings=shown[:LIMIT],
        total=len(shown),
        limit=LIMIT,
        query=query,
        checks=sorted({r.check for r in everything}),
        scopes=sorted({r.scope for r in everything}),
        severities=[s.value for s in sorted(Severity, key=lambda s: -s.rank)],
        tags=tags,
    )


def _choice(check: str, query: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The intent asked for (a valid remediation of ``check``) and its parameters."""
    intent = query.get("intent") or None
    options = remediations(check)
    chosen = intent if intent in options else (options[0] if options else None)
    schema = INTENTS.get(chosen).params_schema if chosen else {}
    return intent if intent in options else None, form_params(query, schema)


def _plan(
    request: Request, user_name: str, finding_id: str, query: Mapping[str, Any]
) -> dict[str, Any]:
    """The plan for the choice in ``query`` (or why there is none), with what the page
    needs to offer the other intents and their parameters."""
    record = service(request).store.finding(finding_id)
    intent, params = _choice(record.check, query)
    plan: Plan | None = None
    refused = None
    observed: list[str] = []
    try:
        engine, plan = service(request).plan(
            user_name, finding_id, {"intent": intent, "params": params}
        )
        observed = service(request).plan_evidence(engine, plan).lines()
    except ClampError as exc:
        refused = exc.message
    chosen = plan.intent if plan else intent or next(iter(remediations(record.check)), None)
    schema = INTENTS.get(chosen).params_schema if chosen else {}
    typed = {k: str(v) for k, v in query.items() if k.startswith("param.") and v}
    return {
        "record": record,
        "plan": plan,
        "observed": observed,
        "refused": refused,
        "intents": remediations(record.check),
        "chosen": chosen,
        "schema": schema.get("properties") or {},
        "typed": typed,
    }


@router.get("/findings/{finding_id}", response_class=HTMLResponse)
def finding(request: Request, user: UserDep, finding_id: str) -> Response:
    """A finding: its evidence, the plan as a diff, the choice of intent, Fix and Suppress."""
    store = service(request).store
    context = _plan(request, user.name, finding_id, request.query_params)
    tags = store.rules.tags_of().get(context["record"].resource.lower(), {})
    actions = store.actions_for(finding_id)
    return page(request, user, "finding.html", actions=actions, tags=tags, **context)


@router.get("/findings/{finding_id}/confirm", response_class=HTMLResponse)
def confirm(request: Request, user: UserDep, finding_id: str) -> Response:
    """The exact plan once more, and the button that applies it."""
    service(request).require(user, REMEDIATE, f"fix {finding_id}")
    context = _plan(request, user.name, finding_id, request.query_params)
    if context["plan"] is None:
        raise InputError(context["refused"] or f"no plan for {finding_id}")
    return page(request, user, "confirm.html", **context)


@router.post("/findings/{finding_id}/fix")
async def fix(request: Request, user: UserDep, finding_id: str) -> Response:
    """Journal the fix and apply it in the background; follow it on the action's page."""
    running = service(request)
    running.require(user, REMEDIATE, f"fix {finding_id}")
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    intent, params = _choice(running.store.finding(finding_id).check, fields)
    body = {
        "intent": intent,
        "params": params,
        "confirm_irreversible": fields.get("confirm_irreversible") == "yes",
    }
    record = running.fix(user.name, finding_id, body, reason=fields.get("reason", "").strip())
    return back_to(f"/actions/{record.id}")


def _until(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"expiry {text!r} is not a date (YYYY-MM-DD)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.post("/findings/{finding_id}/suppress")
def suppress(
    request: Request,
    user: UserDep,
    finding_id: str,
    reason: Annotated[str, Form()],
    until: Annotated[str, Form()] = "",
) -> Response:
    """Accept a finding with a reason, until an expiry."""
    running = service(request)
    running.require(user, REMEDIATE, f"suppress {finding_id}")
    running.store.suppress(finding_id, reason=reason, until=_until(until), actor=user.name)
    return back_to(f"/findings/{finding_id}")


@router.post("/findings/{finding_id}/unsuppress")
def unsuppress(request: Request, user: UserDep, finding_id: str) -> Response:
    """Lift a suppression."""
    running = service(request)
    running.require(user, REMEDIATE, f"unsuppress {finding_id}")
    running.store.unsuppress(finding_id, actor=user.name, reason="lifted in the console")
    return back_to(f"/findings/{finding_id}")


@router.post("/scans")
def start_scan(request: Request, user: UserDep) -> Response:
    """Scan every discovered scope; follow it on the scan's page."""
    running = service(request)
    running.require(user, OPERATE, "start a scan")
    return back_to(f"/scans/{running.scan(user.name).id}")


@router.get("/scans/{scan_id}", response_class=HTMLResponse)
def scan(request: Request, user: UserDep, scan_id: str) -> Response:
    """A scan's progress and outcome."""
    job = service(request).store.jobs.get(scan_id)
    if job.kind != "scan":
        raise InputError(f"{scan_id} is not a scan")
    return page(request, user, "job.html", job=job)

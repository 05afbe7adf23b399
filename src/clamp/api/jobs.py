"""``/api/v1/scans`` and ``/api/v1/rules``: scans and rule runs as jobs, and the rules'
stages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from clamp.api.deps import OPERATE, REMEDIATE, ServiceDep, UserDep
from clamp.api.service import Service
from clamp.automation.rules import Rule, load_rules
from clamp.automation.status import rule_status
from clamp.errors import InputError, NotFoundError
from clamp.model import Provider
from clamp.store.codec import iso
from clamp.store.jobs import Job

router = APIRouter(tags=["scans and rules"])


class ScanRequest(BaseModel):
    """Which clouds to scan (default: both, every discovered scope)."""

    providers: list[Provider] | None = None


def job_to_json(job: Job) -> dict[str, Any]:
    """A job as the API returns it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": str(job.status),
        "actor": job.actor,
        "created": iso(job.created),
        "finished": iso(job.finished),
        "result": job.result,
        "summary": job.summary,
    }


def _job(service: Service, job_id: str, kind: str) -> Job:
    job = service.store.jobs.get(job_id)
    if job.kind != kind:
        raise NotFoundError(f"no {kind} {job_id!r}")
    return job


@router.get("/scans")
def list_scans(service: ServiceDep, _user: UserDep) -> list[dict[str, Any]]:
    """The newest scans the service made, asked for or scheduled."""
    return [job_to_json(j) for j in service.store.jobs.recent(kind="scan")]


@router.post("/scans", status_code=202)
def start_scan(
    service: ServiceDep, user: UserDep, response: Response, body: ScanRequest | None = None
) -> dict[str, Any]:
    """Start a scan; poll it at ``Location``."""
    service.require(user, OPERATE, "start a scan")
    job = service.scan(user.name, body.providers if body else None)
    response.headers["Location"] = f"/api/v1/scans/{job.id}"
    return job_to_json(job)


@router.get("/scans/{scan_id}")
def get_scan(service: ServiceDep, _user: UserDep, scan_id: str) -> dict[str, Any]:
    """One scan: running, succeeded (with its summary) or failed (with why)."""
    return job_to_json(_job(service, scan_id, "scan"))


def _rules(service: Service) -> list[Rule]:
    path = service.settings.rules_file
    if path is None or not path.is_file():
        raise InputError("no automation rules file configured", hint="set CLAMP_RULES")
    return load_rules(path, service.settings.stages)


def _rule(service: Service, name: str) -> Rule:
    rules = _rules(service)
    found = next((r for r in rules if r.name == name), None)
    if found is None:
        raise NotFoundError(f"no rule {name!r}; rules: {', '.join(r.name for r in rules)}")
    return found


@router.get("/rules")
def list_rules(service: ServiceDep, user: UserDep) -> list[dict[str, Any]]:
    """Each rule's stage, clean runs, failure budget used, halt and last run."""
    return rule_status(service.rule_runner(user.name), _rules(service))


class RuleRunRequest(BaseModel):
    """``rehearse``: run the rules on a sandbox copy of the stored inventory instead (plans,
    writes and verification for real on the copy; no cloud and no finding changes)."""

    rehearse: bool = False


@router.post("/rules/runs", status_code=202)
def run_rules(
    service: ServiceDep, user: UserDep, response: Response, body: RuleRunRequest | None = None
) -> dict[str, Any]:
    """Run (or rehearse) the rules once over the open findings; poll the run at ``Location``."""
    rehearse = body is not None and body.rehearse
    service.require(
        user, REMEDIATE, "rehearse the automation rules" if rehearse else "run the automation rules"
    )
    job = service.run_rules(user.name, rehearse=rehearse)
    response.headers["Location"] = f"/api/v1/rules/runs/{job.id}"
    return job_to_json(job)


@router.get("/rules/runs")
def list_rule_runs(service: ServiceDep, _user: UserDep) -> list[dict[str, Any]]:
    """The newest rule runs the service made."""
    return [job_to_json(j) for j in service.store.jobs.recent(kind="rules")]


@router.get("/rules/runs/{run_id}")
def get_rule_run(service: ServiceDep, _user: UserDep, run_id: str) -> dict[str, Any]:
    """One rule run and its tally."""
    return job_to_json(_job(service, run_id, "rules"))


@router.post("/rules/{name}/{move}")
def move_rule(service: ServiceDep, user: UserDep, name: str, move: str) -> dict[str, Any]:
    """``promote`` or ``demote`` a rule one stage, or ``resume`` a halted one."""
    service.require(user, REMEDIATE, f"{move} rule {name}")
    runner = service.rule_runner(user.name)
    rule = _rule(service, name)
    match move:
        case "promote":
            state = runner.move(rule, actor=user.name, step=1)
        case "demote":
            state = runner.move(rule, actor=user.name, step=-1)
        case "resume":
            state = runner.resume(rule, actor=user.name)
        case _:
            raise NotFoundError(f"no such move {move!r}; valid: promote, demote, resume")
    return {"name": rule.name, "stage": runner.stage_name(rule, state), "halted": state.halted}

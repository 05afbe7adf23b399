"""Automation rules (status, promote / demote / resume, run) and, for admins, users and
their roles. The handlers call the API's route functions over the same ``Service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from clamp.api import admin as users_api
from clamp.api import jobs as jobs_api
from clamp.api.deps import UserDep
from clamp.errors import InputError
from clamp.roles import Role
from clamp.web.pages import ConsoleRoute, back_to, page, service

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/rules", response_class=HTMLResponse)
def rules(request: Request, user: UserDep) -> Response:
    """Each rule's stage, clean runs, failure budget and halt; the recent rule runs."""
    running = service(request)
    try:
        status, missing = jobs_api.list_rules(running, user), None
    except InputError as exc:
        status, missing = [], exc.message
    runs = running.store.jobs.recent(kind="rules", limit=10)
    return page(request, user, "rules.html", rules=status, missing=missing, runs=runs)


@router.post("/rules/runs")
def run_rules(request: Request, user: UserDep) -> Response:
    """Run the rules once over the open findings; follow the run."""
    running = service(request)
    job = jobs_api.run_rules(running, user, Response())
    return back_to(f"/rules/runs/{job['id']}")


@router.post("/rules/rehearsals")
def rehearse_rules(request: Request, user: UserDep) -> Response:
    """Rehearse the rules on a sandbox copy of the inventory; follow the rehearsal."""
    running = service(request)
    job = jobs_api.run_rules(running, user, Response(), jobs_api.RuleRunRequest(rehearse=True))
    return back_to(f"/rules/runs/{job['id']}")


@router.get("/rules/runs/{run_id}", response_class=HTMLResponse)
def rule_run(request: Request, user: UserDep, run_id: str) -> Response:
    """A rule run's progress and tally."""
    running = service(request)
    job = running.store.jobs.get(jobs_api.get_rule_run(running, user, run_id)["id"])
    return page(request, user, "job.html", job=job)


@router.post("/rules/{name}/{move}")
def move_rule(request: Request, user: UserDep, name: str, move: str) -> Response:
    """Promote, demote or resume a rule."""
    jobs_api.move_rule(service(request), user, name, move)
    return back_to("/rules")


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, user: UserDep) -> Response:
    """Every user and their roles (admins only)."""
    listed = users_api.list_users(service(request), user)
    return page(
        request, user, "users.html", users=listed, roles=[r.value for r in Role], token=None
    )


@router.post("/users")
async def add_user(request: Request, user: UserDep) -> Response:
    """Add a user with roles and a console password; their first API token is shown once."""
    running = service(request)
    form = await request.form()
    roles = [str(r) for r in form.getlist("roles")]
    password = str(form.get("password") or "") or None
    try:
        body = users_api.NewUser(
            name=str(form.get("name") or "").strip(), roles=roles, password=password
        )
    except ValueError:
        raise InputError("a new user needs a name and at least one role") from None
    added = users_api.add_user(running, user, body)
    listed = users_api.list_users(running, user)
    return page(
        request,
        user,
        "users.html",
        users=listed,
        roles=[r.value for r in Role],
        token=(added["name"], added["token"]),
    )


@router.post("/users/{name}")
def change_user(
    request: Request, user: UserDep, name: str, disabled: Annotated[str, Form()]
) -> Response:
    """Disable or enable a user."""
    if disabled not in ("yes", "no"):
        raise InputError("disabled: yes or no")
    change = users_api.UserChange(disabled=disabled == "yes")
    users_api.change_user(service(request), user, name, change)
    return back_to("/users")

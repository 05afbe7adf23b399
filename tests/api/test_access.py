"""Every endpoint refuses an unknown caller (401) and every state-changing one a role that
may not (403); neither changes anything."""

from __future__ import annotations

import re
from typing import Any

import pytest

from clamp.api.service import Service
from service_client import ROLES, Api

VM = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/clamp-demo/providers/"
    "Microsoft.Compute/virtualMachines/db-1"
)
STATE_CHANGING: dict[str, set[str]] = {
    "POST /api/v1/findings/{finding_id}/fix": {"remediator"},
    "POST /api/v1/findings/{finding_id}/suppress": {"remediator"},
    "POST /api/v1/findings/{finding_id}/unsuppress": {"remediator"},
    "POST /api/v1/actions/{action_id}/undo": {"remediator"},
    "POST /api/v1/scans": {"remediator", "responder"},
    "POST /api/v1/rules/runs": {"remediator"},
    "POST /api/v1/rules/{name}/{move}": {"remediator"},
    "POST /api/v1/incidents": {"responder"},
    "POST /api/v1/incidents/{incident_id}/close": {"responder"},
    "POST /api/v1/incidents/{incident_id}/runs": {"responder"},
    "POST /api/v1/runs/{run_id}/undo": {"responder"},
    "POST /api/v1/approvals/{approval_id}/approve": {"approver"},
    "POST /api/v1/approvals/{approval_id}/reject": {"approver"},
    "POST /api/v1/users": {"admin"},
    "POST /api/v1/users/{name}": {"admin"},
    "POST /api/v1/notifications/failed/{delivery_id}/retry": {"remediator", "responder"},
    "POST /api/v1/notifications/failed/retry": {"remediator", "responder"},
}
"""Who may (besides admin); ``plan`` reads only, so any signed-in user may ask for one."""


def operations(api: Api) -> list[tuple[str, str]]:
    """(method, path template) of every operation in the OpenAPI document."""
    spec = api.get("/api/v1/openapi.json").json()
    return [(m.upper(), path) for path, ops in spec["paths"].items() for m in ops]


def test_the_openapi_document_lists_every_state_changing_endpoint(api: Api) -> None:
    posts = {f"{m} {p}" for m, p in operations(api) if m == "POST"}
    assert posts == set(STATE_CHANGING) | {"POST /api/v1/findings/{finding_id}/plan"}


@pytest.mark.parametrize("token", [None, "clamp_0123456789abcdef_" + "x" * 43, "not-a-token"])
def test_every_endpoint_refuses_an_unknown_caller(
    api: Api, service: Service, tokens: dict[str, str], token: str | None
) -> None:
    entries = len(service.store.audit.entries())
    for method, path in operations(api):
        url = re.sub(r"\{[^}]+\}", "x", path)
        answer = api.request(method, url, token, json={})
        assert answer.status_code == 401, f"{method} {path}: {answer.status_code}"
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert len(service.store.audit.entries()) == entries


def _subjects(api: Api, service: Service, tokens: dict[str, str]) -> dict[str, str]:
    """Real ids for the path templates: an open finding, a verified fix, an incident with a
    run waiting for approval (and its approval), a user."""
    finding = api.get(
        "/api/v1/findings",
        tokens["rem"],
        params={"status": "open", "check": "exposed-admin-port", "provider": "azure"},
    ).json()[0]["id"]
    fixed = api.post(
        f"/api/v1/findings/{finding}/fix", tokens["rem"], json={"params": {"allow": ["10.0.0.0/8"]}}
    ).json()["id"]
    service.idle()
    incident = api.post(
        "/api/v1/incidents", tokens["resp"], json={"title": "t", "resource": VM}
    ).json()["id"]
    run = api.post(
        f"/api/v1/incidents/{incident}/runs",
        tokens["resp"],
        json={"playbook": "contain-compromised-vm"},
    ).json()["run"]
    approval = next(
        a["id"] for a in api.get("/api/v1/approvals", tokens["appr"]).json() if a["subject"] == run
    )
    return {
        "finding_id": finding,
        "action_id": fixed,
        "incident_id": incident,
        "run_id": run,
        "approval_id": approval,
        "name": "view",
        "move": "promote",
        "delivery_id": "1",
    }


def _body(path: str) -> dict[str, Any]:
    if path.endswith("/suppress"):
        return {"reason": "accepted"}
    if path.endswith("/runs") and "incidents" in path:
        return {"playbook": "contain-compromised-vm"}
    if path.endswith("/incidents"):
        return {"title": "t", "resource": VM}
    if path.endswith("/reject"):
        return {"reason": "no"}
    if path.endswith("/users"):
        return {"name": "mallory", "roles": ["admin"]}
    if "/users/" in path:
        return {"roles": ["admin"]}
    return {}


def test_a_role_that_may_not_is_refused_and_nothing_changes(
    api: Api, service: Service, tokens: dict[str, str]
) -> None:
    ids = _subjects(api, service, tokens)
    entries = len(service.store.audit.entries())
    actions = [(a.id, a.status) for a in service.store.actions()]
    refused = 0
    for endpoint, allowed in STATE_CHANGING.items():
        method, path = endpoint.split(" ")
        url = path.format(**ids)
        for user, roles in ROLES.items():
            if set(roles) & (allowed | {"admin"}):
                continue
            answer = api.request(method, url, tokens[user], json=_body(path))
            assert answer.status_code == 403, (
                f"{user} {endpoint}: {answer.status_code} {answer.text}"
            )
            assert answer.headers["content-type"] == "application/problem+json"
            refused += 1
    assert refused > 40
    assert len(service.store.audit.entries()) == entries
    assert [(a.id, a.status) for a in service.store.actions()] == actions
    assert service.accounts.book.find("mallory") is None
    assert service.accounts.book.get("view").roles == ("viewer",)

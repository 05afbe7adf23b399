"""The REST API in-process: fix, verify and undo as a signed-in user; incidents with
four-eyes between two real users; tokens; problem+json."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from clamp.api.service import Service
from service_client import Api

VM = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/clamp-demo/providers/"
    "Microsoft.Compute/virtualMachines/db-1"
)
PROBLEM = "application/problem+json"


def wait_for(api: Api, token: str, url: str, done: set[str]) -> dict[str, Any]:
    """Poll ``url`` until its status is one of ``done``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body: dict[str, Any] = api.get(url, token).json()
        if body["status"] in done:
            return body
        time.sleep(0.05)
    raise AssertionError(f"{url} did not reach {done}")


def open_finding(api: Api, token: str, check: str, provider: str) -> dict[str, Any]:
    """The first open finding of ``check`` on ``provider``."""
    found = api.get(
        "/api/v1/findings", token, params={"status": "open", "check": check, "provider": provider}
    ).json()
    assert found, f"no open {check} on {provider}"
    first: dict[str, Any] = found[0]
    return first


def rescan(api: Api, token: str) -> None:
    started = api.post("/api/v1/scans", token)
    assert started.status_code == 202
    scan = wait_for(api, token, started.headers["location"], {"succeeded", "failed"})
    assert scan["status"] == "succeeded", scan


def test_fix_is_verified_undone_and_reopened_as_the_signed_in_user(
    api: Api, tokens: dict[str, str]
) -> None:
    rem = tokens["rem"]
    finding = open_finding(api, rem, "exposed-admin-port", "gcp")
    body = {"params": {"allow": ["10.0.0.0/8"]}}

    plan = api.post(f"/api/v1/findings/{finding['id']}/plan", rem, json=body)
    assert plan.status_code == 200
    assert plan.json()["changes"] and plan.json()["finding"] == finding["id"]

    started = api.post(f"/api/v1/findings/{finding['id']}/fix", rem, json=body)
    assert started.status_code == 202
    assert started.headers["location"] == f"/api/v1/actions/{started.json()['id']}"
    action = wait_for(api, rem, started.headers["location"], {"verified", "failed"})
    assert action["status"] == "verified", action["result"]
    assert action["actor"] == "rem"
    # verification re-read and re-evaluated it: resolved at once, and a re-scan agrees
    assert api.get(f"/api/v1/findings/{finding['id']}", rem).json()["status"] == "resolved"
    rescan(api, rem)
    assert api.get(f"/api/v1/findings/{finding['id']}", rem).json()["status"] == "resolved"

    undo = api.post(f"/api/v1/actions/{action['id']}/undo", rem)
    assert undo.status_code == 202
    undone = wait_for(api, rem, undo.headers["location"], {"verified", "failed"})
    assert undone["status"] == "verified" and undone["undoes"] == action["id"]
    assert api.get(f"/api/v1/actions/{action['id']}", rem).json()["status"] == "undone"
    assert api.get(f"/api/v1/findings/{finding['id']}", rem).json()["status"] == "open"
    rescan(api, rem)
    assert api.get(f"/api/v1/findings/{finding['id']}", rem).json()["status"] == "open"
    assert api.get("/api/v1/audit/verify", rem).json()["ok"] is True


def test_a_playbook_run_waits_for_a_second_person(
    api: Api, service: Service, tokens: dict[str, str]
) -> None:
    resp, appr = tokens["resp"], tokens["appr"]
    both = service.accounts.add("resp-appr", ["responder", "approver"], actor="operator")
    incident = api.post("/api/v1/incidents", resp, json={"title": "db-1 beacons", "resource": VM})
    assert incident.status_code == 201
    inc = incident.json()["id"]
    assert incident.json()["opened_by"] == "resp"

    preview = api.post(
        f"/api/v1/incidents/{inc}/runs",
        resp,
        json={"playbook": "contain-compromised-vm", "dry_run": True},
    )
    assert preview.status_code == 201
    assert [s["intent"] for s in preview.json()][:2] == ["snapshot_disks", "tag_instance"]

    asked = api.post(
        f"/api/v1/incidents/{inc}/runs", both, json={"playbook": "contain-compromised-vm"}
    )
    assert asked.json()["status"] == "awaiting-approval"
    pending = [
        a for a in api.get("/api/v1/approvals", appr).json() if a["subject"] == asked.json()["run"]
    ]
    assert len(pending) == 1
    approval = pending[0]["id"]

    own = api.post(f"/api/v1/approvals/{approval}/approve", both, json={"reason": "mine"})
    assert own.status_code == 403 and "four-eyes" in own.json()["detail"]
    decided = api.post(f"/api/v1/approvals/{approval}/approve", appr, json={"reason": "seen it"})
    assert decided.status_code == 200, decided.text
    run = decided.json()["run"]
    assert run["status"] == "succeeded", run["result"]
    assert run["approved_by"] == "appr" and run["actor"] == "resp-appr"

    released = api.post(f"/api/v1/runs/{run['run']}/undo", resp)
    assert released.status_code == 200 and released.json()["status"] == "undone"
    timeline = api.get(f"/api/v1/incidents/{inc}", appr).json()["timeline"]
    assert any(e.get("approved_by") == "appr" for e in timeline)


def test_tokens_expire_are_independent_and_stop_with_their_user(api: Api, service: Service) -> None:
    first = service.accounts.add("tok", ["viewer"], actor="operator")
    second = service.accounts.issue_token("tok", actor="operator")
    short = service.accounts.issue_token("tok", actor="operator", expires=timedelta(seconds=-1))
    assert api.get("/api/v1/me", first).json()["name"] == "tok"
    assert api.get("/api/v1/me", second).status_code == 200  # a new token revoked nothing
    expired = api.get("/api/v1/me", short)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    forged = first[:-4] + ("AAAA" if not first.endswith("AAAA") else "BBBB")
    assert api.get("/api/v1/me", forged).status_code == 401
    service.accounts.set_disabled("tok", True, actor="operator")
    assert api.get("/api/v1/me", first).status_code == 401
    assert api.get("/api/v1/me", second).status_code == 401


def test_errors_are_problem_json_and_change_nothing(
    api: Api, service: Service, tokens: dict[str, str]
) -> None:
    rem = tokens["rem"]
    entries = len(service.store.audit.entries())
    missing = api.get("/api/v1/findings/no-such-finding", rem)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["title"] == "NotFoundError" and missing.json()["detail"]
    bad = api.post(
        "/api/v1/findings/x/fix",
        rem,
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    finding = open_finding(api, rem, "exposed-admin-port", "azure")
    wide = api.post(
        f"/api/v1/findings/{finding['id']}/fix", rem, json={"params": {"allow": ["0.0.0.0/0"]}}
    )
    assert wide.status_code == 400 and wide.headers["content-type"] == PROBLEM
    assert len(service.store.audit.entries()) == entries

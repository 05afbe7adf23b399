"""``POST /api/v1/rules/runs`` with ``{"rehearse": true}``: the rules run for real on a
sandbox copy of the stored inventory; the real estate, findings and actions stay as they
were, and only a remediator may start one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clamp.api.app import create_app
from clamp.api.service import Service
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.selectors import Selector
from service_client import PASSWORD, ROLES, Api, make_service

RULES = """
rules:
  - name: close-public-admin-ports
    match: {check: [exposed-admin-port], severity: ">=high"}
    action: restrict_ingress
    params: {allow: [10.0.0.0/8]}
    mode: auto
    backlog: true
    limits: {max_actions_per_run: 2}
"""


@pytest.fixture(scope="module")
def rehearsing(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Service, Sandbox, dict[str, str]]]:
    tmp: Path = tmp_path_factory.mktemp("rehearsal")
    (tmp / "rules.yaml").write_text(RULES)
    stages = {"all": (Selector(),)}
    with Sandbox(load_state(None)) as sandbox:
        running = make_service(sandbox, tmp, rules_file=tmp / "rules.yaml", stages=stages)
        tokens = {
            name: running.accounts.add(name, roles, actor="operator", password=PASSWORD)
            for name, roles in ROLES.items()
        }
        yield running, sandbox, tokens
        running.close()


def test_a_rehearsal_applies_on_the_copy_only(
    rehearsing: tuple[Service, Sandbox, dict[str, str]],
) -> None:
    service, sandbox, tokens = rehearsing
    api = Api(create_app(service))
    viewer, remediator = tokens["view"], tokens["rem"]
    estate = sandbox.state.to_scenario()
    findings = sorted((f.id, f.status) for f in service.store.findings())

    refused = api.post("/api/v1/rules/runs", viewer, json={"rehearse": True})
    started = api.post("/api/v1/rules/runs", remediator, json={"rehearse": True})
    service.idle()
    job = api.get(started.headers["location"], remediator).json()
    api.close()

    assert refused.status_code == 403
    assert started.status_code == 202 and job["id"].startswith("rehearsal-")
    assert job["status"] == "succeeded", job["result"]
    assert job["summary"]["rehearsal"] is True and job["summary"]["applied"] == 2
    assert sandbox.state.to_scenario() == estate
    assert sorted((f.id, f.status) for f in service.store.findings()) == findings
    assert service.store.actions() == []

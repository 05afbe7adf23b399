"""``clamp rules``: validate, run (the JSON contract), rehearse (changes nothing real),
status, promote/demote — driven as a user would drive them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

CONFIG = """
[[stages.non-prod]]
projects = ["clamp-demo-dev"]

[[stages.non-prod]]
tags = {env = ["dev", "test"]}

[stages.prod]
projects = ["clamp-demo-prod"]
subscriptions = ["00000000-0000-4000-8000-000000000001"]
"""
RULES = """
rules:
  - name: close-public-admin-ports
    description: Admin ports must not be open to the internet.
    match:
      check: [exposed-admin-port, exposed-database-port]
      severity: ">=high"
      provider: [azure, gcp]
    action: restrict_ingress
    params: {allow: [10.0.0.0/8]}
    mode: auto
    backlog: true
    limits: {max_actions_per_run: 3, max_actions_per_hour: 50, failure_budget: 10%}
    exempt:
      - {tag: clamp-exempt, value: "true", reason: "vendor appliance", expires: 2099-01-01}
    promote:
      stages: [non-prod, prod]
      after: {clean_runs: 3, min_age: 24h}
"""
ACTION_KEYS = {"rule", "finding", "intent", "outcome", "reason"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    (tmp_path / "clamp.toml").write_text(CONFIG)
    (tmp_path / "rules.yaml").write_text(RULES)
    with Sandbox(load_state(None)) as sandbox:
        yield {
            "CLAMP_SANDBOX_URL": sandbox.url,
            "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "CLAMP_ACTOR": "cli-tester",
            "CLAMP_CONFIG": str(tmp_path / "clamp.toml"),
        }


def clamp(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def test_validate_names_the_file_rule_and_field(env: dict[str, str], tmp_path: Path) -> None:
    assert clamp(env, "rules", "validate", str(tmp_path / "rules.yaml")).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("mode: auto", "mode: yolo"))

    result = clamp(env, "rules", "validate", str(bad))

    assert result.exit_code == 1
    assert f"{bad}: rule close-public-admin-ports: field mode" in result.output


def test_rules_run_json_contract_and_the_stage_gate(env: dict[str, str], tmp_path: Path) -> None:
    assert clamp(env, "scan").exit_code == 0
    rules = str(tmp_path / "rules.yaml")

    dry = clamp(env, "rules", "run", "--file", rules, "--dry-run", "--format", "json")

    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert set(report["summary"]) >= {"planned", "applied", "queued", "skipped"}
    assert all(set(a) >= ACTION_KEYS for a in report["actions"])
    planned = [a for a in report["actions"] if a["outcome"] == "planned"]
    assert [a["resource"].rsplit("/", 1)[-1] for a in planned] == ["allow-redis-debug"]

    real = json.loads(clamp(env, "rules", "run", "--file", rules, "--format", "json").stdout)
    assert real["summary"]["applied"] == 1

    status = json.loads(clamp(env, "rules", "status", "--file", rules, "--format", "json").stdout)
    assert status[0]["stage"] == "non-prod" and status[0]["clean_runs"] == 1
    assert (
        clamp(env, "rules", "promote", "close-public-admin-ports", "--file", rules).exit_code == 0
    )
    status = json.loads(clamp(env, "rules", "status", "--file", rules, "--format", "json").stdout)
    assert status[0]["stage"] == "prod"


def test_rehearse_reports_the_would_be_changes_and_changes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert clamp(env, "scan").exit_code == 0
    before = clamp(env, "sandbox", "state").stdout
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULES.replace(
            "    promote:\n      stages: [non-prod, prod]\n      after: {clean_runs: 3, min_age: 24h}\n",
            "",
        )
    )

    result = clamp(env, "rules", "rehearse", str(rules), "--format", "json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["applied"] == 3
    assert any("max_actions_per_run (3)" in a["reason"] for a in report["actions"])
    assert "rule close-public-admin-ports: max_actions_per_run (3) reached" in report["notes"]
    assert clamp(env, "sandbox", "state").stdout == before
    assert json.loads(clamp(env, "actions", "--format", "json").stdout) == []


LAYER_RULES = """
rules:
  - name: close-every-open-port
    match: {check: [exposed-admin-port, exposed-database-port]}
    action: restrict_ingress
    params: {allow: [10.0.0.0/8]}
    mode: auto
    backlog: true
    limits: {max_actions_per_run: 50, max_actions_per_hour: 500}
"""


def test_a_fix_on_a_policy_layer_rehearses_as_it_runs(env: dict[str, str], tmp_path: Path) -> None:
    assert clamp(env, "scan").exit_code == 0
    before = clamp(env, "sandbox", "state").stdout
    rules = tmp_path / "layers.yaml"
    rules.write_text(LAYER_RULES)

    rehearsed = clamp(env, "rules", "rehearse", str(rules), "--format", "json")
    assert clamp(env, "sandbox", "state").stdout == before
    ran = clamp(env, "rules", "run", "--file", str(rules), "--format", "json")

    assert rehearsed.exit_code == 0, rehearsed.output
    outcomes = [
        {a["resource"]: a["outcome"] for a in json.loads(result.stdout)["actions"]}
        for result in (rehearsed, ran)
    ]
    assert outcomes[0] == outcomes[1]
    # the network firewall policy's rule and the security admin rule: fixed in both
    layered = {r: o for r, o in outcomes[0].items() if r.endswith(("/prod-vpc", "/demo-vnet"))}
    assert list(layered.values()) == ["applied", "applied"], outcomes[0]


def test_an_approve_mode_rule_queues_and_the_approval_applies_the_plan(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "clamp.toml").write_text(
        CONFIG + '\n[roles]\nrita = "remediator"\nabe = "approver"\n'
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("mode: auto", "mode: approve"))
    env = {**env, "CLAMP_RULES": str(rules)}
    assert clamp(env, "scan").exit_code == 0

    queued = json.loads(clamp(env, "rules", "run", "--actor", "rita", "--format", "json").stdout)

    assert queued["summary"]["queued"] == 1 and queued["summary"]["applied"] == 0
    [request] = json.loads(clamp(env, "approvals", "list", "--format", "json").stdout)
    assert request["kind"] == "plan" and request["requester"] == "rule:close-public-admin-ports"
    mine = clamp(env, "approvals", "approve", request["id"], "--actor", "rita")
    assert mine.exit_code == 1 and "four-eyes" in mine.output
    approved = clamp(
        env, "approvals", "approve", request["id"], "--actor", "abe", "--format", "json"
    )
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["outcome"] == "applied"
    [action] = json.loads(clamp(env, "actions", "--format", "json").stdout)
    assert action["status"] == "verified" and action["actor"] == "rule:close-public-admin-ports"


PASSWORD_RULE = """
rules:
  - name: enforce-password-baseline
    match: {check: [password-policy-weak], provider: [azure]}
    action: apply_password_policy
    mode: auto
    backlog: true
"""


def test_a_password_policy_rule_rehearses_as_it_runs(env: dict[str, str], tmp_path: Path) -> None:
    assert clamp(env, "scan").exit_code == 0
    rules = tmp_path / "password.yaml"
    rules.write_text(PASSWORD_RULE)

    planned = json.loads(
        clamp(env, "rules", "run", "--file", str(rules), "--dry-run", "--format", "json").stdout
    )
    rehearsed = clamp(env, "rules", "rehearse", str(rules), "--format", "json")

    assert rehearsed.exit_code == 0, rehearsed.output
    report = json.loads(rehearsed.stdout)
    assert planned["summary"]["planned"] == 1
    assert report["summary"]["applied"] == 1 and report["summary"]["failed"] == 0
    assert [a["finding"] for a in report["actions"]] == [a["finding"] for a in planned["actions"]]


DATABASE_RULES = """
rules:
  - name: close-public-databases
    description: Managed databases admit named networks only.
    match:
      check: [exposed-database-service]
    action: restrict_database_access
    params: {allow: [198.51.100.0/24]}
    mode: auto
    backlog: true
    limits: {max_actions_per_run: 10, max_actions_per_hour: 50, failure_budget: 10%}
"""


def test_a_database_rule_rehearses_every_database_fix_and_changes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert clamp(env, "scan").exit_code == 0
    before = clamp(env, "sandbox", "state").stdout
    rules = tmp_path / "databases.yaml"
    rules.write_text(DATABASE_RULES)
    wide = tmp_path / "wide.yaml"
    wide.write_text(DATABASE_RULES.replace("198.51.100.0/24", "0.0.0.0/1"))

    result = clamp(env, "rules", "rehearse", str(rules), "--format", "json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["applied"] == 4  # SQL, PostgreSQL, MySQL and Cloud SQL
    assert {a["intent"] for a in report["actions"]} == {"restrict_database_access"}
    assert clamp(env, "sandbox", "state").stdout == before
    refused = clamp(env, "rules", "validate", str(wide))
    assert refused.exit_code == 1 and "0.0.0.0/1" in refused.output

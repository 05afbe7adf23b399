"""The ``clamp`` command's contracts, driven as a user would drive them."""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from clamp.actions.engine import ActionEngine
from clamp.cli.main import app
from clamp.config import Settings
from clamp.model import ActionRecord, ActionStatus
from clamp.providers.factory import driver_factory
from clamp.sandbox.scenario import demo_scenario, load_state
from clamp.sandbox.server import Sandbox
from clamp.store import Store

FINDING_KEYS = {"id", "check", "provider", "resource", "severity", "status", "details"}
ACTION_KEYS = {"id", "finding", "intent", "status", "actor", "created"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with Sandbox(load_state(None)) as sandbox:
        yield {
            "CLAMP_SANDBOX_URL": sandbox.url,
            "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "CLAMP_ACTOR": "cli-tester",
        }


def clamp(env: dict[str, str], *args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env=env)
    return result


def test_scan_then_findings_json_has_the_contract_fields(env: dict[str, str]) -> None:
    assert clamp(env, "scan").exit_code == 0

    result = clamp(env, "findings", "--format", "json")

    findings = json.loads(result.stdout)
    assert result.exit_code == 0
    assert {f["provider"] for f in findings} == {"azure", "gcp"}
    assert all(set(f) >= FINDING_KEYS for f in findings)
    assert {f["check"] for f in findings} == {
        "exposed-admin-port",
        "exposed-database-port",
        "storage-versioning-disabled",
        "storage-soft-delete-disabled",
        "storage-delete-protection-missing",
        "storage-public-access",
        "storage-insecure-transport",
        "vm-identity-overprivileged",
        "password-policy-weak",
        "exposed-database-service",
    }
    databases = {
        f["resource"].rsplit("/", 1)[-1]: f["details"]["kind"]
        for f in findings
        if f["check"] == "exposed-database-service"
    }
    assert databases == {
        "clamp-demo-sql": "internet",
        "clamp-demo-pg": "internet",
        "clamp-demo-mysql": "azure-services",
        "orders-db": "internet",
    }
    gcp = [f for f in findings if f["provider"] == "gcp"]
    assert all(
        f["resource"].startswith(
            (
                "//compute.googleapis.com/projects/",
                "//storage.googleapis.com/",
                "//cloudsql.googleapis.com/projects/",
                "customer:",
            )
        )
        for f in gcp
    )
    passwords = {f["resource"] for f in findings if f["check"] == "password-policy-weak"}
    assert passwords == {"tenant:00000000-0000-4000-8000-0000000000aa", "customer:C03az79cb"}
    vms = {f["resource"] for f in findings if f["check"] == "vm-identity-overprivileged"}
    assert (
        "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/clamp-demo/providers/Microsoft.Compute/virtualMachines/web-1"
        in vms
    )
    assert (
        "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"
        in vms
    )
    buckets = {f["resource"] for f in gcp if f["check"].startswith("storage-")}
    assert buckets == {
        "//storage.googleapis.com/clamp-demo-prod-backups",
        "//storage.googleapis.com/clamp-demo-dev-scratch",
    }


def test_scan_json_reports_scopes_resources_and_lifecycle_counts(env: dict[str, str]) -> None:
    result = clamp(env, "scan", "--provider", "gcp", "--format", "json")

    report = json.loads(result.stdout)
    assert result.exit_code == 0
    assert {s["scope"] for s in report["scopes"]} == {
        "clamp-demo-prod",
        "clamp-demo-dev",
        "customer:C03az79cb",
    }
    assert report["findings"] == report["summary"]["new"] > 0
    assert report["errors"] == []


def test_scan_of_an_unreachable_sandbox_is_one_line_and_non_zero(tmp_path: Path) -> None:
    env = {
        "CLAMP_SANDBOX_URL": "http://127.0.0.1:9",
        "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }

    result = clamp(env, "scan", "--provider", "azure")

    assert result.exit_code != 0
    assert "sandbox" in result.stderr and result.stderr.strip().count("\n") == 0


def test_fix_yes_then_undo_yes_exit_zero_and_actions_are_listed(env: dict[str, str]) -> None:
    clamp(env, "scan")
    findings = json.loads(clamp(env, "findings", "--format", "json").stdout)
    target = next(
        f for f in findings if f["provider"] == "azure" and f["check"] == "exposed-admin-port"
    )

    fixed = clamp(env, "fix", target["id"], "--yes", "--allow", "10.0.0.0/8")
    assert fixed.exit_code == 0, fixed.output
    [action] = json.loads(clamp(env, "actions", "--format", "json").stdout)
    assert set(action) >= ACTION_KEYS
    assert action["status"] == "verified" and action["actor"] == "cli-tester"

    undone = clamp(env, "undo", action["id"], "--yes")
    assert undone.exit_code == 0, undone.output
    statuses = {
        a["id"]: a["status"] for a in json.loads(clamp(env, "actions", "--format", "json").stdout)
    }
    assert statuses[action["id"]] == "undone"
    assert clamp(env, "audit", "verify").exit_code == 0


def _finding(env: dict[str, str], check: str, resource_suffix: str) -> str:
    clamp(env, "scan")
    findings = json.loads(clamp(env, "findings", "--format", "json").stdout)
    return str(
        next(
            f["id"]
            for f in findings
            if f["check"] == check and f["resource"].endswith(resource_suffix)
        )
    )


def _gcp_object(env: dict[str, str], name: str) -> dict[str, Any]:
    state = json.loads(clamp(env, "sandbox", "state").stdout)
    return dict(next(o for o in state["gcp"]["clamp-demo-prod"] if o.get("name") == name))


def test_an_irreversible_fix_needs_the_second_confirmation_even_with_yes(
    env: dict[str, str],
) -> None:
    finding = _finding(env, "storage-delete-protection-missing", "/clamp-demo-prod-backups")
    args = ["fix", finding, "--intent", "lock_retention_policy", "--param", "days=1", "--yes"]

    refused = clamp(env, *args)

    assert refused.exit_code == 1
    assert "--i-understand-this-is-irreversible" in refused.stderr
    assert "IRREVERSIBLE" in refused.stdout
    assert not _gcp_object(env, "clamp-demo-prod-backups").get("retentionPolicy")

    locked = clamp(env, *args, "--i-understand-this-is-irreversible", "--format", "json")

    assert locked.exit_code == 0, locked.output
    assert json.loads(locked.stdout)["status"] == "verified"
    policy = _gcp_object(env, "clamp-demo-prod-backups")["retentionPolicy"]
    assert (policy["retentionPeriod"], policy["isLocked"]) == ("86400", True)


def test_the_data_protection_bundle_fixes_every_gap_of_a_bucket_and_undoes(
    env: dict[str, str],
) -> None:
    finding = _finding(env, "storage-public-access", "/clamp-demo-prod-backups")

    fixed = clamp(env, "fix", finding, "--bundle", "data-protection", "--yes", "--format", "json")

    action = json.loads(fixed.stdout)
    assert fixed.exit_code == 0, fixed.output
    assert action["intent"] == "data-protection" and action["status"] == "verified"
    assert len(action["plan"]["resolves"]) == 3
    assert _gcp_object(env, "clamp-demo-prod-backups")["versioning"] == {"enabled": True}
    state = json.loads(clamp(env, "sandbox", "state").stdout)["gcp"]["clamp-demo-prod"]
    policy = next(o for o in state if o.get("resourceId", "").endswith("/clamp-demo-prod-backups"))
    members = {m for b in policy["bindings"] for m in b["members"]}
    assert "allUsers" not in members
    assert "serviceAccount:backup@clamp-demo-prod.iam.gserviceaccount.com" in members
    assert clamp(env, "undo", action["id"], "--yes").exit_code == 0
    assert _gcp_object(env, "clamp-demo-prod-backups")["versioning"] == {"enabled": False}


def test_a_bad_intent_parameter_is_one_line_and_changes_nothing(env: dict[str, str]) -> None:
    finding = _finding(env, "storage-soft-delete-disabled", "/clamp-demo-prod-backups")

    result = clamp(env, "fix", finding, "--param", "days=400", "--yes")

    assert result.exit_code == 1
    assert "days must be at most 365" in result.stderr
    assert _gcp_object(env, "clamp-demo-prod-backups")["softDeletePolicy"] == {
        "retentionDurationSeconds": "0"
    }


def test_fix_chooses_a_remediation_with_intent_and_the_default_plan_names_the_others(
    env: dict[str, str],
) -> None:
    azure_vm = _finding(env, "vm-identity-overprivileged", "/virtualMachines/web-1")
    gce = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"
    finding = _finding(env, "vm-identity-overprivileged", gce)

    default = clamp(env, "fix", azure_vm, "--dry-run")
    refused = clamp(env, "fix", finding, "--yes")
    detached = clamp(
        env, "fix", finding, "--intent", "detach_identity", "--yes", "--format", "json"
    )

    assert "revoke_identity_roles" in default.stdout, default.stderr
    assert "Contributor" in default.stdout
    assert "other fixes for this finding: --intent detach_identity" in default.stdout
    assert refused.exit_code == 1 and "--intent detach_identity" in refused.stderr
    assert detached.exit_code == 0, detached.output
    assert json.loads(detached.stdout)["status"] == "verified"
    web = _gcp_object(env, "web-1")
    assert (web["status"], web["serviceAccounts"]) == ("RUNNING", [])


def test_dry_run_prints_the_plan_and_changes_nothing(env: dict[str, str]) -> None:
    clamp(env, "scan")
    target = json.loads(clamp(env, "findings", "--format", "json").stdout)[0]
    before = json.loads(clamp(env, "sandbox", "state").stdout)

    result = clamp(env, "fix", target["id"], "--dry-run")

    assert result.exit_code == 0
    assert "Plan" in result.stdout
    assert json.loads(clamp(env, "sandbox", "state").stdout) == before
    assert json.loads(clamp(env, "actions", "--format", "json").stdout) == []


def test_unknown_finding_is_one_line_error_and_non_zero(env: dict[str, str]) -> None:
    result = clamp(env, "fix", "f-doesnotexist", "--yes")

    assert result.exit_code != 0
    assert result.stderr.strip().count("\n") == 0
    assert "f-doesnotexist" in result.stderr


def test_undo_of_unknown_action_fails_with_reason(env: dict[str, str]) -> None:
    result = clamp(env, "undo", "a-nope", "--yes")
    assert result.exit_code != 0 and "a-nope" in result.stderr


def test_sandbox_serve_first_line_is_the_url_and_state_round_trips(tmp_path: Path) -> None:
    scenario_file = tmp_path / "scenario.yaml"
    scenario = demo_scenario()
    scenario_file.write_text(yaml.safe_dump(scenario))
    server = subprocess.Popen(
        [sys.executable, "-m", "clamp", "sandbox", "serve", "--scenario", str(scenario_file)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline().strip()
        assert first.startswith("CLAMP_SANDBOX_URL=http")
        url = first.split("=", 1)[1]
        state = subprocess.run(
            [sys.executable, "-m", "clamp", "sandbox", "state"],
            env={**os.environ, "CLAMP_SANDBOX_URL": url},
            capture_output=True,
            text=True,
            check=True,
        )
        served = json.loads(state.stdout)
        assert served["azure"].keys() == scenario["azure"].keys()
        assert served["gcp"].keys() == scenario["gcp"].keys()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_demo_never_writes_into_the_configured_store(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    env = {"CLAMP_DATABASE_URL": f"sqlite:///{real}", "CLAMP_CONFIG": str(tmp_path / "x.toml")}

    result = CliRunner().invoke(app, ["demo"], env=env)

    assert result.exit_code == 0, result.output
    assert "audit log intact" in result.stdout
    assert not real.exists()


def test_a_sandbox_port_in_use_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = CliRunner().invoke(app, ["sandbox", "serve", "--port", str(port)])

    assert result.exit_code == 1
    assert result.stderr.startswith("error: the sandbox cannot listen on 127.0.0.1:")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_a_plan_line_too_long_for_the_terminal_goes_on_under_its_indentation(
    env: dict[str, str],
) -> None:
    clamp(env, "scan")
    target = json.loads(clamp(env, "findings", "--format", "json").stdout)[0]["id"]
    narrow = CliRunner().invoke(app, ["fix", target, "--dry-run"], env={**env, "COLUMNS": "60"})
    lines = narrow.stdout.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("  ⚠ blast radius:"))
    end = next(n for n, line in enumerate(lines) if line.startswith("  reversible:"))
    assert end - start > 1  # the blast radius is longer than 60 columns
    assert all(line.startswith("  ") and len(line) <= 60 for line in lines[start:end])


def test_finding_ids_are_never_wrapped_in_tables(env: dict[str, str]) -> None:
    assert clamp(env, "scan").exit_code in (0, 3)
    ids = [f["id"] for f in json.loads(clamp(env, "findings", "--format", "json").stdout)]

    table = clamp(env, "findings").stdout

    assert ids and all(i in table for i in ids)


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.strip() == f"clamp {importlib.metadata.version('clamp')}"


def test_suppress_again_keeps_the_expiry_and_unsuppress_reopens(env: dict[str, str]) -> None:
    assert clamp(env, "scan").exit_code == 0
    finding = json.loads(clamp(env, "findings", "--format", "json").stdout)[0]["id"]
    first = clamp(env, "suppress", finding, "--reason", "bastion", "--until", "2099-01-31")
    again = clamp(env, "suppress", finding, "--reason", "bastion, reviewed")

    lifted = clamp(env, "unsuppress", finding, "--reason", "retired")

    assert first.exit_code == again.exit_code == lifted.exit_code == 0
    assert "until 2099-01-31" in again.stdout
    opened = json.loads(clamp(env, "findings", "--status", "open", "--format", "json").stdout)
    assert finding in [f["id"] for f in opened]
    assert clamp(env, "unsuppress", finding).exit_code == 1  # not suppressed any more


def test_findings_filter_by_check_and_cloud_and_one_shows_its_evidence(
    env: dict[str, str],
) -> None:
    assert clamp(env, "scan").exit_code == 0
    every = json.loads(clamp(env, "findings", "--format", "json").stdout)
    picked = clamp(
        env, "findings", "--check", "exposed-admin-port", "--provider", "gcp", "--format", "json"
    )
    chosen = json.loads(picked.stdout)
    expected = [f for f in every if f["check"] == "exposed-admin-port" and f["provider"] == "gcp"]
    assert chosen == expected and 0 < len(chosen) < len(every)
    assert clamp(env, "findings", "--check", "no-such-check").exit_code == 2

    shown = clamp(env, "finding", chosen[0]["id"])

    assert shown.exit_code == 0
    assert chosen[0]["resource"] in shown.stdout and "evidence:" in shown.stdout
    assert "ports:" in shown.stdout  # the details that make the finding
    assert clamp(env, "finding", "f-0000000000000000").exit_code == 1


@pytest.mark.parametrize("command", [["actions"], ["findings"], ["audit", "verify"]])
def test_any_command_settles_an_action_a_crash_left_in_flight(
    env: dict[str, str], command: list[str]
) -> None:
    assert clamp(env, "scan").exit_code == 0
    settings = Settings(
        database_url=env["CLAMP_DATABASE_URL"], sandbox_url=env["CLAMP_SANDBOX_URL"], actor="x"
    )
    with Store.open(settings.database_url) as store:
        engine = ActionEngine(store, driver_factory(settings), settings)
        finding = next(
            r for r in store.findings() if r.finding.check == "exposed-admin-port"
        ).finding
        plan = engine.plan(finding.id)
        record = ActionRecord(
            "a-crashed00001",
            finding.id,
            plan.intent,
            ActionStatus.PLANNED,
            "x",
            datetime.now(UTC),
            plan,
            in_flight=True,
        )
        store.save_action(record)  # journaled, then the process died before the first write

    result = clamp(env, *command)

    assert result.exit_code == 0, result.output
    with Store.open(settings.database_url) as store:
        settled = store.action("a-crashed00001")
    assert not settled.in_flight and settled.status == ActionStatus.FAILED
    assert "nothing was changed" in settled.result


def test_fix_allow_the_internet_is_refused_before_anything_is_read(env: dict[str, str]) -> None:
    assert clamp(env, "scan").exit_code == 0
    finding = next(
        f["id"]
        for f in json.loads(clamp(env, "findings", "--format", "json").stdout)
        if f["check"] == "exposed-admin-port"
    )
    before = clamp(env, "sandbox", "state").stdout

    result = clamp(env, "fix", finding, "--allow", "0.0.0.0/0", "--yes")

    assert result.exit_code == 1 and "means any address" in result.stderr
    assert clamp(env, "sandbox", "state").stdout == before

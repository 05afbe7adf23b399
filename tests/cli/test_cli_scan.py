"""``clamp scan`` selection, identity-plane scopes, and the exit codes CI relies on."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from clamp.checks import CHECKS
from clamp.cli import render
from clamp.cli.exits import ExitCode
from clamp.cli.main import app
from clamp.model import Severity
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault

TENANT = "tenant:00000000-0000-4000-8000-0000000000aa"
CUSTOMER = "customer:C03az79cb"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as running:
        yield running


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    return {
        "CLAMP_SANDBOX_URL": sandbox.url,
        "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "CLAMP_ACTOR": "cli-tester",
    }


def clamp(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def open_findings(env: dict[str, str]) -> list[dict[str, Any]]:
    result = clamp(env, "findings", "--status", "open", "--format", "json")
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def test_only_the_selected_checks_are_evaluated_and_recorded(env: dict[str, str]) -> None:
    result = clamp(
        env, "scan", "--provider", "gcp", "--check", "storage-public-access", "--format", "json"
    )

    report = json.loads(result.stdout)
    assert result.exit_code == ExitCode.OK, result.output
    assert report["checks"] == ["storage-public-access"]
    assert report["findings"] > 0
    assert {f["check"] for f in open_findings(env)} == {"storage-public-access"}


def test_a_scan_of_some_checks_resolves_no_finding_of_the_others(env: dict[str, str]) -> None:
    assert clamp(env, "scan").exit_code == ExitCode.OK
    before = {f["id"]: f["check"] for f in open_findings(env)}
    assert len(set(before.values())) > 1

    result = clamp(env, "scan", "--check", "exposed-admin-port", "--format", "json")

    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["summary"]["resolved"] == 0
    assert {f["id"] for f in open_findings(env)} == set(before)


def test_exclude_check_and_severity_narrow_the_selection(env: dict[str, str]) -> None:
    high = sorted(name for name, check in CHECKS if check.severity == "high")

    result = clamp(
        env, "scan", "--severity", "high", "--exclude-check", high[0], "--format", "json"
    )

    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["checks"] == high[1:]
    assert {f["check"] for f in open_findings(env)} <= set(high[1:])


def test_an_unknown_check_is_a_usage_error_listing_the_valid_ones(env: dict[str, str]) -> None:
    result = clamp(env, "scan", "--check", "exposed-admin-prot")

    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.count("\n") == 1 and "exposed-admin-prot" in result.stderr
    assert all(name in result.stderr for name in CHECKS.names())
    assert open_findings(env) == []


def test_usage_errors_of_clamp_itself_exit_2(env: dict[str, str]) -> None:
    assert clamp(env, "findings", "--format", "xml").exit_code == ExitCode.USAGE
    bad_param = clamp(env, "fix", "f-1", "--param", "days", "--yes")
    assert bad_param.exit_code == ExitCode.USAGE and "KEY=VALUE" in bad_param.stderr
    assert clamp(env, "scan", "--fail-on", "severe").exit_code == ExitCode.USAGE  # Click's own


def test_fail_on_exits_3_when_an_open_finding_reaches_the_severity(env: dict[str, str]) -> None:
    check = "password-policy-weak"
    at = clamp(env, "scan", "--check", check, "--fail-on", "info")
    levels = sorted({Severity(f["severity"]) for f in open_findings(env)}, key=lambda s: s.rank)
    top = levels[-1]
    assert at.exit_code == ExitCode.FINDINGS and top != Severity.CRITICAL
    above = list(Severity)[top.rank + 1]

    assert clamp(env, "scan", "--check", check, "--fail-on", top).exit_code == ExitCode.FINDINGS
    assert clamp(env, "scan", "--check", check, "--fail-on", above).exit_code == ExitCode.OK
    assert clamp(env, "findings", "--fail-on", top).exit_code == ExitCode.FINDINGS
    assert clamp(env, "findings", "--fail-on", above).exit_code == ExitCode.OK
    resolved = clamp(env, "findings", "--status", "resolved", "--fail-on", "info")
    assert resolved.exit_code == ExitCode.OK


def test_suppressed_findings_do_not_fail_ci(env: dict[str, str]) -> None:
    clamp(env, "scan", "--check", "password-policy-weak")
    for finding in open_findings(env):
        assert clamp(env, "suppress", finding["id"], "--reason", "accepted").exit_code == 0

    assert clamp(env, "scan", "--check", "password-policy-weak", "--fail-on", "info").exit_code == 0
    assert clamp(env, "findings", "--fail-on", "info").exit_code == ExitCode.OK


def test_a_scope_that_cannot_be_read_makes_the_scan_incomplete(env: dict[str, str]) -> None:
    result = clamp(env, "scan", "--project", "clamp-demo-prod", "--project", "no-such-project")

    assert result.exit_code == ExitCode.INCOMPLETE, result.output
    assert "incomplete:" in result.stdout and "no-such-project" in result.stdout
    assert any(f["resource"].startswith("//compute") for f in open_findings(env))


@pytest.mark.parametrize(
    ("provider", "scope", "option", "fault", "permission"),
    [
        ("azure", TENANT, "--subscription", "/v1.0/organization", "Domain.Read.All"),
        ("gcp", CUSTOMER, "--project", "/v1/policies", "cloudidentity.policies.list"),
    ],
)
def test_an_unreadable_identity_scope_is_skipped_unless_asked_for(
    sandbox: Sandbox,
    env: dict[str, str],
    provider: str,
    scope: str,
    option: str,
    fault: str,
    permission: str,
) -> None:
    sandbox.state.faults.append(Fault(status=403, provider=provider, path=fault, times=None))

    discovered = clamp(env, "scan", "--provider", provider, "--format", "json")
    table = clamp(env, "scan", "--provider", provider)
    asked = clamp(env, "scan", option, scope)

    report = json.loads(discovered.stdout)
    assert discovered.exit_code == ExitCode.OK, discovered.output
    [skipped] = report["skipped"]
    assert (skipped["provider"], skipped["scope"]) == (provider, scope)
    assert permission in skipped["reason"] and report["errors"] == []
    assert scope not in {s["scope"] for s in report["scopes"]} and report["scopes"]
    assert table.exit_code == ExitCode.OK and f"skipped: {provider} {scope}" in table.stdout
    assert asked.exit_code == ExitCode.INCOMPLETE, asked.output
    assert permission in asked.output


def test_the_progress_bar_draws_on_a_terminal_and_not_under_json(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(render, "console", terminal)

    assert render.progress_bar("json").disable
    assert not render.progress_bar("table").disable
    assert render.progress_bar("table").live.console is terminal
    quiet = Console(file=io.StringIO(), force_terminal=False)
    monkeypatch.setattr(render, "console", quiet)
    assert render.progress_bar("table").disable


def test_a_scan_on_a_terminal_shows_scopes_and_resources_as_it_goes(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(
        render, "console", Console(file=screen, force_terminal=True, width=200, highlight=False)
    )

    result = clamp(env, "scan", "--provider", "gcp")

    drawn = screen.getvalue()
    assert result.exit_code == ExitCode.OK
    assert "scanning" in drawn and "resource(s)" in drawn
    assert "scanned 3 scope(s)" in drawn


def test_scopes_that_cannot_be_listed_are_an_error_not_an_incomplete_scan(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    sandbox.state.faults.append(
        Fault(status=403, provider="azure", method="GET", path="/subscriptions", times=None)
    )

    result = clamp(env, "scan", "--provider", "azure")

    assert result.exit_code == ExitCode.ERROR, result.output
    assert result.stderr.count("\n") == 1 and "cannot list scopes" in result.stderr
    assert "Microsoft.Resources/subscriptions/read" in result.stderr

"""The incident-response commands' contracts: incident open/show/close, respond, undo of
a run, approvals — driven as a user would drive them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from clamp.cli import render
from clamp.cli.main import app
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with Sandbox(load_state(None)) as sandbox:
        yield {
            "CLAMP_SANDBOX_URL": sandbox.url,
            "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "CLAMP_ACTOR": "cli-tester",
            "CLAMP_CONFIG": str(tmp_path / "none.toml"),
        }


def clamp(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def _open(env: dict[str, str]) -> str:
    result = clamp(
        env, "incident", "open", "--title", "miner", "--resource", GCE, "--format", "json"
    )
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["id"])


def test_respond_then_undo_the_run_then_close(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "none.toml").write_text("")
    incident = _open(env)

    result = clamp(
        env,
        "respond",
        "quarantine-network-only",
        "--incident",
        incident,
        "--target",
        GCE,
        "--param",
        "forensics_cidr=10.99.0.0/24",
        "--yes",
        "--format",
        "json",
    )

    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["status"] == "succeeded" and run["run"].startswith("run-")
    assert [s["status"] for s in run["steps"]] == ["verified", "verified"]

    shown = json.loads(clamp(env, "incident", "show", incident, "--format", "json").stdout)
    assert [r["run"] for r in shown["runs"]] == [run["run"]]
    steps = [e for e in shown["timeline"] if e.get("step")]
    assert [e["plan"]["intent"] for e in steps] == ["tag_instance", "isolate_instance"]

    undone = clamp(env, "undo", run["run"], "--yes", "--format", "json")
    assert undone.exit_code == 0, undone.output
    assert json.loads(undone.stdout)["status"] == "undone"

    closed = clamp(env, "incident", "close", incident, "--format", "json")
    assert closed.exit_code == 0 and json.loads(closed.stdout)["open"] is False


def test_a_failed_run_exits_non_zero(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "none.toml").write_text("")
    incident = _open(env)
    book = tmp_path / "bad.yaml"
    book.write_text("name: suspend\nsteps:\n  - intent: suspend_instance\n")
    assert clamp(env, "respond", str(book), "--incident", incident, "--yes").exit_code == 0
    # setServiceAccount needs a stopped instance; on a suspended one the step fails
    book.write_text(
        "name: bad\nsteps:\n  - intent: detach_identity\n    params: {service_account: x@p.iam.gserviceaccount.com}\n"
    )
    result = clamp(env, "respond", str(book), "--incident", incident, "--yes", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "failed"


def test_a_playbook_error_is_one_line_naming_file_step_and_field(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "none.toml").write_text("")
    incident = _open(env)
    book = tmp_path / "typo.yaml"
    book.write_text("name: typo\nsteps:\n  - intent: isolate_instance\n    on_failure: retry\n")

    result = clamp(env, "respond", str(book), "--incident", incident, "--yes")

    assert result.exit_code == 1
    assert f"{book}: step 1 (isolate_instance): field on_failure" in result.output


def test_approval_flow_on_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "none.toml").write_text('[roles]\nross = "responder"\nabe = "approver"\n')
    book = tmp_path / "approved.yaml"
    book.write_text("name: approved\napproval: true\nsteps:\n  - intent: tag_instance\n")
    incident = _open({**env, "CLAMP_ACTOR": "ross"})
    args = ("respond", str(book), "--incident", incident, "--yes", "--format", "json")

    waiting = clamp(env, *args, "--actor", "ross")

    assert waiting.exit_code == 3, waiting.output
    [request] = json.loads(clamp(env, "approvals", "list", "--format", "json").stdout)
    self_approved = clamp(env, "approvals", "approve", request["id"], "--actor", "ross")
    assert self_approved.exit_code == 1 and "four-eyes" in self_approved.output
    approved = clamp(
        env, "approvals", "approve", request["id"], "--actor", "abe", "--format", "json"
    )
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["approved_by"] == "abe"


def test_respond_dry_run_prints_each_steps_plan_and_changes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "none.toml").write_text("")
    incident = _open(env)
    before = clamp(env, "sandbox", "state").stdout

    result = clamp(
        env,
        "respond",
        "quarantine-network-only",
        "--incident",
        incident,
        "--dry-run",
        "--format",
        "json",
    )

    assert result.exit_code == 0, result.output
    steps = json.loads(result.stdout)
    assert [s["intent"] for s in steps] == ["tag_instance", "isolate_instance"]
    assert all(s["plan"]["changes"] for s in steps)
    assert clamp(env, "sandbox", "state").stdout == before
    shown = json.loads(clamp(env, "incident", "show", incident, "--format", "json").stdout)
    assert shown["runs"] == []


def test_respond_on_a_terminal_shows_each_step_as_it_goes(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "none.toml").write_text("")
    incident = _open(env)
    screen = io.StringIO()
    monkeypatch.setattr(
        render, "console", Console(file=screen, force_terminal=True, width=200, highlight=False)
    )

    result = clamp(env, "respond", "quarantine-network-only", "--incident", incident, "--yes")

    assert result.exit_code == 0, result.output
    drawn = screen.getvalue()
    assert "tag_instance: verified" in drawn and "isolate_instance: planned" in drawn


def test_respond_yes_shows_each_steps_plan_and_its_warning_before_running(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "none.toml").write_text("")
    incident = _open(env)

    result = clamp(env, "respond", "revoke-vm-identity", "--incident", incident, "--yes")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("blast radius:") >= 2 and "every workload running as" in out
    assert out.index("blast radius:") < out.index("succeeded")  # shown before the run's result


def test_undo_of_a_run_in_a_table_says_why_a_step_was_not_undone(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "none.toml").write_text("")
    first, second = _open(env), _open(env)
    runs = []
    for incident in (first, second):  # the second run re-tags the VM: drift for the first
        result = clamp(
            env,
            "respond",
            "quarantine-network-only",
            "--incident",
            incident,
            "--yes",
            "--format",
            "json",
        )
        runs.append(json.loads(result.stdout)["run"])
    assert clamp(env, "incident", "close", second).exit_code == 0

    undone = clamp(env, "undo", runs[0], "--yes")

    assert undone.exit_code == 1
    assert "undo failed" in undone.stdout and "changed since" in undone.stdout

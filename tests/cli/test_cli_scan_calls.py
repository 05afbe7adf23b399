"""``clamp scan`` says how many calls each cloud took, retried and throttled."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from clamp.cli.exits import ExitCode
from clamp.cli.main import app
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault

SUB = "00000000-0000-4000-8000-000000000001"


def test_a_scan_prints_the_calls_it_made_retried_and_throttled(tmp_path: Path) -> None:
    with Sandbox(load_state(None)) as box:
        box.state.faults.append(Fault(status=429, retry_after=0, path="Microsoft.ResourceGraph"))
        env = {"CLAMP_SANDBOX_URL": box.url, "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
        shown = CliRunner().invoke(app, ["scan", "--subscription", SUB], env=env)
        report = CliRunner().invoke(
            app, ["scan", "--subscription", SUB, "--format", "json"], env=env
        )

    assert shown.exit_code == ExitCode.OK, shown.output
    assert re.search(r"^azure: \d+ calls \(1 retried, 1 throttled\)$", shown.stdout, re.M)
    calls = json.loads(report.stdout)["calls"]
    assert re.fullmatch(r"\d+ calls \(0 retried, 0 throttled\)", calls["azure"])

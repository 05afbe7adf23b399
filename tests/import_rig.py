"""What the import tests share: a sandbox (the demo estate, plus what a test adds) and the
``clamp`` command run against it with a fresh store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.sandbox.scenario import demo_scenario
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import SandboxState

DATA = Path(__file__).parent / "imports" / "data"
PROWLER_SAMPLE = DATA / "prowler-ocsf.json"
SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"


class Cli:
    """``clamp`` against one sandbox and one store."""

    def __init__(self, sandbox: Sandbox, database: Path) -> None:
        self.sandbox = sandbox
        self.env = {
            "CLAMP_SANDBOX_URL": sandbox.url,
            "CLAMP_DATABASE_URL": f"sqlite:///{database}",
            "CLAMP_ACTOR": "importer",
        }

    def __call__(self, *args: str) -> Any:
        return CliRunner().invoke(app, list(args), env=self.env)

    def json(self, *args: str) -> Any:
        result = self(*args, "--format", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def state(self) -> dict[str, Any]:
        return self.sandbox.state.to_scenario()


def start(tmp_path: Path, extra: dict[str, dict[str, list[dict[str, Any]]]]) -> Iterator[Cli]:
    """The demo estate plus ``extra`` objects (``{"azure"|"gcp": {scope: [objects]}}``)."""
    scenario: dict[str, Any] = demo_scenario()
    for cloud, scopes in extra.items():
        for scope, objects in scopes.items():
            scenario[cloud].setdefault(scope, []).extend(objects)
    with Sandbox(SandboxState.from_scenario(scenario)) as sandbox:
        yield Cli(sandbox, tmp_path / "clamp.db")

"""``clamp`` run in-process against one store and sandbox (the output tests' estate)."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from clamp.cli.main import app


class Cli:
    """``clamp`` run in-process against one store and sandbox."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str) -> Any:
        return CliRunner().invoke(app, list(args), env=self.env)

    def json(self, *args: str) -> Any:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

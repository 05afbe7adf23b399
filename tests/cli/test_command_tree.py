"""``clamp`` builds only the command its command line names (``clamp.cli.command_tree``):
what each command prints is the same as with the whole tree built."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from clamp.cli.command_tree import command_name, for_command
from clamp.cli.main import app


def _paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _paths(sub, (*path, name))


PATHS = list(_paths(typer.main.get_command(app)))


def _output(cli: typer.Typer, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "100", **env})
    return result.exit_code, result.output


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "clamp")
def test_each_command_s_help_is_the_same_with_only_that_command_built(
    path: tuple[str, ...],
) -> None:
    args = [*path, "--help"]
    assert _output(for_command(app, args), args, {}) == _output(app, args, {})


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["audit", "verify"], 0),
        (["--verbose", "audit", "verify"], 0),
        (["findings", "--format", "json", "--status", "resolved"], 0),
        (["findings", "--format", "nope"], 2),
        (["audit", "nope"], 2),
        (["nope"], 2),
        ([], 2),
        (["--version"], 0),
    ],
)
def test_a_command_runs_and_fails_the_same_with_only_it_built(
    tmp_path: Path, args: list[str], exit_code: int
) -> None:
    env = {"CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'clamp.db'}"}
    trimmed = _output(for_command(app, args), args, env)
    assert trimmed == _output(app, args, env)
    assert trimmed[0] == exit_code, trimmed[1]


def test_the_command_is_the_first_word_that_is_not_an_option() -> None:
    assert command_name(["--verbose", "findings", "--format", "json"]) == "findings"
    assert command_name(["--verbose"]) is None
    assert command_name(["--", "findings"]) is None


def test_a_line_naming_no_command_builds_every_command() -> None:
    assert for_command(app, ["--help"]) is app
    assert for_command(app, ["nope"]) is app
    trimmed = for_command(app, ["audit", "verify"])
    assert [group.name for group in trimmed.registered_groups] == ["audit"]
    assert trimmed.registered_commands == []
    assert len(app.registered_groups) > 1  # the app itself is left whole

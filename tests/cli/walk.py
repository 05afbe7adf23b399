"""Walk the ``clamp`` Typer app: every command path with minimal valid arguments.

Run as a script (``python walk.py``) it invokes every command in-process and prints one
JSON object per command: its exit code, stdout, stderr and any exception that escaped
(Click's test runner catches what would have been a traceback).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

# Values for parameters by name; anything else gets a value for its type.
BY_NAME = {
    "playbook": "contain-compromised-vm",
    "finding_id": "f-0000",
    "action_id": "act-0000",
    "incident": "inc-0000",
    "reason": "testing",
    "resource": "/subscriptions/0/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v",
    "summary": "testing",
    "name": "a-rule",
    "framework_id": "nist-csf-2.0",
    "subscription": "projects/p/subscriptions/s",
    "provider": "azure",
    "endpoint": "https://clamp.example.com",
}

CHOSEN = {("flows", "ingest"): ["--azure-storage", "clampflowlogs"]}
"""Commands whose arguments are each optional but one of them is needed: the one taken."""


def command_paths(app: typer.Typer) -> list[tuple[str, ...]]:
    """Every runnable command of the app, as the words that name it."""
    root = typer.main.get_command(app)

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, (*path, name))
        else:
            yield path

    return list(walk(root, ()))


def _command(app: typer.Typer, path: tuple[str, ...]) -> Any:
    command: Any = typer.main.get_command(app)
    for word in path:
        command = command.commands[word]
    return command


def _value(param: Any, scratch: Path) -> str:
    if param.name in BY_NAME:
        return BY_NAME[param.name]
    kind = param.type.name  # the click type Typer made for the annotation
    if kind == "choice":
        return str(param.type.choices[0])
    if kind == "path":
        path = scratch / f"{param.name}.yaml"
        path.write_text("{}\n")
        return str(path)
    if kind in ("int", "int range"):
        return "1"
    if kind == "datetime":
        return "2030-01-01"
    return "x"


def minimal_args(app: typer.Typer, path: tuple[str, ...], scratch: Path) -> list[str]:
    """The command's words plus a value for each required argument and option."""
    args = [*path, *CHOSEN.get(path, [])]
    for param in _command(app, path).params:
        if param.name == "yes":
            args.append("--yes")  # get past the confirmation to what the command does
        if not param.required:
            continue
        if param.param_type_name == "option":
            args += [param.opts[0], _value(param, scratch)]
        else:
            args.append(_value(param, scratch))
    return args


def main() -> None:
    """Run the commands named on stdin (a JSON list of paths); print their outcomes."""
    from clamp.cli.main import app

    paths = [tuple(p) for p in json.load(sys.stdin)]
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            args = minimal_args(app, path, Path(tmp))
            result = CliRunner().invoke(app, args)
            escaped = result.exception
            if isinstance(escaped, SystemExit):
                escaped = None
            print(
                json.dumps(
                    {
                        "path": list(path),
                        "args": args,
                        "exit_code": result.exit_code,
                        "stdout": result.stdout,
                        "stderr": result.stderr,
                        "exception": repr(escaped) if escaped is not None else None,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()

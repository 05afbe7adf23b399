"""Typer builds the Click command of every command and option of ``clamp`` before it runs
one (inspecting each function's signature and type hints): about 0.18 G instructions, a
tenth of ``clamp findings``. ``for_command`` gives a copy of the app that holds only the
command (or group) the command line names, so a start builds that one; with no name, or
one that is not a command, the whole tree is built, as for ``clamp --help`` and Click's
"No such command" with its suggestions. What a command prints is the same either way."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import typer
from typer.main import get_command_name


def command_name(args: Sequence[str]) -> str | None:
    """The command the arguments name: the first that is not an option (the top level's
    options, ``--verbose`` and ``--version``, take no value); None when there is none."""
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def for_command(app: typer.Typer, args: Sequence[str]) -> typer.Typer:
    """``app`` with only the command or group that ``args`` name (``app`` itself when they
    name none of them)."""
    name = command_name(args)
    commands = [
        info
        for info in app.registered_commands
        if info.callback is not None
        and (info.name or get_command_name(info.callback.__name__)) == name
    ]
    groups = [info for info in app.registered_groups if info.name == name]
    if name is None or len(commands) + len(groups) != 1:
        return app
    trimmed = copy.copy(app)
    trimmed.registered_commands, trimmed.registered_groups = commands, groups
    return trimmed

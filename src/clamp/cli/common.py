"""What the command modules share: one-line errors, the context, format and actor options,
and the confirmation prompt."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer

from clamp.cli.context import Context
from clamp.config import Settings
from clamp.errors import ClampError, InputError

F = TypeVar("F", bound=Callable[..., Any])
FormatOpt = Annotated[str, typer.Option("--format", help="table or json")]


def one_line_errors(func: F) -> F:
    """Turn Clamp's errors into one line on stderr and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClampError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="who is acting (default: CLAMP_ACTOR or the user)")
]


def context(actor: str | None = None) -> Context:
    """The command's context from the environment (acting as ``actor`` when given)."""
    settings = Settings.from_env()
    return Context(replace(settings, actor=actor) if actor else settings)


def check_format(fmt: str) -> None:
    """Refuse an unknown ``--format``."""
    if fmt not in ("table", "json"):
        raise InputError(f"unknown format {fmt!r}; valid: table, json")


def confirm(question: str, yes: bool) -> None:
    """Ask ``question`` unless ``yes``; refuse when there is no terminal to ask on."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError("confirmation needed and no terminal to ask on; re-run with --yes")
    if not typer.confirm(question, default=False):
        raise InputError("not confirmed; nothing was changed")

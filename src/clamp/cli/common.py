"""What the command modules share: one-line errors (the cause chain under ``--verbose``),
the context, format and actor options, usage errors and the confirmation prompt."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer

from clamp.cli.context import Context
from clamp.cli.exits import ExitCode
from clamp.config import Settings
from clamp.errors import ClampError, InputError

F = TypeVar("F", bound=Callable[..., Any])
FormatOpt = Annotated[str, typer.Option("--format", help="table or json")]
ReportFormatOpt = Annotated[
    str, typer.Option("--format", help="table, json, csv, ocsf (OCSF 1.5 events) or html")
]


class UsageError(InputError):
    """The command line itself is wrong (unknown format, check id or intent, a malformed
    ``--param``): exit code 2, like Click's own usage errors."""


class Verbosity:
    """Whether ``clamp --verbose`` asked for errors' cause chains (set by the app callback)."""

    verbose = False
    _quiet = logging.NullHandler()
    # The SDKs log their failures (azure-identity: a many-line credential report) at WARNING;
    # with no handler, Python's last-resort handler would print them on stderr.
    _sdk_loggers = ("azure", "msal", "google", "googleapiclient", "urllib3", "httpx", "kiota")

    @classmethod
    def set(cls, verbose: bool) -> None:
        """Show the SDKs' own log warnings only under ``--verbose``."""
        cls.verbose = verbose
        for name in cls._sdk_loggers:
            logger = logging.getLogger(name)
            if verbose:
                logger.removeHandler(cls._quiet)
            elif cls._quiet not in logger.handlers:
                logger.addHandler(cls._quiet)


def error_lines(exc: BaseException, verbose: bool) -> list[str]:
    """``error: …``, then under ``verbose`` each ``__cause__`` on its own line."""
    lines = [f"error: {exc}"]
    cause = exc.__cause__ if verbose else None
    while cause is not None:
        text = " ".join(str(cause).split())
        lines.append(f"  caused by {type(cause).__module__}.{type(cause).__qualname__}: {text}")
        cause = cause.__cause__
    return lines


def one_line_errors(func: F) -> F:
    """Turn Clamp's errors into one line on stderr (the causes too under ``--verbose``) and
    exit code 1 (2 for a usage error)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClampError as exc:
            for line in error_lines(exc, Verbosity.verbose):
                typer.echo(line, err=True)
            code = ExitCode.USAGE if isinstance(exc, UsageError) else ExitCode.ERROR
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="who is acting (default: CLAMP_ACTOR or the user)")
]


def context(actor: str | None = None) -> Context:
    """The command's context from the environment (acting as ``actor`` when given)."""
    settings = Settings.from_env()
    return Context(replace(settings, actor=actor) if actor else settings)


def check_format(fmt: str, valid: Iterable[str] = ("table", "json")) -> None:
    """Refuse an unknown ``--format`` (a usage error)."""
    valid = tuple(valid)
    if fmt not in valid:
        raise UsageError(f"unknown format {fmt!r}; valid: {', '.join(valid)}")


def params_of(texts: Iterable[str] | None) -> dict[str, Any]:
    """``--param KEY=VALUE`` options as a dict; a malformed one is a usage error."""
    from clamp.actions.params import parse_param  # the action engine loads with the command

    try:
        return dict(parse_param(p) for p in texts or ())
    except InputError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None


def confirm(question: str, yes: bool) -> None:
    """Ask ``question`` unless ``yes``; refuse when there is no terminal to ask on."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError("confirmation needed and no terminal to ask on; re-run with --yes")
    if not typer.confirm(question, default=False):
        raise InputError("not confirmed; nothing was changed")

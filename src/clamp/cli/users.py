"""``clamp users``: the service's users, their roles, passwords and API tokens.

The command line acts with the database's rights: whoever can run it against the store
(``CLAMP_DATABASE_URL``) can add an admin, so only the service's operators should.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from clamp.cli import render
from clamp.cli.common import FormatOpt, check_format, context, one_line_errors
from clamp.errors import InputError
from clamp.fields import parse_duration
from clamp.store.codec import iso

if TYPE_CHECKING:
    from clamp.users import Accounts

users_app = typer.Typer(help="Users of the service, their roles and tokens.", no_args_is_help=True)
RoleOpt = Annotated[
    list[str], typer.Option("--role", help="viewer, remediator, responder, approver or admin")
]
ExpiresOpt = Annotated[
    str | None, typer.Option("--expires", help="the token stops working after this (e.g. 90d)")
]
PasswordOpt = Annotated[
    bool, typer.Option("--password-stdin", help="read a console password from standard input")
]


def _accounts() -> tuple[Accounts, str]:
    from clamp.users import Accounts  # argon2 loads only for these commands

    ctx = context()
    return Accounts(ctx.store), ctx.settings.actor


def _password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError("--password-stdin: standard input held no password")
    return password


@users_app.command("add")
@one_line_errors
def add(
    name: str,
    role: RoleOpt,
    password_stdin: PasswordOpt = False,
    expires: ExpiresOpt = None,
) -> None:
    """Add a user; prints their API token once, as CLAMP_TOKEN=<token>."""
    accounts, actor = _accounts()
    ttl = parse_duration(expires, "--expires") if expires else None
    token = accounts.add(name, role, actor=actor, password=_password(password_stdin), expires=ttl)
    print(f"CLAMP_TOKEN={token}")


@users_app.command("token")
@one_line_errors
def token(name: str, expires: ExpiresOpt = None) -> None:
    """A new API token for a user (their other tokens keep working)."""
    accounts, actor = _accounts()
    ttl = parse_duration(expires, "--expires") if expires else None
    print(f"CLAMP_TOKEN={accounts.issue_token(name, actor=actor, expires=ttl)}")


@users_app.command("password")
@one_line_errors
def password(name: str) -> None:
    """Set a user's console password, read from standard input."""
    accounts, actor = _accounts()
    accounts.set_password(name, _password(True) or "", actor=actor)
    render.console.print(f"password of {name} set")


@users_app.command("roles")
@one_line_errors
def roles(name: str, role: RoleOpt) -> None:
    """Replace a user's roles."""
    accounts, actor = _accounts()
    user = accounts.set_roles(name, role, actor=actor)
    render.console.print(f"{name}: {', '.join(user.roles)}")


@users_app.command("disable")
@one_line_errors
def disable(name: str) -> None:
    """Disable a user: their tokens and console sessions stop working at once."""
    _set_disabled(name, True)


@users_app.command("enable")
@one_line_errors
def enable(name: str) -> None:
    """Enable a disabled user again."""
    _set_disabled(name, False)


def _set_disabled(name: str, disabled: bool) -> None:
    accounts, actor = _accounts()
    accounts.set_disabled(name, disabled, actor=actor)
    render.console.print(f"{name} is {'disabled' if disabled else 'enabled'}")


@users_app.command("list")
@one_line_errors
def list_users(fmt: FormatOpt = "table") -> None:
    """Every user, their roles and whether they can sign in."""
    from rich.table import Table

    check_format(fmt)
    accounts, _actor = _accounts()
    users = accounts.users()
    if fmt == "json":
        render.print_json(
            [
                {
                    "name": u.name,
                    "roles": list(u.roles),
                    "disabled": u.disabled,
                    "console": u.password_hash is not None,
                    "created": iso(u.created),
                    "tokens": len(accounts.book.tokens(u.name)),
                }
                for u in users
            ]
        )
        return
    table = Table(title=f"{len(users)} user(s)")
    for column in ("name", "roles", "console sign-in", "tokens", "state"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.name,
            ", ".join(u.roles),
            "yes" if u.password_hash else "no",
            str(len(accounts.book.tokens(u.name))),
            "disabled" if u.disabled else "enabled",
        )
    render.console.print(table)

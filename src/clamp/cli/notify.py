"""``clamp notify``: deliver the outbox's notices, list the dead letters, retry them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from clamp.cli import render
from clamp.cli.common import FormatOpt, check_format, context, one_line_errors
from clamp.errors import InputError
from clamp.fields import parse_duration

notify_app = typer.Typer(
    help="Outbound notifications: deliver, list the dead letters, retry.", no_args_is_help=True
)


@notify_app.command("send")
@one_line_errors
def send() -> None:
    """Deliver what the outbox holds to the [[notify.sinks]] once (what is due now)."""
    from clamp.notify.dispatcher import Dispatcher

    ctx = context()
    if not ctx.settings.notify.sinks:
        waiting = ctx.store.notices.unrouted()
        render.console.print(
            f"no sinks configured ([[notify.sinks]] in clamp.toml); {waiting} notice(s) wait"
        )
        return
    dispatcher = Dispatcher(ctx.store, ctx.settings)
    try:
        report = dispatcher.drain()
    finally:
        dispatcher.close()
    render.console.print(
        f"routed {report.routed}, delivered {report.delivered}, "
        f"retrying {report.retrying}, dead {report.dead}"
    )


@notify_app.command("failed")
@one_line_errors
def failed(fmt: FormatOpt = "table") -> None:
    """The dead letters: deliveries that ran out of attempts or were refused."""
    from rich.table import Table

    from clamp.store.notice_records import DeliveryStatus

    check_format(fmt)
    dead = context().store.notices.deliveries(DeliveryStatus.DEAD)
    if fmt == "json":
        render.print_json([d.to_json() for d in dead])
        return
    table = Table(title=f"{len(dead)} dead letter(s)")
    for column in ("id", "sink", "kind", "subject", "attempts", "last error"):
        table.add_column(column)
    for d in dead:
        table.add_row(str(d.id), d.sink, d.notice.kind, d.notice.subject, str(d.attempts), d.error)
    render.console.print(table)


@notify_app.command("retry")
@one_line_errors
def retry(
    delivery: Annotated[int | None, typer.Argument(help="a dead letter's id")] = None,
    every: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
) -> None:
    """Make a dead letter (or --all) due again; `clamp notify send` then delivers it."""
    if (delivery is None) == (not every):
        raise InputError("give a dead letter's id or --all (see `clamp notify failed`)")
    count = context().store.notices.retry(delivery, datetime.now(UTC))
    render.console.print(f"{count} dead letter(s) due again")


@notify_app.command("prune")
@one_line_errors
def prune(
    older_than: Annotated[
        str, typer.Option("--older-than", help="delete delivered notices older than this")
    ] = "30d",
) -> None:
    """Delete the notices delivered everywhere they were wanted, older than --older-than
    (dead letters and notices still being tried are kept)."""
    age = parse_duration(older_than, "--older-than")
    count = context().store.notices.prune(datetime.now(UTC) - age)
    render.console.print(f"{count} delivered notice(s) older than {older_than} deleted")

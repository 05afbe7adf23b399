"""``clamp events``: what cloud change events did — the figures the service serves at
``GET /api/v1/events/stats``, read from the same store — and ``clamp events pull``, the
pull mode for installs without a public HTTPS endpoint (``clamp.events.pull``)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from clamp.cli import render
from clamp.cli.common import FormatOpt, UsageError, check_format, context, one_line_errors

events_app = typer.Typer(
    help="Cloud change events: their figures, and pulling them from Pub/Sub.",
    no_args_is_help=True,
)
PULL_COUNTS = ("received", "stored", "duplicates", "ignored", "acknowledged", "processed")
IDLE_SECONDS = 1.0
"""How long ``clamp events pull`` waits after a pull that brought nothing."""
COUNTS = ("received", "rejected", "duplicates", "ignored", "processed")
LATENCIES = {
    "latency_ms": "receipt → action call issued",
    "processing_ms": "receipt → findings updated",
    "cloud_delay_ms": "cloud eventTime → receipt",
}


@events_app.command("stats")
@one_line_errors
def stats(fmt: FormatOpt = "table") -> None:
    """Deliveries received, rejected, duplicated and processed, and p50/p95/p99 latencies."""
    from rich.table import Table

    check_format(fmt)
    from clamp.events.stats import event_stats

    figures = event_stats(context().store)
    if fmt == "json":
        render.print_json(figures)
        return
    counts = Table(title="events")
    for name in COUNTS:
        counts.add_column(name, justify="right")
    counts.add_row(*(str(figures.get(n, 0)) for n in COUNTS))
    render.console.print(counts)
    latencies = Table(title="latencies (ms, over the recent events)")
    for column in ("interval", "p50", "p95", "p99"):
        latencies.add_column(column, justify="left" if column == "interval" else "right")
    for key, label in LATENCIES.items():
        values = figures.get(key)
        row = values if isinstance(values, dict) else {}
        latencies.add_row(label, *(_ms(row.get(p)) for p in ("p50", "p95", "p99")))
    render.console.print(latencies)


def _ms(value: object) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float | int) else str(value)


@events_app.command("pull")
@one_line_errors
def pull(
    subscription: Annotated[
        str, typer.Option("--subscription", help="projects/P/subscriptions/S (a pull one)")
    ],
    max_messages: Annotated[
        int, typer.Option("--max-messages", help="at most this many messages a pull (1-1000)")
    ] = 100,
    once: Annotated[bool, typer.Option("--once", help="one pull, then exit (tests, cron)")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Pull Google Cloud change events from a Pub/Sub subscription: each is stored (once)
    before it is acknowledged, then processed like a push delivery."""
    from rich.table import Table

    check_format(fmt)
    if not 1 <= max_messages <= 1000:
        raise UsageError("--max-messages is between 1 and 1000 (Pub/Sub's limit for a pull)")
    from clamp.errors import InputError
    from clamp.events.pull import PullCounts, local_intake, pull_round
    from clamp.providers.gcp.clients import GcpClients
    from clamp.providers.gcp.pubsub_pull import SubscriptionPuller

    ctx = context()
    try:
        puller = SubscriptionPuller(GcpClients(ctx.settings), subscription)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    intake = local_intake(ctx.store, ctx.drivers, ctx.settings)
    total = PullCounts()
    try:
        while True:
            counts = pull_round(puller, intake, max_messages)
            total.add(counts)
            if once:
                break
            if not counts.received:
                time.sleep(IDLE_SECONDS)
    except KeyboardInterrupt:
        pass
    figures = {name: getattr(total, name) for name in PULL_COUNTS}
    if fmt == "json":
        render.print_json(figures)
        return
    table = Table(title=f"pulled from {subscription}")
    for name in PULL_COUNTS:
        table.add_column(name, justify="right")
    table.add_row(*(str(figures[n]) for n in PULL_COUNTS))
    render.console.print(table)


@events_app.command("setup")
@one_line_errors
def setup(
    provider: Annotated[str, typer.Option("--provider", help="azure or gcp")],
    endpoint: Annotated[
        str,
        typer.Option("--endpoint", help="the service's public URL, e.g. https://clamp.example.com"),
    ],
    subscription: Annotated[
        str | None, typer.Option("--subscription", help="the Azure subscription id")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="the Google Cloud project id")
    ] = None,
    resource_group: Annotated[
        str | None,
        typer.Option("--resource-group", help="Azure: where to create the system topic if none"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the plan, change nothing")
    ] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Create the cloud side of change events through the SDKs — Azure: an Event Grid
    subscription on the subscription's system topic; Google Cloud: a topic, a log sink,
    its grant and a push subscription with OIDC. Prints the plan first; idempotent."""
    check_format(fmt)
    from clamp.cli.events_setup import plan_setup, run_setup

    ctx = context()
    made_setup = plan_setup(ctx.settings, provider, endpoint, subscription, project, resource_group)
    plan = made_setup.plan()
    run_setup(ctx, made_setup, plan, dry_run=dry_run, fmt=fmt)

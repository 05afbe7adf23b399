"""``clamp events``: what cloud change events did — the figures the service serves at
``GET /api/v1/events/stats``, read from the same store."""

from __future__ import annotations

import typer
from rich.table import Table

from clamp.cli import render
from clamp.cli.common import FormatOpt, check_format, context, one_line_errors

events_app = typer.Typer(help="Cloud change events: their figures.", no_args_is_help=True)
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

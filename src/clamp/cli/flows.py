"""``clamp flows ingest``: flow logs from files and folders (Azure ``PT1H.json`` blobs,
GCP LogEntries as a JSON array or NDJSON, any mix) or from an Azure storage account's
flow-log containers, once or ``--follow``-ing them; only aggregates are kept."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clamp.cli import render
from clamp.cli.common import FormatOpt, UsageError, check_format, context, one_line_errors

if TYPE_CHECKING:
    from clamp.events.flows.fold import IngestSummary

flows_app = typer.Typer(
    help="Network flow logs: ingest them (aggregates only).", no_args_is_help=True
)
FOLLOW_SECONDS = 60.0
"""How often ``--follow`` polls the storage account(s) by default."""


@flows_app.command("ingest")
@one_line_errors
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="flow-log files or folders (Azure PT1H.json, GCP LogEntries)"),
    ] = None,
    azure_storage: Annotated[
        list[str] | None,
        typer.Option("--azure-storage", help="a storage account with flow-log containers"),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="keep polling the storage account(s) until stopped")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="seconds between polls with --follow")
    ] = FOLLOW_SECONDS,
    fmt: FormatOpt = "table",
) -> None:
    """Ingest flow logs into the store's aggregates and print a summary."""
    check_format(fmt)
    ctx = context()
    config = ctx.settings.flows
    accounts = list(azure_storage or ())
    if follow and not accounts:
        accounts = list(config.storage_accounts)
    if paths and (accounts or follow):
        raise UsageError("give PATH or --azure-storage ACCOUNT (--follow), not both")
    if not paths and not accounts:
        raise UsageError(
            "give a PATH, or --azure-storage ACCOUNT (or [flows] storage_accounts with --follow)"
        )
    if interval <= 0:
        raise UsageError("--interval is a positive number of seconds")
    if paths:
        from clamp.events.flows.ingest import ingest_paths

        _print(ingest_paths(ctx.store, config, paths), fmt)
        return
    from clamp.events.flows.storage import ingest_storage
    from clamp.providers.azure.clients import AzureClients
    from clamp.providers.azure.flowlog_blobs import FlowLogBlobs

    clients = AzureClients(ctx.settings)
    readers = [FlowLogBlobs(clients, account) for account in accounts]
    while True:
        for reader in readers:
            _print(ingest_storage(ctx.store, config, reader), fmt, reader.account)
        if not follow:
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return


def _print(summary: IngestSummary, fmt: str, account: str | None = None) -> None:
    from rich.table import Table

    data: dict[str, Any] = summary.as_json()
    if account:
        data = {"account": account, **data}
    if fmt == "json":
        render.print_json(data)
        return
    table = Table(title=f"flows ingested{f' from {account}' if account else ''}")
    for column in ("files", "tuples", "new aggregates", "skipped", "from", "to"):
        table.add_column(column, justify="right" if column not in ("from", "to") else "left")
    table.add_row(
        str(data["files"]),
        str(data["tuples"]),
        str(data["new_aggregates"]),
        str(data["skipped"]),
        f"{summary.first:%Y-%m-%d %H:%M}" if summary.first else "—",
        f"{summary.last:%Y-%m-%d %H:%M}" if summary.last else "—",
    )
    render.console.print(table)
    covered = data["coverage"]
    render.console.print(
        f"coverage: {len(covered)} logged resource(s)"
        + "".join(f"\n  {resource}" for resource in covered)
    )

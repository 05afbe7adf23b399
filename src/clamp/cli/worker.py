"""``clamp worker``: a Celery worker for the scans, fixes, undos, rule runs and events the
service or ``clamp scan --workers`` sends (``clamp.workers``)."""

from __future__ import annotations

from typing import Annotated

import typer

from clamp.cli.common import context, one_line_errors


@one_line_errors
def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="worker processes (default: 2)")
    ] = 2,
    queues: Annotated[
        list[str] | None,
        typer.Option("--queues", "-Q", help="queues to consume (default: [workers] queue, clamp)"),
    ] = None,
    hostname: Annotated[
        str | None, typer.Option("--hostname", "-n", help="node name (default: celery@HOST)")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery's log level")] = "INFO",
) -> None:
    """Run a Celery worker on the broker of [workers] (or CLAMP_BROKER_URL) until stopped."""
    from clamp.workers.app import make_app, preload

    ctx = context()
    app = make_app(ctx.settings)
    ctx.store.close()  # migrated (and left settled) once here; each process opens its own
    preload()  # the pool processes fork from here: they start with the SDKs imported
    default = ctx.settings.workers.queue if ctx.settings.workers else "clamp"
    names = [q for item in queues or [default] for q in item.split(",") if q]
    app.Worker(
        concurrency=concurrency,
        queues=names,
        hostname=hostname,
        loglevel=loglevel,
        pool="prefork",
        quiet=True,
    ).start()

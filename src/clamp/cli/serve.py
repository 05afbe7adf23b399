"""``clamp serve``: the console, the REST API and the scheduler in one process."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from clamp.cli.common import one_line_errors
from clamp.config import Settings
from clamp.errors import InputError


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@one_line_errors
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 picks a free one)")] = 8765,
    demo: Annotated[
        bool, typer.Option("--demo", help="the built-in sandbox, demo users, a first scan")
    ] = False,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM)")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
) -> None:
    """Serve the console, the REST API and the scheduler; the first line is CLAMP_URL=…."""
    from clamp.api.server import Listener, run

    if (tls_cert is None) != (tls_key is None):
        raise InputError("--tls-cert and --tls-key go together")
    if not _loopback(host) and tls_cert is None:
        typer.echo(
            f"warning: serving plain HTTP on {host}; put TLS in front (see the README)", err=True
        )
    listener = Listener(host, port, tls_cert, tls_key)
    run(Settings.from_env(), listener, demo=demo, say=lambda line: print(line, flush=True))

"""``clamp import prowler|scc|defender``: other tools' findings mapped to Clamp's checks
and kept as findings Clamp fixes only after its own read confirms them; what cannot be
mapped is listed, never dropped (exit 0 either way)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clamp.cli import render
from clamp.cli.common import FormatOpt, check_format, context, one_line_errors

# The importers, the mapping, the store and the table load when an import runs (a fast
# start for the rest).
if TYPE_CHECKING:
    from clamp.cli.context import Context
    from clamp.imports.interface import ExternalFinding, ImportResult
    from clamp.imports.mapping import Resolver

import_app = typer.Typer(
    help="Import other tools' findings (Prowler, Security Command Center, Defender for Cloud).",
    no_args_is_help=True,
)


@import_app.command("prowler")
@one_line_errors
def import_prowler(
    file: Annotated[Path, typer.Argument(help="Prowler's OCSF JSON output (-M json-ocsf)")],
    fmt: FormatOpt = "table",
) -> None:
    """Import the failing findings of a Prowler OCSF JSON file."""
    from clamp.imports.interface import Source
    from clamp.imports.mapping import map_findings
    from clamp.imports.prowler import read_prowler

    check_format(fmt)
    ctx = context()
    read = read_prowler(file)
    result = map_findings(
        Source.PROWLER, read.failing, passed=read.passed, resolvers=_resolvers(ctx)
    )
    _finish(ctx, result, str(file), fmt)


@import_app.command("scc")
@one_line_errors
def import_scc(
    organization: Annotated[
        str, typer.Option(help="the organization id whose active findings are read")
    ],
    fmt: FormatOpt = "table",
) -> None:
    """Import the active findings of Security Command Center (every source)."""
    from clamp.imports.interface import Source
    from clamp.imports.mapping import map_findings
    from clamp.providers.gcp.scc import active_findings

    check_format(fmt)
    ctx = context()
    found = active_findings(ctx.settings, organization)
    result = map_findings(Source.SCC, found, resolvers=_resolvers(ctx))
    _finish(ctx, result, f"organizations/{organization}", fmt)


@import_app.command("defender")
@one_line_errors
def import_defender(
    subscription: Annotated[str, typer.Option(help="the subscription whose assessments are read")],
    fmt: FormatOpt = "table",
) -> None:
    """Import the unhealthy assessments of Microsoft Defender for Cloud."""
    from clamp.imports.interface import Source
    from clamp.imports.mapping import map_findings
    from clamp.providers.azure.defender import unhealthy_assessments

    check_format(fmt)
    ctx = context()
    found, healthy = unhealthy_assessments(ctx.settings, subscription)
    result = map_findings(Source.DEFENDER, found, passed=healthy, resolvers=_resolvers(ctx))
    _finish(ctx, result, f"/subscriptions/{subscription}", fmt)


def _resolvers(ctx: Context) -> dict[str, Resolver]:
    """How a ``via:`` mapping finds the resources Clamp judges (read from the cloud)."""

    def vm_nsgs(found: ExternalFinding) -> list[str]:
        from clamp.providers.azure.defender import vm_network_security_groups

        return vm_network_security_groups(ctx.settings, found.resource)

    return {"vm-network-security-groups": vm_nsgs}


def _finish(ctx: Context, result: ImportResult, origin: str, fmt: str) -> None:
    from rich.table import Table

    from clamp.imports.record import record_import
    from clamp.plan_text import short_resource
    from clamp.store.codec import finding_to_json

    record_import(ctx.store, result, actor=ctx.settings.actor, origin=origin)
    if fmt == "json":
        render.print_json(
            {
                "source": str(result.source),
                "mapped": [finding_to_json(f) for f in result.mapped],
                "already_found": result.already_found,
                "unmapped": [{**u.finding.to_json(), "reason": u.reason} for u in result.unmapped],
                "passed": result.passed,
            }
        )
        return
    render.console.print(
        f"{result.source}: {len(result.mapped)} finding(s) mapped to Clamp's checks "
        f"({len(result.already_found)} already found by Clamp), {len(result.unmapped)} "
        f"unmapped, {result.passed} passing or not applicable"
    )
    if result.mapped:
        table = Table(title="imported (fixed only once Clamp's own read confirms them)")
        table.add_column("id", no_wrap=True)
        for column in ("check", "severity", "resource", "reported as"):
            table.add_column(column, overflow="fold")
        for finding in result.mapped:
            rules = ", ".join(str(e["rule"]) for e in finding.details["external"])
            table.add_row(
                finding.id, finding.check, finding.severity, short_resource(finding.resource), rules
            )
        render.console.print(table)
    for item in result.unmapped:
        f = item.finding
        where = f.resource or f.name or "?"
        render.console.print(f"unmapped: {f.rule} on {where}: {item.reason}", markup=False)

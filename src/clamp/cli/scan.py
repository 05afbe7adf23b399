"""``clamp scan`` and ``clamp findings``: what to scan with which checks, what was found,
and the exit codes CI relies on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clamp.cli import render
from clamp.cli.common import (
    FormatOpt,
    ReportFormatOpt,
    UsageError,
    check_format,
    context,
    one_line_errors,
)
from clamp.cli.exits import ExitCode
from clamp.errors import ClampError, InputError, PermissionDenied, ResourceNotFound
from clamp.model import FindingStatus, Provider, Severity
from clamp.store.codec import action_to_json, finding_to_json, scan_summary_to_json

# The checks, the scanner and its progress bar load when ``clamp scan`` runs (``findings``
# and ``finding`` read the store only).
if TYPE_CHECKING:
    from clamp.providers.interface import CloudDriver
    from clamp.scanning import ScanResult

SCOPE_UNREADABLE = (PermissionDenied, ResourceNotFound)
"""A scope asked for (or listed) that this credential may not read: the scan is incomplete
(exit 4). With nothing scanned, anything else — scopes that could not be listed, no
credentials, the cloud unreachable — is an error (exit 1)."""
FailOnOpt = Annotated[
    Severity | None,
    typer.Option(
        "--fail-on", help="exit 3 when an open finding is at or above this severity (for CI)"
    ),
]


def select_checks(
    checks: Sequence[str], excluded: Sequence[str], severities: Sequence[Severity]
) -> set[str] | None:
    """The ids of the checks to run (None: every check); an unknown id is a usage error."""
    if not checks and not excluded and not severities:
        return None
    from clamp.checks import CHECKS

    valid = CHECKS.names()
    unknown = sorted({*checks, *excluded} - set(valid))
    if unknown:
        raise UsageError(f"unknown check(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    chosen = {
        name
        for name, check in CHECKS
        if (not checks or name in checks)
        and name not in excluded
        and (not severities or check.severity in severities)
    }
    if not chosen:
        raise UsageError("the --check, --exclude-check and --severity options select no check")
    return chosen


def at_or_above(severity: Severity, threshold: Severity | None) -> bool:
    """Whether ``severity`` reaches ``--fail-on`` (never when it is not given)."""
    return threshold is not None and severity.rank >= threshold.rank


class NothingScanned(ClampError):
    """No scope could be read: every provider's listing (or every scope) failed."""

    def __init__(self, errors: Sequence[str], failures: Sequence[ClampError]) -> None:
        super().__init__("nothing was scanned: " + "; ".join(errors))
        self.__cause__ = failures[0] if failures else None


def _projects_under(drivers: Callable[[Provider], CloudDriver], parents: list[str]) -> list[str]:
    """The projects of each GCP organization or folder in ``parents`` (the GCP driver lists
    them through Cloud Asset Inventory, and collects them from that one listing)."""
    if not parents:
        return []
    from clamp.providers.gcp.driver import GcpDriver

    driver = drivers(Provider.GCP)
    if not isinstance(driver, GcpDriver):
        raise InputError("--scope names Google Cloud organizations or folders")
    return [p for parent in parents for p in driver.projects_under(parent)]


@one_line_errors
def scan(
    provider: Annotated[list[Provider] | None, typer.Option(help="azure or gcp")] = None,
    subscription: Annotated[
        list[str] | None, typer.Option(help="Azure subscription id, or tenant:<id>")
    ] = None,
    project: Annotated[
        list[str] | None, typer.Option(help="GCP project id, or customer:<id>")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="GCP organizations/N or folders/N: every project under it"),
    ] = None,
    input: Annotated[
        list[Path] | None,
        typer.Option("--input", help="offline export file or folder (repeat for several)"),
    ] = None,
    check: Annotated[list[str] | None, typer.Option("--check", help="only this check")] = None,
    exclude_check: Annotated[
        list[str] | None, typer.Option("--exclude-check", help="not this check")
    ] = None,
    severity: Annotated[
        list[Severity] | None, typer.Option("--severity", help="only checks of this severity")
    ] = None,
    fail_on: FailOnOpt = None,
    fmt: FormatOpt = "table",
    workers: Annotated[
        bool,
        typer.Option(
            "--workers", help="fan out to `clamp worker`s, one task per subscription/project"
        ),
    ] = False,
) -> None:
    """Collect resources, evaluate the checks and record findings.

    Exit 0 done, 1 nothing could be scanned (credentials, network), 3 open findings at or
    above --fail-on, 4 a scope could not be read (denied, not found)."""
    from clamp.cli.scan_bar import ScanBar
    from clamp.scanning import scan_clouds, scan_files

    check_format(fmt)
    checks = select_checks(check or [], exclude_check or [], severity or [])
    ctx = context()
    if input and workers:
        raise UsageError("--workers scans clouds; an --input export is read here")
    if input:
        result = scan_files(ctx.settings, ctx.store, input, checks)
    else:
        projects = list(project or []) + _projects_under(ctx.drivers, scope or [])
        providers = provider or (
            [Provider.AZURE]
            if subscription and not projects
            else [Provider.GCP]
            if projects and not subscription
            else list(Provider)
        )
        scopes = {Provider.AZURE: subscription or [], Provider.GCP: projects}
        with render.progress_bar(fmt, bar=True) as progress:
            if workers:
                from clamp.workers.app import make_app
                from clamp.workers.fanout import scan_on_workers

                app = make_app(ctx.settings)
                result = scan_on_workers(
                    ctx.store, app, ctx.drivers, providers, scopes, ScanBar(progress), checks
                )
            else:
                result = scan_clouds(
                    ctx.settings,
                    ctx.store,
                    ctx.drivers,
                    providers,
                    scopes,
                    ScanBar(progress),
                    checks,
                    flows=ctx.flow_history,
                )
    unreadable = all(isinstance(f, SCOPE_UNREADABLE) for f in result.failures)
    if not result.scopes and result.errors and (result.unlisted or not unreadable):
        if fmt == "json":
            _print_scan(result, fmt)
        raise NothingScanned(result.errors, result.failures)
    _print_scan(result, fmt)
    if fail_on is not None:
        open_ids = {r.id for r in ctx.store.findings(status=FindingStatus.OPEN)}
        if any(f.id in open_ids and at_or_above(f.severity, fail_on) for f in result.findings):
            raise typer.Exit(ExitCode.FINDINGS)
    if result.errors:
        raise typer.Exit(ExitCode.INCOMPLETE)


def _print_scan(result: ScanResult, fmt: str) -> None:
    summary = result.summary
    if fmt == "json":
        render.print_json(
            {
                "scopes": [{"provider": p, "scope": s} for p, s in result.scopes],
                "resources": result.resources,
                "findings": len(result.findings),
                "checks": result.checks,
                "errors": result.errors,
                "skipped": [
                    {"provider": p, "scope": s, "reason": why} for p, s, why in result.skipped
                ],
                "summary": scan_summary_to_json(summary) if summary else None,
                "calls": {str(p): calls for p, calls in result.calls},
            }
        )
        return
    render.console.print(
        f"scanned {len(result.scopes)} scope(s), {result.resources} "
        f"resource(s): {len(result.findings)} finding(s)" + (f" — {summary}" if summary else "")
    )
    for provider, calls in result.calls:
        render.console.print(f"{provider}: {calls}")
    for provider, scope, why in result.skipped:
        render.console.print(f"[yellow]skipped:[/yellow] {provider} {scope}: {why}")
    for error in result.errors:
        render.console.print(f"[red]incomplete:[/red] {error}")


@one_line_errors
def findings(
    status: Annotated[
        FindingStatus | None, typer.Option(help="open, resolved or suppressed")
    ] = None,
    severity: Annotated[list[Severity] | None, typer.Option(help="only these severities")] = None,
    check: Annotated[list[str] | None, typer.Option("--check", help="only these checks")] = None,
    provider: Annotated[Provider | None, typer.Option(help="only this cloud")] = None,
    fail_on: FailOnOpt = None,
    fmt: ReportFormatOpt = "table",
) -> None:
    """List findings (table, json, csv, ocsf, html); exit 3 when an open one listed is at
    or above --fail-on."""
    from clamp.outputs import Report, Subject, formats_for

    check_format(fmt, formats_for(Subject.FINDINGS))
    checks = select_checks(check or [], [], [])
    store = context().store
    records = [
        r
        for r in store.findings(status=status, severities=set(severity or []) or None)
        if (checks is None or r.finding.check in checks)
        and (provider is None or r.finding.provider == provider)
    ]
    listed = {r.id for r in records}
    actions = [a for a in store.actions() if a.finding in listed] if fmt == "html" else []
    report = Report(generated=datetime.now(UTC), findings=records, actions=actions)
    render.print_report(fmt, report, Subject.FINDINGS)
    if any(
        r.status == FindingStatus.OPEN and at_or_above(r.finding.severity, fail_on) for r in records
    ):
        raise typer.Exit(ExitCode.FINDINGS)


@one_line_errors
def finding(finding_id: str, fmt: FormatOpt = "table") -> None:
    """One finding in full: its evidence (details), lifecycle, and the actions taken on it."""
    check_format(fmt)
    ctx = context()
    record = ctx.store.finding(finding_id)
    actions = ctx.store.actions_for(finding_id)
    if fmt == "json":
        render.print_json(
            {**finding_to_json(record), "actions": [action_to_json(a) for a in actions]}
        )
        return
    data = finding_to_json(record)
    render.console.print(f"[bold]{data['id']}[/bold] {data['check']} ({data['severity']})")
    for key in (
        "title",
        "status",
        "source",
        "provider",
        "scope",
        "resource",
        "first_seen",
        "last_seen",
    ):
        if data.get(key):
            render.console.print(f"  {key.replace('_', ' ')}: {data[key]}")
    if record.suppressed_reason:
        render.console.print(
            f"  suppressed: {record.suppressed_reason} (until {data.get('suppressed_until') or 'no expiry'})"
        )
    render.console.print("  evidence:")
    render.console.print(render.indented_yaml(data["details"]), markup=False)
    if actions:
        from clamp.outputs.table_records import actions_table

        render.console.print(actions_table(actions))

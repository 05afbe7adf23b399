"""The ``clamp`` command line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clamp.cli import render
from clamp.cli.catalog import checks, permissions
from clamp.cli.command_tree import for_command
from clamp.cli.common import (
    ActorOpt,
    FormatOpt,
    ReportFormatOpt,
    Verbosity,
    check_format,
    confirm,
    context,
    one_line_errors,
    params_of,
)
from clamp.cli.compliance import compliance_app
from clamp.cli.events import events_app
from clamp.cli.exits import ExitCode
from clamp.cli.flows import flows_app
from clamp.cli.imports import import_app
from clamp.cli.notify import notify_app
from clamp.cli.response import approvals_app, incident_app, print_run, respond
from clamp.cli.rules import rules_app
from clamp.cli.scan import finding, findings, scan
from clamp.cli.serve import serve
from clamp.cli.users import users_app
from clamp.cli.worker import worker
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import ActionRecord, Plan
from clamp.store.codec import action_to_json, plan_to_json

if TYPE_CHECKING:
    from clamp.events.flows.plan_evidence import PlanEvidence

app = typer.Typer(
    help="Find, fix, verify and undo dangerous cloud misconfigurations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The local fake cloud.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(incident_app, name="incident")
app.add_typer(approvals_app, name="approvals")
app.add_typer(rules_app, name="rules")
app.add_typer(users_app, name="users")
app.add_typer(compliance_app, name="compliance")
app.add_typer(import_app, name="import")
app.add_typer(notify_app, name="notify")
app.add_typer(events_app, name="events")
app.add_typer(flows_app, name="flows")
app.command()(scan)
app.command()(findings)
app.command()(finding)
app.command()(checks)
app.command()(permissions)
app.command()(respond)
app.command()(serve)
app.command()(worker)


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version  # reads the installed packages: only here

        typer.echo(f"clamp {version('clamp')}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", help="on an error, show its causes, one per line")
    ] = False,
    _show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Find, fix, verify and undo dangerous cloud misconfigurations."""
    Verbosity.set(verbose)


@app.command()
@one_line_errors
def suppress(
    finding_id: str,
    reason: Annotated[str, typer.Option(help="why this finding is accepted")],
    until: Annotated[datetime | None, typer.Option(help="expiry (ISO date)")] = None,
) -> None:
    """Suppress a finding with a reason and an optional expiry."""
    ctx = context()
    expiry = until.replace(tzinfo=UTC) if until and until.tzinfo is None else until
    record = ctx.store.suppress(finding_id, reason=reason, until=expiry, actor=ctx.settings.actor)
    until_text = (
        f" until {record.suppressed_until:%Y-%m-%d %H:%M %Z}" if record.suppressed_until else ""
    )
    render.console.print(f"suppressed {finding_id}{until_text}")


@app.command()
@one_line_errors
def unsuppress(
    finding_id: str,
    reason: Annotated[str, typer.Option(help="why the suppression is lifted")] = "",
) -> None:
    """Lift a suppression: the finding is open again until a scan says otherwise."""
    ctx = context()
    ctx.store.unsuppress(finding_id, actor=ctx.settings.actor, reason=reason)
    render.console.print(f"{finding_id} is open again")


@app.command()
@one_line_errors
def fix(
    finding_id: str,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan and stop")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    allow: Annotated[list[str] | None, typer.Option(help="CIDR that keeps access")] = None,
    allow_observed: Annotated[
        bool,
        typer.Option(
            "--allow-observed",
            help="keep access for the sources seen in flow logs (minus threat-listed ones)",
        ),
    ] = False,
    intent: Annotated[str | None, typer.Option(help="which remediation intent")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="an intent parameter, KEY=VALUE (e.g. days=30)")
    ] = None,
    bundle: Annotated[
        str | None, typer.Option(help="apply a bundle of fixes as one plan (data-protection)")
    ] = None,
    irreversible: Annotated[
        bool,
        typer.Option(
            "--i-understand-this-is-irreversible",
            help="second confirmation for a change that can never be undone",
        ),
    ] = False,
    reason: Annotated[str, typer.Option(help="why, for the audit log")] = "",
    actor: ActorOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Plan a fix for a finding, apply it, and verify the finding is gone."""
    check_format(fmt)
    ctx = context(actor)
    params: dict[str, Any] = params_of(param)
    if allow:
        params["allow"] = allow
    from clamp.events.flows.plan_evidence import FlowEvidence  # loads with its first use
    from clamp.events.flows.preview import is_network_plan

    evidence = FlowEvidence(ctx.flow_history, ctx.settings.flow_signals)
    finding = ctx.store.finding(finding_id).finding
    clients = evidence.clients(finding) if allow_observed else None
    if clients is not None:
        params["allow"] = [*params.get("allow", []), *clients.allow]
    plan = ctx.engine.plan(finding_id, intent=intent, params=params, bundle=bundle)
    wanted = is_network_plan(plan) and ctx.flow_history is not None
    related = ctx.engine.read_target(plan.resource) if wanted else []
    shown = evidence.for_plan(plan, finding, related, clients)
    if plan.irreversible and not irreversible and not dry_run:
        if fmt == "table":
            render.print_plan(plan)
        raise PlanRefused(
            f"{plan.intent} can never be undone; nothing was changed",
            hint="re-run with --i-understand-this-is-irreversible to confirm a second time",
        )
    if _go_ahead(plan, "Apply this plan?", dry_run=dry_run, yes=yes, fmt=fmt, evidence=shown):
        actor, why = ctx.settings.actor, reason or f"fix {finding_id}"
        record = ctx.engine.apply(plan, actor=actor, reason=why, confirm_irreversible=irreversible)
        _print_action(record, fmt)


def _go_ahead(
    plan: Plan,
    question: str,
    *,
    dry_run: bool,
    yes: bool,
    fmt: str,
    evidence: PlanEvidence | None = None,
) -> bool:
    """Show the plan (with its observed blast radius); False on a dry run; otherwise ask
    (unless --yes) and return True."""
    if fmt == "table":
        from rich.markup import escape

        render.print_plan(plan)
        for line in evidence.lines() if evidence else []:
            render.console.print(f"  [bold yellow]observed:[/bold yellow] {escape(line)}")
    if dry_run:
        if fmt == "json":
            render.print_json({**plan_to_json(plan), **(evidence.to_json() if evidence else {})})
        return False
    confirm(question, yes)
    return True


def _print_action(record: ActionRecord, fmt: str) -> None:
    if fmt == "json":
        render.print_json(action_to_json(record))
    else:
        render.console.print(f"[green]{record.status}[/green] {record.id}: {record.result}")


@app.command()
@one_line_errors
def undo(
    action_id: Annotated[str, typer.Argument(help="an action id, or a playbook run id (run-...)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan and stop")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    actor: ActorOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Restore what an action (or every step of a playbook run, in reverse) changed,
    refusing where the resource drifted since."""
    check_format(fmt)
    ctx = context(actor)
    if action_id.startswith("run-"):
        run = ctx.responder.book.run(action_id)
        if dry_run:
            print_run(run, fmt)
            return
        confirm(f"Undo every step of {run.playbook} run {run.id}?", yes)
        undone = ctx.responder.undo(action_id, actor=ctx.settings.actor)
        print_run(undone, fmt)
        if undone.status != "undone":
            raise typer.Exit(ExitCode.ERROR)
        return
    plan = ctx.engine.undo_plan(action_id)
    if _go_ahead(plan, "Undo this action?", dry_run=dry_run, yes=yes, fmt=fmt):
        _print_action(ctx.engine.undo(action_id, actor=ctx.settings.actor), fmt)


@app.command()
@one_line_errors
def actions(fmt: ReportFormatOpt = "table") -> None:
    """What was done, by whom, and the result (table, json, csv, ocsf, html)."""
    from clamp.outputs import Report, Subject, formats_for

    check_format(fmt, formats_for(Subject.ACTIONS))
    store = context().store
    records = store.actions()
    fixed = {a.finding for a in records if a.finding}
    findings = [r for r in store.findings() if r.id in fixed] if fmt in ("ocsf", "html") else []
    report = Report(generated=datetime.now(UTC), findings=findings, actions=records)
    render.print_report(fmt, report, Subject.ACTIONS)


@audit_app.command("verify")
@one_line_errors
def audit_verify() -> None:
    """Check the audit log's hash chain."""
    count = context().store.audit.verify()
    print(f"audit log intact: {count} entries verified")  # one line: no Rich to load


@sandbox_app.command("serve")
@one_line_errors
def sandbox_serve(
    scenario: Annotated[Path | None, typer.Option(help="scenario file (default: demo)")] = None,
    port: Annotated[int, typer.Option(help="control/Google port (0 = any free)")] = 0,
) -> None:
    """Serve the local fake cloud until stopped; the first line is its URL."""
    import gc

    from clamp.sandbox.scenario import load_state
    from clamp.sandbox.server import Sandbox

    sandbox = Sandbox(load_state(scenario), port=port)
    sandbox.start()
    # The seeded estate lives as long as the process: kept out of the cyclic collector's
    # full collections, which held the event loop (every call) for 0.3 s each on 20,000
    # resources.
    gc.freeze()
    print(f"CLAMP_SANDBOX_URL={sandbox.url}", flush=True)
    try:
        sandbox.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


@sandbox_app.command("state")
@one_line_errors
def sandbox_state() -> None:
    """Print the sandbox's current state as a scenario file (JSON)."""
    from clamp.providers.endpoints import estate

    render.print_json(estate(Settings.from_env().sandbox_url))


@app.command()
@one_line_errors
def demo() -> None:
    """Run Clamp end to end against the built-in sandbox: scan, fix, verify, undo."""
    from clamp.cli.demo import run_demo

    run_demo()


def main() -> None:
    """Entry point of the ``clamp`` script (building only the command it runs)."""
    for_command(app, sys.argv[1:])()

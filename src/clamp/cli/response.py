"""``clamp incident``, ``clamp respond`` and ``clamp approvals``: incident response."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from clamp.cli import render
from clamp.cli.common import (
    ActorOpt,
    FormatOpt,
    check_format,
    confirm,
    context,
    one_line_errors,
    params_of,
)
from clamp.cli.context import Context
from clamp.cli.exits import ExitCode
from clamp.cli.rules import rules_path
from clamp.errors import InputError
from clamp.model import ApprovalKind, Incident, Plan, Run, RunStatus, RunStep
from clamp.store.codec import iso, plan_to_json, record_to_json
from clamp.store.timeline import run_to_json, timeline

if TYPE_CHECKING:
    pass

incident_app = typer.Typer(help="Open, show and close incidents.", no_args_is_help=True)
approvals_app = typer.Typer(help="The queue of runs waiting for approval.", no_args_is_help=True)


def print_run(run: Run, fmt: str) -> None:
    """A run, as JSON or as a table of its steps."""
    from rich.table import Table

    if fmt == "json":
        render.print_json(run_to_json(run))
        return
    table = Table(
        "#", "step", "status", "action", "what", "result", title=f"{run.playbook} on {run.target}"
    )
    for n, step in enumerate(run.steps, 1):
        # the result says why a step failed, was skipped, or could not be undone
        table.add_row(
            str(n), step.intent, str(step.status), step.action or "", step.summary, step.result
        )
    render.console.print(table)
    colour = "green" if run.status in (RunStatus.SUCCEEDED, RunStatus.UNDONE) else "red"
    render.console.print(f"[{colour}]{run.status}[/{colour}] {run.id}: {run.result}")


@one_line_errors
def respond(
    playbook: Annotated[str, typer.Argument(help="a shipped playbook's name, or a YAML file")],
    incident: Annotated[str, typer.Option(help="the incident id")],
    target: Annotated[
        str | None, typer.Option(help="the VM's cloud id (default: the incident's resource)")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="a step parameter, KEY=VALUE (forensics_cidr=...)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plans and stop")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    irreversible: Annotated[
        bool,
        typer.Option(
            "--i-understand-this-is-irreversible",
            help="second confirmation for a playbook with a step that can never be undone",
        ),
    ] = False,
    actor: ActorOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Run a containment playbook against a VM for an incident; exit 0 only when every
    step is verified."""
    from clamp.response import load_playbook  # the action engine loads with the command

    check_format(fmt)
    ctx = context(actor)
    book = load_playbook(playbook)
    params = params_of(param)
    if dry_run:
        rehearsal = ctx.responder.rehearse(book, incident, target=target, params=params)
        if fmt == "json":
            render.print_json(
                [
                    {
                        "intent": step.intent,
                        "params": dict(step.params),
                        "plan": plan_to_json(plan) if plan else None,
                        "note": note,
                    }
                    for step, plan, note in rehearsal
                ]
            )
            return
        _print_rehearsal(rehearsal)
        return
    if fmt == "table":  # what each step will do, warnings included, before anyone says yes
        render.console.print(f"{book.name}: {book.description}")
        render.console.print(" → ".join(s.intent for s in book.steps))
        _print_rehearsal(ctx.responder.rehearse(book, incident, target=target, params=params))
    confirm(f"Run {book.name} for incident {incident}?", yes)
    with render.progress_bar(fmt) as progress:
        label = f"{book.name}: {len(book.steps)} step(s)"
        ctx.engine.observers.append(render.follow_actions(progress, label))
        run = ctx.responder.respond(
            book,
            incident,
            actor=ctx.settings.actor,
            target=target,
            params=params,
            confirm_irreversible=irreversible,
        )
    print_run(run, fmt)
    if run.status == RunStatus.AWAITING_APPROVAL:
        if fmt == "table":
            render.console.print("waiting for a second person: `clamp approvals list`")
        raise typer.Exit(ExitCode.WAITING)
    if run.status != RunStatus.SUCCEEDED:
        raise typer.Exit(ExitCode.ERROR)


def _print_rehearsal(rehearsal: list[tuple[RunStep, Plan | None, str]]) -> None:
    """Each step's plan as planned now (a step's note when it cannot be planned yet)."""
    for n, (step, plan, note) in enumerate(rehearsal, 1):
        render.console.rule(f"step {n}: {step.intent}")
        if plan is None:
            render.console.print(note)
        else:
            render.print_plan(plan)


def _incident_json(incident: Incident) -> dict[str, Any]:
    return record_to_json(incident)


@incident_app.command("open")
@one_line_errors
def incident_open(
    title: Annotated[str, typer.Option(help="what happened, in one line")],
    resource: Annotated[str, typer.Option(help="the affected VM's cloud id")],
    actor: ActorOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Open an incident about a resource."""
    check_format(fmt)
    ctx = context(actor)
    incident = ctx.responder.open_incident(title, resource, actor=ctx.settings.actor)
    if fmt == "json":
        render.print_json(_incident_json(incident))
    else:
        render.console.print(f"opened {incident.id}: {incident.title}")


@incident_app.command("list")
@one_line_errors
def incident_list(
    all_: Annotated[bool, typer.Option("--all", help="closed ones too")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """List incidents (open ones unless --all)."""
    from rich.table import Table

    check_format(fmt)
    incidents = context().store.incidents.incidents(open_only=not all_)
    if fmt == "json":
        render.print_json([_incident_json(i) for i in incidents])
        return
    table = Table("id", "opened", "by", "status", "title", "resource")
    for i in incidents:
        status = "open" if i.open else "closed"
        table.add_row(i.id, iso(i.created), i.opened_by, status, i.title, i.resource)
    render.console.print(table)


@incident_app.command("show")
@one_line_errors
def incident_show(incident_id: str, fmt: FormatOpt = "table") -> None:
    """An incident with the timeline of every run and step, with its plan and result."""
    from rich.table import Table

    check_format(fmt)
    ctx = context()
    incident = ctx.store.incidents.incident(incident_id)
    runs = ctx.store.incidents.runs(incident=incident_id)
    events = timeline(ctx.store, incident, runs)
    if fmt == "json":
        render.print_json(
            {
                **_incident_json(incident),
                "runs": [run_to_json(r) for r in runs],
                "timeline": events,
            }
        )
        return
    status = "open" if incident.open else f"closed by {incident.closed_by}"
    render.console.print(f"{incident.id} ({status}): {incident.title} — {incident.resource}")
    table = Table("time", "who", "event", "result")
    for entry in events:
        table.add_row(entry["time"], entry["actor"], entry["event"], entry.get("result", ""))
    render.console.print(table)


@incident_app.command("close")
@one_line_errors
def incident_close(
    incident_id: str,
    note: Annotated[str, typer.Option(help="how it ended")] = "",
    actor: ActorOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Close an incident."""
    check_format(fmt)
    ctx = context(actor)
    incident = ctx.responder.close_incident(incident_id, actor=ctx.settings.actor, note=note)
    if fmt == "json":
        render.print_json(_incident_json(incident))
    else:
        render.console.print(f"closed {incident.id}")


@approvals_app.command("list")
@one_line_errors
def approvals_list(
    all_: Annotated[bool, typer.Option("--all", help="decided ones too")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Requests waiting for a second person (or all of them with --all)."""
    from rich.table import Table

    check_format(fmt)
    approvals = context().store.incidents.approvals(pending_only=not all_)
    if fmt == "json":
        render.print_json([record_to_json(a) for a in approvals])
        return
    table = Table("id", "asked", "by", "decision", "what")
    for a in approvals:
        table.add_row(a.id, iso(a.created), a.requester, a.decision, a.summary)
    render.console.print(table)


def _decide(approval_id: str, approve: bool, reason: str, actor: str | None, fmt: str) -> None:
    check_format(fmt)
    ctx = context(actor)
    if ctx.store.incidents.approval(approval_id).kind == ApprovalKind.PLAN:
        _decide_plan(ctx, approval_id, approve, reason, fmt)
        return
    run = ctx.responder.decide(
        approval_id, actor=ctx.settings.actor, approve=approve, reason=reason
    )
    print_run(run, fmt)
    if approve and run.status != RunStatus.SUCCEEDED:
        raise typer.Exit(ExitCode.ERROR)


@approvals_app.command("approve")
@one_line_errors
def approvals_approve(
    approval_id: str,
    reason: Annotated[str, typer.Option(help="why, for the audit log")] = "",
    actor: ActorOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Approve a request (never your own) and run it now."""
    _decide(approval_id, True, reason, actor, fmt)


@approvals_app.command("reject")
@one_line_errors
def approvals_reject(
    approval_id: str,
    reason: Annotated[str, typer.Option(help="why, for the audit log")],
    actor: ActorOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Reject a request (never your own)."""
    _decide(approval_id, False, reason, actor, fmt)


def _decide_plan(ctx: Context, approval_id: str, approve: bool, reason: str, fmt: str) -> None:
    """A rule's queued plan: applied exactly as approved, or re-planned and queued again
    when its resource changed since (exit 3)."""
    from clamp.automation.rules import load_rules
    from clamp.automation.runner import RuleRunner

    try:  # the rules are needed only to re-plan a plan whose resource changed
        rules = load_rules(rules_path(ctx, None), ctx.settings.stages) if approve else []
    except InputError:
        rules = []
    outcome, line = RuleRunner(ctx.store, ctx.engine, ctx.settings).decide(
        approval_id,
        {r.name: r for r in rules},
        actor=ctx.settings.actor,
        approve=approve,
        reason=reason,
    )
    if fmt == "json":
        render.print_json({"approval": approval_id, "outcome": outcome, "result": line})
    else:
        render.console.print(f"{outcome}: {line}")
    if outcome == "queued":
        raise typer.Exit(ExitCode.WAITING)

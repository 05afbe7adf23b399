"""``clamp rules``: validate, list, run, rehearse, and move rules through their stages."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import platformdirs
import typer

from clamp.cli import render
from clamp.cli.common import ActorOpt, FormatOpt, check_format, context, one_line_errors
from clamp.cli.context import Context
from clamp.cli.exits import ExitCode
from clamp.errors import InputError

# Automation (and with it the action engine) loads when a rules command runs.
if TYPE_CHECKING:
    from clamp.automation.rules import Rule
    from clamp.automation.runner import Report, RuleRunner

rules_app = typer.Typer(help="Automation rules with guardrails.", no_args_is_help=True)
FileOpt = Annotated[
    Path | None, typer.Option("--file", help="the rules file (default: CLAMP_RULES or rules.yaml)")
]


def rules_path(ctx: Context, given: Path | None) -> Path:
    """The rules file: given, ``CLAMP_RULES``, or ``rules.yaml`` in the config directory."""
    path = given or ctx.settings.rules_file
    path = path or Path(platformdirs.user_config_dir("clamp")) / "rules.yaml"
    if not path.is_file():
        raise InputError(f"no rules file at {path}", hint="pass --file FILE or set CLAMP_RULES")
    return path


def _load(ctx: Context, given: Path | None) -> list[Rule]:
    from clamp.automation.rules import load_rules

    return load_rules(rules_path(ctx, given), ctx.settings.stages)


def _runner(ctx: Context) -> RuleRunner:
    from clamp.automation.runner import RuleRunner

    return RuleRunner(ctx.store, ctx.engine, ctx.settings)


def _rule(rules: list[Rule], name: str) -> Rule:
    found = next((r for r in rules if r.name == name), None)
    if found is None:
        raise InputError(f"no rule {name!r}; rules: {', '.join(r.name for r in rules)}")
    return found


def _print_report(report: Report, fmt: str) -> None:
    from rich.table import Table

    if fmt == "json":
        from clamp.automation.status import report_to_json

        render.print_json(report_to_json(report))
        return
    table = Table("rule", "outcome", "finding", "resource", "reason")
    for a in report.actions:
        if a.outcome != "skipped":
            table.add_row(a.rule, a.outcome, a.finding, a.resource.rsplit("/", 1)[-1], a.reason)
    render.console.print(table)
    reasons: dict[str, int] = {}
    for a in report.actions:
        if a.outcome == "skipped":
            key = f"{a.rule}: {a.reason.split(':', 1)[0]}"
            reasons[key] = reasons.get(key, 0) + 1
    for key, count in sorted(reasons.items()):
        render.console.print(f"skipped {count} — {key}")
    for note in report.notes:
        render.console.print(f"[yellow]note:[/yellow] {note}")
    counts = ", ".join(f"{n} {k}" for k, n in report.summary().items())
    render.console.print(("dry run: " if report.dry_run else "") + counts)


@rules_app.command("validate")
@one_line_errors
def rules_validate(path: Path) -> None:
    """Check a rules file; errors name the file, the rule and the field."""
    from clamp.automation.rules import load_rules
    from clamp.automation.signal_rules import load_signal_rules

    ctx = context()
    rules = load_rules(path, ctx.settings.stages)
    on_signal = load_signal_rules(path, ctx.settings.stages)
    named = [(r.name, r.exempt) for r in rules] + [(r.name, r.exempt) for r in on_signal]
    for name, exempt in named:
        for exemption in exempt:
            if not exemption.reason or exemption.expires is None:
                render.console.print(
                    f"[yellow]warning:[/yellow] rule {name}: exemption "
                    f"{exemption.describe()} should have a reason and an expiry"
                )
    signals = f" and {len(on_signal)} on: signal rule(s)" if on_signal else ""
    render.console.print(f"{path}: {len(rules)} rule(s){signals} valid")


@rules_app.command("list")
@one_line_errors
def rules_list(file: FileOpt = None, fmt: FormatOpt = "table") -> None:
    """The rules: what they match, what they do, how, and their limits."""
    from rich.table import Table

    check_format(fmt)
    ctx = context()
    rules = _load(ctx, file)
    rows: list[dict[str, Any]] = [
        {
            "name": r.name,
            "checks": sorted(r.match.checks),
            "action": r.action,
            "mode": r.mode,
            "max_actions_per_run": r.limits.per_run,
            "max_actions_per_hour": r.limits.per_hour,
            "stages": list(r.promote.stages) if r.promote else [],
            "backlog": r.backlog,
        }
        for r in rules
    ]
    if fmt == "json":
        render.print_json(rows)
        return
    table = Table("rule", "checks", "action", "mode", "limits", "stages")
    for row in rows:
        limits = f"{row['max_actions_per_run']}/run, {row['max_actions_per_hour']}/h"
        table.add_row(
            row["name"],
            ", ".join(row["checks"]) or "any",
            row["action"],
            row["mode"],
            limits,
            " → ".join(row["stages"]),
        )
    render.console.print(table)


@rules_app.command("run")
@one_line_errors
def rules_run(
    file: FileOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="plan only; change nothing")] = False,
    actor: ActorOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Run the rules over the open findings of the last scan, with every guardrail."""
    check_format(fmt)
    ctx = context(actor)
    rules = _load(ctx, file)
    runner = _runner(ctx)
    with render.progress_bar(fmt) as progress:
        label = f"running {len(rules)} rule(s)" + (" (dry run)" if dry_run else "")
        ctx.engine.observers.append(render.follow_actions(progress, label))
        report = runner.run(rules, actor=ctx.settings.actor, dry_run=dry_run)
    _print_report(report, fmt)
    if report.summary().get("failed"):
        raise typer.Exit(ExitCode.ERROR)


@rules_app.command("rehearse")
@one_line_errors
def rules_rehearse(path: Path, actor: ActorOpt = None, fmt: FormatOpt = "table") -> None:
    """Run a rules file against a sandbox copy of the last scan's estate; nothing real
    changes."""
    from clamp.automation.rehearse import rehearse
    from clamp.automation.rules import load_rules

    check_format(fmt)
    ctx = context(actor)
    rules = load_rules(path, ctx.settings.stages)
    _print_report(rehearse(ctx.store, ctx.settings, rules, actor=ctx.settings.actor), fmt)


@rules_app.command("status")
@one_line_errors
def rules_status(file: FileOpt = None, fmt: FormatOpt = "table") -> None:
    """Each rule's stage, clean runs, failure budget used, halt and last run."""
    from rich.table import Table

    check_format(fmt)
    ctx = context()
    rules = _load(ctx, file)
    from clamp.automation.status import rule_status

    rows = rule_status(_runner(ctx), rules)
    if fmt == "json":
        render.print_json(rows)
        return
    table = Table("rule", "stage", "clean runs", "budget used", "halted", "last run")
    for row in rows:
        table.add_row(
            row["name"],
            row["stage"],
            str(row["clean_runs"]),
            f"{row['failed']}/{row['attempted']} failed",
            row["halted"],
            row["last_run"] or "never",
        )
    render.console.print(table)


def _move(name: str, file: Path | None, actor: str | None, step: int) -> None:
    ctx = context(actor)
    rule = _rule(_load(ctx, file), name)
    runner = _runner(ctx)
    state = runner.move(rule, actor=ctx.settings.actor, step=step)
    render.console.print(f"{rule.name} is at stage {runner.stage_name(rule, state)}")


@rules_app.command("promote")
@one_line_errors
def rules_promote(name: str, file: FileOpt = None, actor: ActorOpt = None) -> None:
    """Move a rule to its next stage now (audited)."""
    _move(name, file, actor, 1)


@rules_app.command("demote")
@one_line_errors
def rules_demote(name: str, file: FileOpt = None, actor: ActorOpt = None) -> None:
    """Move a rule back to its previous stage (audited)."""
    _move(name, file, actor, -1)


@rules_app.command("resume")
@one_line_errors
def rules_resume(name: str, file: FileOpt = None, actor: ActorOpt = None) -> None:
    """Lift a failure-budget halt after a review (audited)."""
    ctx = context(actor)
    rule = _rule(_load(ctx, file), name)
    _runner(ctx).resume(rule, actor=ctx.settings.actor)
    render.console.print(f"{rule.name} resumed")

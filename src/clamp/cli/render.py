"""Rendering for the terminal: tables, JSON and plans as readable diffs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from clamp.actions.audit_trail import Observer
from clamp.model import ActionRecord, Plan
from clamp.plan_text import change_diff, short_resource
from clamp.store import FindingRecord
from clamp.store.codec import action_to_json, finding_to_json, to_jsonable

console = Console()
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
STATUS_STYLE = {
    "verified": "green",
    "failed": "red",
    "undone": "magenta",
    "open": "red",
    "resolved": "green",
    "suppressed": "dim",
}


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else (for scripts)."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def findings_table(findings: Sequence[FindingRecord]) -> Table:
    """Findings as a table: id, check, cloud, severity, status, resource, why."""
    table = Table(title=f"{len(findings)} finding(s)", show_lines=False)
    table.add_column("id", no_wrap=True)  # ids are copied into the next command: never wrapped
    for column in ("check", "cloud", "severity", "status", "resource", "exposure"):
        table.add_column(column, overflow="fold")
    for record in findings:
        data = finding_to_json(record)
        table.add_row(
            data["id"],
            data["check"],
            data["provider"],
            Text(data["severity"], style=SEVERITY_STYLE.get(data["severity"], "")),
            Text(data["status"], style=STATUS_STYLE.get(data["status"], "")),
            short_resource(data["resource"]),
            exposure_summary(data["details"]),
        )
    return table


def exposure_summary(details: Mapping[str, Any]) -> str:
    """A one-line why: the ports and the rules that open them."""
    ports = details.get("ports") or []
    rules = details.get("rules") or []
    names = ", ".join(str(r.get("name", r)) if isinstance(r, Mapping) else str(r) for r in rules)
    text = f"ports {', '.join(map(str, ports))}" if ports else ""
    return f"{text} via {names}" if names else text


def actions_table(actions: Iterable[ActionRecord]) -> Table:
    """Actions as a table: what was done, by whom, with what result."""
    rows = [action_to_json(a) for a in actions]
    table = Table(title=f"{len(rows)} action(s)")
    for column in ("id", "created", "actor", "intent", "finding", "status", "result"):
        table.add_column(column, no_wrap=column in ("id", "finding"), overflow="fold")
    for row in rows:
        table.add_row(
            row["id"],
            str(row["created"])[:19],
            row["actor"],
            row["intent"],
            row["finding"],
            Text(row["status"], style=STATUS_STYLE.get(row["status"], "")),
            row.get("result", ""),
        )
    return table


def print_plan(plan: Plan) -> None:
    """The plan as a user reads it before saying yes."""
    console.print(f"[bold]Plan[/bold]: {plan.intent} on {plan.resource}")
    console.print(f"  {plan.summary}")
    console.print(f"  [bold yellow]⚠ blast radius:[/bold yellow] {escape(plan.blast_radius)}")
    console.print(
        "  reversible: "
        + (
            "yes (clamp undo)"
            if plan.reversible
            else "[bold red]NO — IRREVERSIBLE, can never be undone[/bold red]"
            if plan.irreversible
            else "no"
        )
    )
    if plan.resolves:
        console.print(f"  also resolves: {', '.join(plan.resolves)}")
    if plan.alternatives:
        other = ", ".join(f"--intent {name}" for name in plan.alternatives)
        console.print(f"  other fixes for this finding: {other}")
    console.print(f"  permissions needed: {', '.join(plan.permissions)}")
    for change in plan.changes:
        for line in change_diff(change).splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            console.print(Text("    " + line, style=style))


def progress_bar(fmt: str, *, bar: bool = False) -> Progress:
    """A transient progress display on a terminal; disabled (silent) under ``--format
    json`` or when stdout is not a terminal (a pipe, a file, CI)."""
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if bar:
        columns += [BarColumn(), MofNCompleteColumn()]
    return Progress(
        *columns,
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=fmt == "json" or not console.is_terminal,
    )


def follow_actions(progress: Progress, label: str) -> Observer:
    """An engine observer that shows, on ``progress``, each action as it is planned,
    applied and verified (the steps of a playbook run, the actions of a rules run)."""
    task = progress.add_task(label, total=None)
    settled: list[str] = []

    def observe(event: str, record: ActionRecord, _actor: str) -> None:
        stage = event.rsplit(".", 1)[-1]
        if not record.in_flight and record.id not in settled:
            settled.append(record.id)
        progress.update(
            task, description=f"{label} — {record.intent}: {stage} ({len(settled)} done)"
        )
        progress.refresh()  # each step is drawn, however fast the run

    return observe


def indented_yaml(data: Any, indent: int = 4) -> str:
    """``data`` as YAML, each line indented (a finding's evidence, a plan's images)."""
    text = yaml.safe_dump(to_jsonable(data), sort_keys=False, default_flow_style=False)
    return "\n".join(" " * indent + line for line in text.splitlines())

"""Rendering for the terminal: tables, JSON and plans as readable diffs."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from clamp.actions.audit_trail import Observer
    from clamp.model import ActionRecord, Plan
    from clamp.outputs import Report, Subject

# The output formats, the plan diff, the progress bar and YAML load when a command prints,
# not when the CLI starts (``--help`` needs none of them); Rich's console when a command
# first prints through it (``--format json`` never does).


def _console() -> Console:
    """``console``: made on first use, or as set (tests give one that records)."""
    made: Console | None = globals().get("console")
    if made is None:
        from rich.console import Console

        made = globals()["console"] = Console()
    return made


def __getattr__(name: str) -> Console:
    """``console``: the terminal's Rich console, made on first use (PEP 562)."""
    if name == "console":
        return _console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def print_report(fmt: str, report: Report, subject: Subject) -> None:
    """``report`` in the output format ``fmt`` on stdout (tables as wide as the terminal,
    colored only on one)."""
    from clamp import outputs

    if fmt == "table":  # the one format that reads the terminal's width and colors
        report = replace(report, width=_console().width, color=_console().is_terminal)
    sys.stdout.write(outputs.render(fmt, report, subject))
    sys.stdout.flush()


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else (for scripts)."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_plan(plan: Plan) -> None:
    """The plan as a user reads it before saying yes (a line too long for the terminal
    goes on under its own indentation)."""
    from rich.markup import escape
    from rich.padding import Padding
    from rich.text import Text

    from clamp.plan_text import change_diff

    def line(indent: int, text: str | Text) -> None:
        body = Text.from_markup(text) if isinstance(text, str) else text
        _console().print(Padding(body, (0, 0, 0, indent), expand=False))

    line(0, f"[bold]Plan[/bold]: {plan.intent} on {escape(plan.resource)}")
    line(2, escape(plan.summary))
    line(2, f"[bold yellow]⚠ blast radius:[/bold yellow] {escape(plan.blast_radius)}")
    line(
        2,
        "reversible: "
        + (
            "yes (clamp undo)"
            if plan.reversible
            else "[bold red]NO — IRREVERSIBLE, can never be undone[/bold red]"
            if plan.irreversible
            else "no"
        ),
    )
    if plan.resolves:
        line(2, f"also resolves: {', '.join(plan.resolves)}")
    if plan.alternatives:
        line(
            2,
            f"other fixes for this finding: {', '.join(f'--intent {n}' for n in plan.alternatives)}",
        )
    line(2, f"permissions needed: {', '.join(plan.permissions)}")
    for change in plan.changes:
        for diff in change_diff(change).splitlines():
            style = "green" if diff.startswith("+") else "red" if diff.startswith("-") else ""
            line(4, Text(diff, style=style))


def progress_bar(fmt: str, *, bar: bool = False) -> Progress:
    """A transient progress display on a terminal; disabled (silent) under ``--format
    json`` or when stdout is not a terminal (a pipe, a file, CI)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if bar:
        columns += [BarColumn(), MofNCompleteColumn()]
    return Progress(
        *columns,
        TimeElapsedColumn(),
        console=_console(),
        transient=True,
        disable=fmt == "json" or not _console().is_terminal,
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
    import yaml

    from clamp.store.codec import to_jsonable

    text = yaml.safe_dump(to_jsonable(data), sort_keys=False, default_flow_style=False)
    return "\n".join(" " * indent + line for line in text.splitlines())

"""The rich tables of ``--format table`` (``clamp.outputs.table``): findings, actions and
compliance controls, a column per field on a wide terminal, stacked on a narrow one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from clamp.compliance import ComplianceReport, ControlStatus
from clamp.model import ActionRecord
from clamp.plan_text import short_resource
from clamp.store.codec import action_to_json, finding_to_json
from clamp.store.records import FindingRecord

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
STATUS_STYLE = {
    "verified": "green",
    "failed": "red",
    "undone": "magenta",
    "open": "red",
    "resolved": "green",
    "suppressed": "dim",
    "pass": "green",
    "fail": "red",
    "not assessed": "yellow",
}


def exposure_summary(details: Mapping[str, Any]) -> str:
    """A one-line why: the ports and the rules that open them."""
    ports = details.get("ports") or []
    rules = details.get("rules") or []
    names = ", ".join(str(r.get("name", r)) if isinstance(r, Mapping) else str(r) for r in rules)
    text = f"ports {', '.join(map(str, ports))}" if ports else ""
    return f"{text} via {names}" if names else text


def _why(data: Mapping[str, Any]) -> str:
    """The exposure, and who reported the finding when it is not (only) Clamp."""
    why = exposure_summary(data["details"])
    source = str(data.get("source") or "clamp")
    if source == "clamp":
        return why
    return f"{why}; reported by {source}" if why else f"reported by {source}"


Cell = str | Text

NARROW = 110
"""Below this many columns a record's fields stack in one cell: no word is cut in two."""


class Records:
    """Records under a title: a column per field on a wide terminal; on a narrow one the
    first field, then the others stacked as ``lines`` (fields that share a line)."""

    def __init__(
        self,
        title: str,
        columns: Sequence[str],
        lines: Sequence[Sequence[str]],
        rows: Sequence[Mapping[str, Cell]],
    ) -> None:
        self.title, self.columns, self.lines, self.rows = title, columns, lines, rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.wide() if options.max_width >= NARROW else self.stacked()

    def wide(self) -> Table:
        """One column per field; the first (an id to copy) never wraps."""
        table = Table(title=self.title)
        for n, column in enumerate(self.columns):
            table.add_column(column, no_wrap=n == 0, overflow="fold")
        for row in self.rows:
            table.add_row(*(row[c] for c in self.columns))
        return table

    def stacked(self) -> Table:
        """The first field, and the others a line per group of ``lines``."""
        first, *_ = self.columns
        table = Table(title=self.title, box=box.SIMPLE, show_lines=True)
        table.add_column(first, no_wrap=True)
        table.add_column(" · ".join("/".join(group) for group in self.lines), overflow="fold")
        for row in self.rows:
            text = Text()
            for group in self.lines:
                cells = [row[c] for c in group if str(row[c])]
                if cells:
                    text.append_text(
                        Text("  ").join(Text(c) if isinstance(c, str) else c for c in cells)
                    )
                    text.append("\n")
            text.rstrip()
            table.add_row(row[first], text)
        return table


def findings_table(findings: Sequence[FindingRecord]) -> Records:
    """Findings: id, check, cloud, severity, status, resource, why."""
    rows = []
    for record in findings:
        data = finding_to_json(record)
        rows.append(
            {
                "id": data["id"],
                "check": data["check"],
                "cloud": data["provider"],
                "severity": Text(data["severity"], style=SEVERITY_STYLE.get(data["severity"], "")),
                "status": Text(data["status"], style=STATUS_STYLE.get(data["status"], "")),
                "resource": short_resource(data["resource"]),
                "exposure": _why(data),
            }
        )
    columns = ("id", "check", "cloud", "severity", "status", "resource", "exposure")
    lines = (("severity", "status", "check", "cloud"), ("resource",), ("exposure",))
    return Records(f"{len(findings)} finding(s)", columns, lines, rows)


def actions_table(actions: Iterable[ActionRecord]) -> Records:
    """Actions: what was done, by whom, with what result."""
    rows = []
    for data in map(action_to_json, actions):
        rows.append(
            {
                "id": data["id"],
                "created": str(data["created"])[:19],
                "actor": data["actor"],
                "intent": data["intent"],
                "finding": data["finding"] or "",
                "status": Text(data["status"], style=STATUS_STYLE.get(data["status"], "")),
                "result": data.get("result") or "",
            }
        )
    columns = ("id", "created", "actor", "intent", "finding", "status", "result")
    lines = (("status", "intent", "finding"), ("actor", "created"), ("result",))
    return Records(f"{len(rows)} action(s)", columns, lines, rows)


def compliance_table(report: ComplianceReport) -> Table:
    """Controls as a table: id, title, status, why, and how much evidence."""
    summary = ", ".join(f"{report.count(s)} {s}" for s in ControlStatus)
    table = Table(title=f"{report.framework.label}: {summary}")
    table.add_column("control", no_wrap=True)
    for column in ("title", "status", "why", "findings", "actions"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        table.add_row(
            result.control.id,
            result.control.title,
            Text(result.status.value, style=STATUS_STYLE.get(result.status.value, "")),
            result.reason,
            ", ".join(r.id for r in result.findings),
            ", ".join(a.id for a in result.actions),
        )
    return table

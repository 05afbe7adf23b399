"""``--format table``: what a person reads in a terminal (rich tables)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from rich.console import Console
from rich.table import Table
from rich.text import Text

from clamp.compliance import ComplianceReport, ControlStatus
from clamp.model import ActionRecord
from clamp.outputs.interface import FORMATS, OutputFormat, Report, Subject
from clamp.plan_text import short_resource as short_resource
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
            _why(data),
        )
    return table


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


@FORMATS.register("table")
class TableFormat(OutputFormat):
    """Rich tables, as wide as the terminal, colored on a terminal only."""

    name = "table"
    subjects: ClassVar[frozenset[Subject]] = frozenset(Subject)

    def render(self, report: Report, subject: Subject) -> str:
        """The records as a table."""
        match subject:
            case Subject.FINDINGS:
                table = findings_table(report.findings)
            case Subject.ACTIONS:
                table = actions_table(report.actions)
            case Subject.COMPLIANCE:
                if report.compliance is None:
                    raise self.refuse(subject)
                table = compliance_table(report.compliance)
        out = io.StringIO()
        console = Console(
            file=out, width=report.width, force_terminal=report.color, no_color=not report.color
        )
        console.print(table)
        return out.getvalue()

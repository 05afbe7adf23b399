"""``--format html``: one self-contained page a person prints or mails — a summary,
inline SVG charts, the findings by severity, the fixes done and undone, and (for
``clamp compliance report``) every control with its evidence. No script, no external file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, ClassVar

from clamp.model import ActionRecord, ActionStatus, Severity
from clamp.outputs.charts import bar_chart
from clamp.outputs.interface import FORMATS, OutputFormat, Report, Subject, clamp_version
from clamp.outputs.table import short_resource
from clamp.store.codec import iso
from clamp.store.records import FindingRecord

if TYPE_CHECKING:
    from clamp.compliance import ComplianceReport

SEVERITY_COLOR = {
    Severity.CRITICAL: "#8b0000",
    Severity.HIGH: "#d32f2f",
    Severity.MEDIUM: "#f57c00",
    Severity.LOW: "#0288d1",
    Severity.INFO: "#757575",
}
STATUS_COLOR = {
    "verified": "#2e7d32",
    "undone": "#6a1b9a",
    "failed": "#c62828",
    "applied": "#f9a825",
    "planned": "#9e9e9e",
    "pass": "#2e7d32",
    "fail": "#c62828",
    "not assessed": "#9e9e9e",
}
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em;color:#222}
h1{margin-bottom:0}.meta{color:#666;margin-top:.2em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere}
th{background:#f3f3f3}.id{white-space:nowrap;font-family:monospace}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;padding:.6em 1em}
.card b{display:block;font-size:1.6em}.charts{display:flex;gap:2em;flex-wrap:wrap}
.lbl,.val,.ttl{font-size:12px;fill:#222}.ttl{font-weight:bold}
.badge{color:#fff;padding:1px 6px;border-radius:3px;font-size:.85em;white-space:nowrap}
@media print{body{margin:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}}
"""


def _badge(text: str, color: str) -> str:
    return f'<span class="badge" style="background:{color}">{escape(text)}</span>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f"<p>{escape(empty)}</p>"
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _cards(items: Sequence[tuple[str, int]]) -> str:
    cards = "".join(f'<div class="card"><b>{n}</b>{escape(label)}</div>' for label, n in items)
    return f'<div class="cards">{cards}</div>'


def _findings_section(findings: Sequence[FindingRecord]) -> str:
    parts = ["<h2>Findings by severity</h2>"]
    for severity in sorted(Severity, key=lambda s: -s.rank):
        group = [r for r in findings if r.finding.severity == severity]
        if not group:
            continue
        parts.append(f"<h3>{_badge(severity.value, SEVERITY_COLOR[severity])} {len(group)}</h3>")
        parts.append(
            _table(
                ("id", "check", "cloud", "resource", "status", "what", "first seen"),
                (
                    (
                        f'<span class="id">{escape(r.id)}</span>',
                        escape(r.finding.check),
                        escape(r.finding.provider.value),
                        f'<span title="{escape(r.finding.resource)}">'
                        f"{escape(short_resource(r.finding.resource))}</span>",
                        escape(r.status.value),
                        escape(r.finding.title),
                        escape((iso(r.first_seen) or "")[:19]),
                    )
                    for r in group
                ),
                "none",
            )
        )
    if len(parts) == 1:
        parts.append("<p>No findings.</p>")
    return "".join(parts)


def _what(action: ActionRecord) -> str:
    """What an action did, in a few words: its intent, or which action it undid."""
    return f"undo of {action.undoes}" if action.undoes else action.intent


def _actions_section(actions: Sequence[ActionRecord]) -> str:
    undone = {a.undoes for a in actions if a.undoes}
    rows = (
        (
            f'<span class="id">{escape(a.id)}</span>',
            escape((iso(a.created) or "")[:19]),
            escape(_what(a)),
            escape(short_resource(a.plan.resource)),
            escape(a.actor),
            _badge(a.status.value, STATUS_COLOR.get(a.status.value, "#555")),
            escape(a.result) + (" (later undone)" if a.id in undone else ""),
        )
        for a in actions
    )
    head = ("id", "when", "what", "resource", "by", "status", "result")
    return "<h2>Fixes done and undone</h2>" + _table(head, rows, "Clamp changed nothing.")


def _compliance_section(report: ComplianceReport) -> str:
    rows = (
        (
            f'<span class="id">{escape(r.control.id)}</span>',
            escape(r.control.title),
            _badge(r.status.value, STATUS_COLOR[r.status.value]),
            escape(r.reason),
            "<br>".join(
                f"{escape(f.id)} {escape(f.status.value)}: {escape(short_resource(f.finding.resource))}"
                for f in r.findings
            ),
            "<br>".join(
                f"{escape(a.id)} {escape(_what(a))}: {escape(a.status.value)}" for a in r.actions
            )
            + "".join(f"<br>incident {escape(i.id)}: {escape(i.title)}" for i in r.incidents),
        )
        for r in report.results
    )
    head = ("control", "title", "status", "why", "evidence", "what Clamp did")
    return "<h2>Controls</h2>" + _table(head, rows, "No controls.")


def page(title: str, body: Sequence[str], generated: str) -> str:
    """The whole document around ``body``."""
    meta = f"Generated {escape(generated)} by Clamp {escape(clamp_version())}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{meta}</p>{"".join(body)}</body></html>\n'
    )


@FORMATS.register("html")
class HtmlFormat(OutputFormat):
    """A self-contained HTML report."""

    name = "html"
    subjects: ClassVar[frozenset[Subject]] = frozenset(Subject)

    def render(self, report: Report, subject: Subject) -> str:
        """The report page."""
        generated = (iso(report.generated) or "")[:19].replace("T", " ") + " UTC"
        if subject == Subject.COMPLIANCE:
            if report.compliance is None:
                raise self.refuse(subject)
            return self._compliance(report.compliance, generated)
        findings, actions = report.findings, report.actions
        severities = Counter(r.finding.severity for r in findings)
        statuses = Counter(a.status.value for a in actions)
        summary = _cards(
            (
                ("findings", len(findings)),
                ("open", sum(1 for r in findings if r.status.value == "open")),
                (
                    "fixes verified",
                    sum(1 for a in actions if a.status == ActionStatus.VERIFIED and not a.undoes),
                ),
                ("undone", statuses[ActionStatus.UNDONE.value]),
                ("failed", statuses[ActionStatus.FAILED.value]),
            )
        )
        charts = (
            '<div class="charts">'
            + bar_chart(
                "Findings by severity",
                [
                    (s.value, severities[s], SEVERITY_COLOR[s])
                    for s in sorted(Severity, key=lambda s: -s.rank)
                ],
            )
            + bar_chart(
                "Actions by result",
                [(s.value, statuses[s.value], STATUS_COLOR[s.value]) for s in ActionStatus],
            )
            + "</div>"
        )
        title = "Clamp findings report" if subject == Subject.FINDINGS else "Clamp actions report"
        body = [summary, charts]
        if subject == Subject.FINDINGS:
            body.append(_findings_section(findings))
        body.append(_actions_section(actions))
        return page(title, body, generated)

    def _compliance(self, report: ComplianceReport, generated: str) -> str:
        from clamp.compliance import ControlStatus

        counts = [(s.value, report.count(s)) for s in ControlStatus]
        chart = bar_chart(
            "Controls by status", [(label, n, STATUS_COLOR[label]) for label, n in counts]
        )
        title = f"{report.framework.label}: compliance report"
        body = [_cards(counts), f'<div class="charts">{chart}</div>', _compliance_section(report)]
        return page(title, body, generated)

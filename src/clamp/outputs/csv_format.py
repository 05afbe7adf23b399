"""``--format csv``: one row per finding, action or control, for spreadsheets. Nested
evidence (a finding's details, a control's findings) is one JSON or ``;``-joined cell."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from clamp.outputs.interface import FORMATS, OutputFormat, Report, Subject
from clamp.outputs.rows import compliance_to_json
from clamp.store.codec import action_to_json, finding_to_json

FINDING_COLUMNS = (
    "id",
    "check",
    "title",
    "severity",
    "status",
    "provider",
    "scope",
    "resource",
    "source",
    "first_seen",
    "last_seen",
    "resolved_at",
    "suppressed_reason",
    "suppressed_until",
    "details",
)
ACTION_COLUMNS = (
    "id",
    "created",
    "updated",
    "actor",
    "intent",
    "finding",
    "resource",
    "status",
    "result",
    "undoes",
    "reversible",
    "reason",
)
CONTROL_COLUMNS = (
    "framework",
    "control",
    "title",
    "status",
    "reason",
    "checks",
    "intents",
    "findings",
    "resources",
    "actions",
    "incidents",
)


def _table(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return out.getvalue()


def _finding_row(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "details": json.dumps(data.get("details", {}), sort_keys=True)}


def _action_row(data: dict[str, Any]) -> dict[str, Any]:
    plan = data.get("plan") or {}
    return {**data, "resource": plan.get("resource"), "reversible": plan.get("reversible")}


@FORMATS.register("csv")
class CsvFormat(OutputFormat):
    """Comma-separated values with a header row."""

    name = "csv"
    subjects: ClassVar[frozenset[Subject]] = frozenset(Subject)

    def render(self, report: Report, subject: Subject) -> str:
        """The records as CSV."""
        match subject:
            case Subject.FINDINGS:
                rows = (_finding_row(finding_to_json(r)) for r in report.findings)
                return _table(FINDING_COLUMNS, rows)
            case Subject.ACTIONS:
                return _table(
                    ACTION_COLUMNS, (_action_row(action_to_json(a)) for a in report.actions)
                )
            case Subject.COMPLIANCE:
                if report.compliance is None:
                    raise self.refuse(subject)
                data = compliance_to_json(report.compliance)
                return _table(
                    CONTROL_COLUMNS,
                    (
                        {
                            "framework": data["framework"]["id"],
                            "control": c["id"],
                            "title": c["title"],
                            "status": c["status"],
                            "reason": c["reason"],
                            "checks": ";".join(c["checks"]),
                            "intents": ";".join(c["intents"]),
                            "findings": ";".join(f["id"] for f in c["findings"]),
                            "resources": ";".join(
                                dict.fromkeys(f["resource"] for f in c["findings"])
                            ),
                            "actions": ";".join(a["id"] for a in c["actions"]),
                            "incidents": ";".join(i["id"] for i in c["incidents"]),
                        }
                        for c in data["controls"]
                    ),
                )

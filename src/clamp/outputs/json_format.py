"""``--format json``: Clamp's own records, exactly as the store's codec writes them."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from clamp.outputs.interface import FORMATS, OutputFormat, Report, Subject
from clamp.outputs.rows import compliance_to_json
from clamp.store.codec import action_to_json, finding_to_json


def dumps(data: Any) -> str:
    """Indented, key-sorted JSON (for scripts and diffs)."""
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


@FORMATS.register("json")
class JsonFormat(OutputFormat):
    """A JSON array of findings or actions, or one compliance evaluation."""

    name = "json"
    subjects: ClassVar[frozenset[Subject]] = frozenset(Subject)

    def render(self, report: Report, subject: Subject) -> str:
        """The records as JSON."""
        match subject:
            case Subject.FINDINGS:
                return dumps([finding_to_json(r) for r in report.findings])
            case Subject.ACTIONS:
                return dumps([action_to_json(a) for a in report.actions])
            case Subject.COMPLIANCE:
                if report.compliance is None:
                    raise self.refuse(subject)
                return dumps(compliance_to_json(report.compliance))

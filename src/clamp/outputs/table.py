"""``--format table``: what a person reads in a terminal (rich tables, built by
``clamp.outputs.table_records``: rich loads when a table is printed, not with the formats)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, ClassVar

from clamp.outputs.interface import FORMATS, OutputFormat, Report, Subject
from clamp.plan_text import short_resource as short_resource

if TYPE_CHECKING:
    from rich.table import Table

    from clamp.outputs.table_records import Records


@FORMATS.register("table")
class TableFormat(OutputFormat):
    """Rich tables, as wide as the terminal, colored on a terminal only."""

    name = "table"
    subjects: ClassVar[frozenset[Subject]] = frozenset(Subject)

    def render(self, report: Report, subject: Subject) -> str:
        """The records as a table."""
        from rich.console import Console

        from clamp.outputs.table_records import actions_table, compliance_table, findings_table

        table: Records | Table
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

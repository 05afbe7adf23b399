"""``clamp compliance report``: each control of a framework as pass, fail or not
assessed, with the findings behind it and what Clamp did about them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from clamp.cli import render
from clamp.cli.common import UsageError, check_format, context, one_line_errors
from clamp.compliance import FRAMEWORK_IDS
from clamp.errors import InputError

compliance_app = typer.Typer(
    help="Compliance reports: CIS Azure and GCP, NIST CSF 2.0, ISO 27001:2022.",
    no_args_is_help=True,
)
SCAN_HISTORY = 10_000
"""How many recorded scans a report looks at to tell what was assessed."""


@compliance_app.command("report")
@one_line_errors
def report(
    framework_id: Annotated[
        str, typer.Option("--framework", help=" | ".join(FRAMEWORK_IDS), show_default=False)
    ],
    fmt: Annotated[str, typer.Option("--format", help="table, json, csv or html")] = "table",
) -> None:
    """Every control of a framework: pass, fail or not assessed, its evidence (findings
    and their resources) and the actions and incidents that acted on them."""
    from clamp.compliance import Evidence, evaluate, framework
    from clamp.outputs import Report, Subject, formats_for

    check_format(fmt, formats_for(Subject.COMPLIANCE))
    try:
        chosen = framework(framework_id)
    except InputError as exc:
        raise UsageError(exc.message) from None
    store = context().store
    evidence = Evidence(
        findings=store.findings(),
        actions=store.actions(),
        incidents=store.incidents.incidents(),
        runs=store.incidents.runs(),
        scans=store.scans(limit=SCAN_HISTORY),
    )
    now = datetime.now(UTC)
    judged = evaluate(chosen, evidence, now)
    render.print_report(fmt, Report(generated=now, compliance=judged), Subject.COMPLIANCE)

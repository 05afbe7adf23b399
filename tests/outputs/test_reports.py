"""CSV, HTML and compliance reports over a real scan of the sandbox: what a person or a
spreadsheet reads agrees with the store, and a control is never passed on no evidence."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from clamp.cli.main import app
from clamp.compliance import FRAMEWORK_IDS
from report_cli import Cli


def test_the_html_actions_report_lists_containment_too(estate: Cli) -> None:
    actions = estate.json("actions", "--format", "json")

    page = estate("actions", "--format", "html").stdout

    assert all(a["id"] in page for a in actions)
    assert "isolate_instance" in page and "<h2>Findings by severity" not in page


def test_csv_has_one_row_per_finding_and_action_with_the_same_ids(estate: Cli) -> None:
    findings = estate.json("findings", "--format", "json")
    actions = estate.json("actions", "--format", "json")

    rows = list(csv.DictReader(io.StringIO(estate("findings", "--format", "csv").stdout)))
    action_rows = list(csv.DictReader(io.StringIO(estate("actions", "--format", "csv").stdout)))

    assert [r["id"] for r in rows] == [f["id"] for f in findings]
    assert json.loads(rows[0]["details"]) == findings[0]["details"]
    assert {r["id"]: r["status"] for r in action_rows} == {a["id"]: a["status"] for a in actions}
    assert all(r["resource"] for r in action_rows)


def test_the_html_report_is_one_self_contained_page(estate: Cli) -> None:
    findings = estate.json("findings", "--format", "json")
    actions = estate.json("actions", "--format", "json")

    page = estate("findings", "--format", "html").stdout

    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and not re.search(r'(src|href)="(http|//)', page)
    assert page.count("<svg") >= 2  # the charts are inline
    assert "Findings by severity" in page and "Fixes done and undone" in page
    assert all(f["id"] in page for f in findings)
    assert all(a["id"] in page for a in actions if a["finding"])  # the fixes and the undo
    assert "(later undone)" in page
    # most severe first
    sections = page[page.index("<h3>") :]
    assert sections.index(">critical</span>") < sections.index(">high</span>")


def test_compliance_report_fails_controls_with_findings_and_names_the_evidence(
    estate: Cli,
) -> None:
    findings = {f["id"]: f for f in estate.json("findings", "--format", "json")}
    report = estate.json("compliance", "report", "--framework", "cis-azure", "--format", "json")

    controls = {c["id"]: c for c in report["controls"]}
    assert report["framework"]["version"] == "3.0.0"
    ssh = controls["7.2"]
    assert ssh["status"] == "fail"
    assert ssh["findings"] and all(
        findings[f["id"]]["provider"] == "azure" for f in ssh["findings"]
    )
    assert all("22" in findings[f["id"]]["details"]["ports"] for f in ssh["findings"])
    assert {a["intent"] for a in ssh["actions"]} == {"restrict_ingress"}  # the fix and its undo
    assert controls["7.3"]["status"] == "not assessed"  # no check for it
    assert sum(report["summary"].values()) == len(controls)


def test_a_resolved_finding_and_its_fix_are_the_evidence_of_a_control(estate: Cli) -> None:
    report = estate.json("compliance", "report", "--framework", "nist-csf-2.0", "--format", "json")

    controls = {c["id"]: c for c in report["controls"]}
    backups = controls["PR.DS-11"]
    resolved = [f for f in backups["findings"] if f["status"] == "resolved"]
    assert resolved and any(a["intent"] == "enable_versioning" for a in backups["actions"])
    contained = controls["RS.MI-01"]
    assert contained["status"] == "not assessed"  # Clamp cannot judge it, whatever it did
    assert [i["title"] for i in contained["incidents"]] == ["miner"]
    assert {a["intent"] for a in contained["actions"]} == {"isolate_instance"}
    assert controls["DE.CM-01"]["status"] == "not assessed"


def test_every_framework_renders_in_every_format(estate: Cli) -> None:
    for framework in FRAMEWORK_IDS:
        for fmt in ("table", "csv", "html"):
            result = estate("compliance", "report", "--framework", framework, "--format", fmt)
            assert result.exit_code == 0, (framework, fmt, result.output)
        rows = list(
            csv.DictReader(
                io.StringIO(
                    estate(
                        "compliance", "report", "--framework", framework, "--format", "csv"
                    ).stdout
                )
            )
        )
        assert rows and {r["status"] for r in rows} <= {"pass", "fail", "not assessed"}


def test_nothing_scanned_means_nothing_passed(tmp_path: Path) -> None:
    env = {"CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    for framework in FRAMEWORK_IDS:
        result = CliRunner().invoke(
            app, ["compliance", "report", "--framework", framework, "--format", "json"], env=env
        )
        report = json.loads(result.stdout)
        assert {c["status"] for c in report["controls"]} == {"not assessed"}, framework


def test_a_bad_framework_or_format_is_one_usage_line(estate: Cli) -> None:
    unknown = estate("compliance", "report", "--framework", "pci-dss")
    ocsf = estate("compliance", "report", "--framework", "cis-gcp", "--format", "ocsf")
    bad = estate("findings", "--format", "xml")

    assert unknown.exit_code == 2 and "valid: cis-azure, cis-gcp" in unknown.stderr
    assert ocsf.exit_code == 2 and "valid: table, json, csv, html" in ocsf.stderr
    assert bad.exit_code == 2 and "valid: table, json, csv, ocsf, html" in bad.stderr
    assert "Traceback" not in unknown.output + ocsf.output + bad.output


def test_the_tables_stack_on_a_narrow_terminal_and_never_cut_an_id(estate: Cli) -> None:
    ids = [f["id"] for f in estate.json("findings", "--format", "json")]
    actions = [a["id"] for a in estate.json("actions", "--format", "json")]
    for command, wanted in (("findings", ids), ("actions", actions)):
        for columns in ("80", "160"):
            result = CliRunner().invoke(
                app, [command], env={**estate.env, "COLUMNS": columns}, terminal_width=int(columns)
            )
            assert result.exit_code == 0, result.output
            lines = result.stdout.splitlines()
            assert max(map(len, lines)) <= int(columns)
            for id_ in wanted:  # each id whole on one line, once
                assert sum(id_ in line for line in lines) == 1, (command, columns, id_)
    narrow = CliRunner().invoke(app, ["findings"], env={**estate.env, "COLUMNS": "80"})
    assert "exposed-admin-port" in narrow.stdout  # a check name is never folded at 80

"""``clamp import prowler``: Prowler's OCSF JSON mapped to Clamp's checks, shown with its
source, fixed only once Clamp's own read confirms it; the rest listed, never dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from clamp.store import Store
from import_rig import PROWLER_SAMPLE, SUBSCRIPTION, Cli
from prowler_sample import sample

NSG = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/clamp-demo/providers/"
    "Microsoft.Network/networkSecurityGroups/web-nsg"
)
FIREWALLS = "//compute.googleapis.com/projects/clamp-demo-prod/global/firewalls/"


def _firewall(cli: Cli, name: str) -> dict[str, Any]:
    return dict(next(o for o in cli.state()["gcp"]["clamp-demo-prod"] if o.get("name") == name))


def _imported(cli: Cli) -> dict[str, str]:
    report = cli.json("import", "prowler", str(PROWLER_SAMPLE))
    return {f["resource"]: f["id"] for f in report["mapped"]}


def test_the_sample_is_prowlers_ocsf_detection_finding_shape() -> None:
    written = json.loads(PROWLER_SAMPLE.read_text())

    assert written == sample()  # the file is what the generator writes
    for item in written:
        parsed = DetectionFinding.model_validate(item)  # the model Prowler writes with
        assert parsed.class_uid == 2004 and parsed.metadata.event_code


def test_import_maps_prowler_checks_to_clamp_checks_and_lists_the_rest(cli: Cli) -> None:
    report = cli.json("import", "prowler", str(PROWLER_SAMPLE))

    mapped = {(f["check"], f["resource"]) for f in report["mapped"]}
    assert mapped == {
        ("exposed-admin-port", NSG),
        ("exposed-admin-port", FIREWALLS + "allow-ssh-web"),
        ("exposed-admin-port", FIREWALLS + "legacy-ssh-disabled"),
    }
    unmapped = {u["rule"]: u for u in report["unmapped"]}
    assert set(unmapped) == {
        "storage_ensure_minimum_tls_version_12",
        "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
    }
    assert all(u["reason"] for u in unmapped.values())
    assert report["passed"] == 1


def test_imported_findings_are_listed_with_their_source_and_unconfirmed(cli: Cli) -> None:
    ids = _imported(cli)

    findings = {f["id"]: f for f in cli.json("findings")}
    firewall = findings[ids[FIREWALLS + "allow-ssh-web"]]
    assert firewall["source"] == "prowler (unconfirmed)"
    assert firewall["severity"] == "critical"  # Prowler's severity until Clamp judges it
    [external] = firewall["details"]["external"]
    assert external["rule"] == "compute_firewall_ssh_access_from_the_internet_allowed"
    assert "prowler" in cli("findings").output  # the table has a source column
    assert "source: prowler (unconfirmed)" in cli("finding", firewall["id"]).output


def test_the_table_output_names_every_unmapped_finding_and_exits_zero(cli: Cli) -> None:
    result = cli("import", "prowler", str(PROWLER_SAMPLE))

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "3 finding(s) mapped" in text and "2 unmapped" in text
    assert text.count("unmapped: ") == 2


def test_fix_on_an_imported_finding_closes_the_exposure_verified_and_undoable(cli: Cli) -> None:
    ids = _imported(cli)
    before = _firewall(cli, "allow-ssh-web")

    fixed = cli("fix", ids[FIREWALLS + "allow-ssh-web"], "--yes", "--format", "json")

    assert fixed.exit_code == 0, fixed.output
    action = json.loads(fixed.stdout)
    assert action["status"] == "verified"
    after = _firewall(cli, "allow-ssh-web")
    assert all("22" not in a.get("ports", []) for a in after["allowed"])
    assert cli.json("finding", ids[FIREWALLS + "allow-ssh-web"])["actions"][0]["id"] == action["id"]
    undone = cli("undo", action["id"], "--yes")
    assert undone.exit_code == 0, undone.output
    assert _firewall(cli, "allow-ssh-web")["allowed"] == before["allowed"]


def test_an_imported_finding_clamp_does_not_confirm_is_refused_and_nothing_changes(
    cli: Cli,
) -> None:
    ids = _imported(cli)
    before = _firewall(cli, "legacy-ssh-disabled")

    refused = cli("fix", ids[FIREWALLS + "legacy-ssh-disabled"], "--yes")

    assert refused.exit_code == 1
    [line] = refused.stderr.strip().splitlines()
    assert "does not confirm exposed-admin-port" in line and "nothing was changed" in line
    assert _firewall(cli, "legacy-ssh-disabled") == before
    assert cli.json("actions") == []


def test_a_finding_clamp_found_itself_keeps_its_evidence_and_names_prowler_too(cli: Cli) -> None:
    assert cli("scan", "--provider", "azure").exit_code == 0
    own = {f["resource"]: f for f in cli.json("findings")}[NSG]

    report = cli.json("import", "prowler", str(PROWLER_SAMPLE))

    assert own["id"] in report["already_found"]
    now = cli.json("finding", own["id"])
    assert now["details"]["rules"] == own["details"]["rules"]  # Clamp's evidence is kept
    assert now["source"] == "clamp, prowler"
    assert cli("fix", own["id"], "--dry-run").exit_code == 0


def _bad_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "prowler.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[{not json", "not valid JSON"),
        ({"findings": []}, "a JSON array of Detection Findings"),
        ([{**sample()[0], "class_uid": 2001}], "not an OCSF Detection Finding"),
        ([{**sample()[0], "metadata": {"product": {}}}], "'event_code'"),
        ([{**sample()[0], "resources": []}], "'resources'"),
        (["text"], "is not a JSON object"),
    ],
)
def test_a_malformed_file_is_one_line_and_imports_nothing(
    cli: Cli, tmp_path: Path, content: Any, says: str
) -> None:
    path = _bad_file(tmp_path, content)

    result = cli("import", "prowler", str(path))

    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and says in line and str(path) in line
    assert cli.json("findings") == []


def test_a_missing_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", "prowler", str(tmp_path / "absent.json"))

    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot read" in result.stderr


def test_a_scan_settles_imported_findings_confirmed_become_clamps_the_rest_resolve(
    cli: Cli,
) -> None:
    ids = _imported(cli)

    assert cli("scan", "--provider", "gcp").exit_code == 0

    confirmed = cli.json("finding", ids[FIREWALLS + "allow-ssh-web"])
    refuted = cli.json("finding", ids[FIREWALLS + "legacy-ssh-disabled"])
    assert confirmed["status"] == "open" and confirmed["source"] == "clamp, prowler"
    assert confirmed["details"]["rules"]  # Clamp's own evidence now
    assert refuted["status"] == "resolved"
    assert cli.json("finding", ids[NSG])["status"] == "open"  # Azure was not scanned


def test_an_import_is_audited_and_is_not_a_scan(cli: Cli) -> None:
    ids = _imported(cli)

    with Store.open(cli.env["CLAMP_DATABASE_URL"]) as store:
        entry = store.audit.entries()[-1]
        scans = store.scans()
    assert entry.event == "findings.imported" and entry.actor == "importer"
    assert sorted(entry.payload["mapped"]) == sorted(ids.values())
    assert entry.payload["unmapped"] == 2 and entry.payload["from"] == str(PROWLER_SAMPLE)
    assert scans == []  # Clamp read nothing: the overview's last scan is still a scan
    assert cli("audit", "verify").exit_code == 0

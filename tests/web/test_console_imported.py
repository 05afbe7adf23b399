"""The console shows who reported a finding, and refuses to plan another tool's finding
that Clamp's own read does not confirm (the message on the page, nothing changed)."""

from __future__ import annotations

from pathlib import Path

from clamp.api.service import Service
from clamp.imports.interface import Source
from clamp.imports.mapping import map_findings
from clamp.imports.prowler import read_prowler
from clamp.imports.record import record_import
from web.client import Console

SAMPLE = Path(__file__).resolve().parents[1] / "imports" / "data" / "prowler-ocsf.json"
FIREWALLS = "//compute.googleapis.com/projects/clamp-demo-prod/global/firewalls/"


def test_imported_findings_name_their_reporter_and_an_unconfirmed_one_is_not_planned(
    console: Console, service: Service
) -> None:
    read = read_prowler(SAMPLE)
    result = map_findings(Source.PROWLER, read.failing, passed=read.passed)
    record_import(service.store, result, actor="tester", origin=str(SAMPLE))
    ids = {f.resource: f.id for f in result.mapped}
    console.sign_in("rem")

    refuted = console.page(f"/findings/{ids[FIREWALLS + 'legacy-ssh-disabled']}")
    confirmed = console.page(f"/findings/{ids[FIREWALLS + 'allow-ssh-web']}")

    assert refuted.status_code == 200
    assert "Reported by" in refuted.text and "not confirmed by Clamp yet" in refuted.text
    assert "does not confirm exposed-admin-port" in refuted.text
    assert "Also reported by</dt><dd>prowler" in confirmed.text
    assert service.store.actions() == []

"""The service fixes another tool's finding only once Clamp's own read confirms it, as the
command line does (the same engine): a refusal is a problem+json naming why."""

from __future__ import annotations

from pathlib import Path

from clamp.api.service import Service
from clamp.imports.interface import Source
from clamp.imports.mapping import map_findings
from clamp.imports.prowler import read_prowler
from clamp.imports.record import record_import
from service_client import Api

SAMPLE = Path(__file__).resolve().parents[1] / "imports" / "data" / "prowler-ocsf.json"
FIREWALLS = "//compute.googleapis.com/projects/clamp-demo-prod/global/firewalls/"


def test_an_unconfirmed_imported_finding_is_refused_and_a_confirmed_one_planned(
    api: Api, service: Service, tokens: dict[str, str]
) -> None:
    read = read_prowler(SAMPLE)
    result = map_findings(Source.PROWLER, read.failing, passed=read.passed)
    record_import(service.store, result, actor="tester", origin=str(SAMPLE))
    ids = {f.resource: f.id for f in result.mapped}
    rem = tokens["rem"]

    refused = api.post(f"/api/v1/findings/{ids[FIREWALLS + 'legacy-ssh-disabled']}/plan", rem)
    planned = api.post(f"/api/v1/findings/{ids[FIREWALLS + 'allow-ssh-web']}/plan", rem)

    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.status_code in (400, 409)
    assert "does not confirm exposed-admin-port" in refused.json()["detail"]
    assert planned.status_code == 200 and planned.json()["changes"]
    shown = api.get(f"/api/v1/findings/{ids[FIREWALLS + 'allow-ssh-web']}", rem).json()
    assert shown["source"] == "clamp, prowler"  # the service had found it already

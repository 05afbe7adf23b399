"""The service's scan with flow history: findings carry their evidence and the rules
file's ``on: signal`` rules open an incident and contain the VM."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from clamp.model import FindingStatus, Provider, RunStatus
from clamp.sandbox.server import Sandbox
from events.flows.history import ListHistory, flow
from service_client import PASSWORD, make_service

WEB1 = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"
RULES = """
rules:
  - name: contain-brute-force
    on: signal
    match: {signal: [success-after-failures]}
    playbook: quarantine-network-only
"""


def test_a_scan_with_flow_history_runs_the_signal_rules(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    service = make_service(sandbox, tmp_path, rules_file=tmp_path / "rules.yaml")
    try:
        # the rules act as the scan's actor, whose roles are checked: a responder here
        service.accounts.add("resp", ["responder"], actor="operator", password=PASSWORD)
        service.flow_history = ListHistory(
            [
                flow(
                    "45.9.1.1",
                    "10.128.0.11",
                    resource=WEB1,
                    flows=300,
                    provider=Provider.GCP,
                    ago=timedelta(hours=3),
                ),
                flow(
                    "45.9.1.1",
                    "10.128.0.11",
                    resource=WEB1,
                    bytes_received=900_000,
                    provider=Provider.GCP,
                ),
            ]
        )
        job = service.scan("resp", [Provider.GCP])
        service.idle()

        done = service.store.jobs.get(job.id)
        assert "flow signal(s): " in done.result and "1 applied" in done.result
        [incident] = service.store.incidents.incidents()
        assert incident.resource == WEB1 and "contain-brute-force" in incident.title
        [run] = service.store.incidents.runs(incident=incident.id)
        assert run.status == RunStatus.SUCCEEDED
        observed = [
            r
            for r in service.store.findings(status=FindingStatus.OPEN)
            if r.finding.details.get("observed")
        ]
        assert observed and observed[0].finding.details["observed"][0]["source"] == "45.9.1.1"
    finally:
        service.close()

"""The scheduler starts scans and rule runs when ``[schedule]`` says they are due, records
each as a job, keeps the cadence across a restart, and never runs two of a kind at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from clamp.api.scheduler import Scheduler
from clamp.config import AFTER_SCAN, Schedule
from clamp.sandbox.server import Sandbox
from service_client import make_service

RULES = """
rules:
  - name: close-public-admin-ports
    match: {check: [exposed-admin-port], provider: [gcp]}
    action: restrict_ingress
    params: {allow: [10.0.0.0/8]}
    mode: auto
    backlog: true
"""


def test_a_scheduled_scan_then_the_rules_after_it(sandbox: Sandbox, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    schedule = Schedule(scan=timedelta(hours=1), rules=AFTER_SCAN)
    service = make_service(sandbox, tmp_path, schedule=schedule, rules_file=rules)
    try:
        clock = Scheduler(service)
        now = datetime.now(UTC)
        [scan] = clock.run_due(now)
        assert scan.kind == "scan" and scan.actor == "schedule"
        assert clock.run_due(now) == []  # running: not twice
        service.idle()
        [run] = clock.run_due(now + timedelta(minutes=1))  # the scan ended: the rules
        assert run.kind == "rules"
        service.idle()
        done = service.store.jobs.get(run.id)
        assert done.status == "succeeded" and done.summary["applied"] >= 1, done.result
        assert all(a.actor == "rule:close-public-admin-ports" for a in service.store.actions())
        assert {a.status for a in service.store.actions()} == {"verified"}
        restarted = Scheduler(service)  # a new process: the cadence comes from the store
        assert restarted.run_due(now + timedelta(minutes=30)) == []
        [again] = restarted.run_due(now + timedelta(hours=1, minutes=1))
        assert again.kind == "scan"
        service.idle()
    finally:
        service.close()


def test_flow_logs_of_the_configured_storage_accounts_are_ingested_on_schedule(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from clamp.events.flows.config import FlowsConfig
    from clamp.sandbox.flow_traffic import publish_azure

    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    publish_azure(sandbox.state, sandbox.blobs, "clampflowlogs", start, 3)
    flows = FlowsConfig(schedule=timedelta(minutes=15), storage_accounts=("clampflowlogs",))
    service = make_service(sandbox, tmp_path, flows=flows)
    try:
        clock = Scheduler(service)
        now = datetime.now(UTC)
        assert clock.active
        [job] = clock.run_due(now)
        assert job.kind == "flows" and job.actor == "schedule"
        service.idle()
        done = service.store.jobs.get(job.id)
        assert done.status == "succeeded" and done.summary["tuples"] > 0, done.result
        assert clock.run_due(now + timedelta(minutes=5)) == []
        # the scan saw the NICs' MACs: each record's flows are filed under the NIC's VM
        kept = service.store.flows.observed(since=start, direction=None)
        assert kept and all("/virtualMachines/" in (a.resource_id or "") for a in kept)
    finally:
        service.close()

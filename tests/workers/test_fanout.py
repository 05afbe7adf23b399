"""The demo estate on two real Celery workers (Redis, PostgreSQL): the same findings as an
in-process scan, whatever a killed worker or a 429 storm does; a fix killed mid-write is
finished once, with nothing half done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from celery.result import AsyncResult

from clamp.checks import evaluate
from clamp.model import ActionStatus, Finding, FindingStatus, Provider
from clamp.providers.factory import driver_factory
from clamp.sandbox.state import Fault
from clamp.scanning import ScanResult, scan_clouds
from clamp.store.codec import record_from_json
from clamp.store.jobs import JobStatus
from clamp.workers.app import make_app, outcome
from clamp.workers.fanout import scan_on_workers
from clamp.workers.jobs import attempt_id
from worker_cluster import Cluster, canonical, in_process

NSG = "web-nsg"
SUB = "00000000-0000-4000-8000-000000000001"
HOLD = 8.0
"""Seconds of a held 429's Retry-After: long enough for the other worker to start in it."""


def on_workers(cluster: Cluster, sent: Any = None) -> ScanResult:
    """The estate scanned on the two workers into the shared PostgreSQL store."""
    settings = cluster.settings
    app = make_app(settings)
    drivers = driver_factory(settings)
    return scan_on_workers(cluster.store, app, drivers, list(Provider), {}, timeout=60, sent=sent)


def inject(cluster: Cluster, *faults: Fault) -> None:
    with cluster.sandbox.state.lock:
        cluster.sandbox.state.faults.extend(faults)


def started_pid(handle: AsyncResult, timeout: float = 30) -> int:
    """The pool process running ``handle``'s task, once it has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if handle.state == "STARTED":
            return int(handle.info["pid"])
        time.sleep(0.05)
    raise AssertionError(f"task {handle.id} never started ({handle.state})")


def test_the_estate_on_two_workers_gives_the_findings_of_an_in_process_scan(
    cluster: Cluster,
) -> None:
    expected = in_process(cluster)
    result = on_workers(cluster)
    assert result.errors == expected.errors == []
    assert sorted(result.scopes) == sorted(expected.scopes)
    assert len(result.scopes) >= 3
    assert result.resources == expected.resources
    assert canonical(result.findings) == canonical(expected.findings)
    stored = {r.id for r in cluster.store.findings(status=FindingStatus.OPEN)}
    assert stored == {f.id for f in expected.findings}


def test_a_worker_killed_mid_scan_loses_no_scope(cluster: Cluster) -> None:
    expected = in_process(cluster)
    # the project's first list call is slow enough to kill the process that makes it
    inject(cluster, Fault(provider="gcp", path="projects/clamp-demo-prod", latency_ms=3000))
    handles: dict[str, AsyncResult] = {}
    done: list[ScanResult] = []

    def sent(provider: Provider, scopes: Sequence[str], handle: AsyncResult) -> None:
        handles[scopes[0]] = handle

    scan = threading.Thread(target=lambda: done.append(on_workers(cluster, sent)))
    scan.start()
    while "clamp-demo-prod" not in handles and scan.is_alive():
        time.sleep(0.02)
    pid = started_pid(handles["clamp-demo-prod"])
    assert pid not in {w.pid for w in cluster.workers}  # a pool process, mid-task
    os.kill(pid, signal.SIGKILL)
    scan.join(timeout=90)
    assert done, "the scan did not finish after the kill"
    result = done[0]
    assert result.errors == []
    assert (Provider.GCP, "clamp-demo-prod") in result.scopes
    assert canonical(result.findings) == canonical(expected.findings)
    assert all(w.poll() is None for w in cluster.workers)  # the workers carry on


def test_a_429_storm_on_the_workers_calls_is_absorbed(cluster: Cluster) -> None:
    expected = in_process(cluster)
    # every worker's collection calls meet 429s with a Retry-After (the subscription and
    # project listing, made by the coordinator, is left alone)
    inject(
        cluster,
        *[Fault(provider="azure", path="/subscriptions/", status=429, retry_after=0.2)] * 2,
        *[Fault(provider="gcp", path="/compute/", status=429, retry_after=0.2)] * 2,
    )
    result = on_workers(cluster)
    with cluster.sandbox.state.lock:
        left = [f for f in cluster.sandbox.state.faults if f.status == 429 and f.times]
    assert left == []  # every injected 429 was met, and retried past
    assert result.errors == []
    assert canonical(result.findings) == canonical(expected.findings)


def test_a_retry_after_one_worker_meets_holds_the_subscription_for_the_other(
    cluster: Cluster,
) -> None:
    expected = canonical([f for f in in_process(cluster).findings if f.scope == SUB])
    assert cluster.settings.workers is not None and cluster.settings.workers.redis_url
    budget = redis.Redis.from_url(cluster.settings.workers.redis_url)
    hold = f"clamp:budget:azure:{SUB}:arm:hold"
    # ARM throttles the subscription: until the Retry-After has passed, every call under it
    # gets a 429 again, whichever worker makes it
    inject(
        cluster,
        Fault(
            provider="azure",
            path=f"/subscriptions/{SUB}/",
            status=429,
            retry_after=HOLD,
            holds=True,
        ),
    )
    app = make_app(cluster.settings)
    args = ["azure", [SUB], [SUB], None]
    first = app.send_task("clamp.scan_scopes", args=args)
    deadline = time.monotonic() + 30
    while budget.pttl(hold) <= 0:  # the first worker met the 429 and told the shared bucket
        assert time.monotonic() < deadline, "no worker held the subscription back"
        time.sleep(0.02)
    second = app.send_task("clamp.scan_scopes", args=args)
    assert started_pid(second) != started_pid(first)  # the first waits out its Retry-After
    assert budget.pttl(hold) > 0  # the second started while the subscription was held

    results = [outcome(handle.get(timeout=90)) for handle in (first, second)]
    _, _, throttled_first = results[0]["calls"]
    made_second, _, throttled_second = results[1]["calls"]
    assert throttled_first >= 1
    assert throttled_second == 0  # held back by the shared bucket, never sent into the storm
    assert made_second > 0
    for result in results:
        assert result["errors"] == [] and result["scopes"] == [SUB]
        assert canonical([record_from_json(Finding, f) for f in result["findings"]]) == expected


def test_a_fix_killed_mid_write_is_finished_once_with_no_half_change(cluster: Cluster) -> None:
    on_workers(cluster)
    finding = next(
        r
        for r in cluster.store.findings(status=FindingStatus.OPEN)
        if r.finding.check == "exposed-admin-port" and r.finding.resource.endswith("/" + NSG)
    )
    app = make_app(cluster.settings)
    key = f"fix-{uuid.uuid4().hex}"
    args = [finding.id, key, "tester", {"params": {"allow": ["10.0.0.0/8"]}}]
    inject(cluster, Fault(provider="azure", method="PUT", path=NSG, latency_ms=2000))
    handle = app.send_task("clamp.fix", args=args)
    pid = started_pid(handle)
    deadline = time.monotonic() + 30
    while not cluster.store.in_flight_actions():  # journaled: the write is under way
        assert time.monotonic() < deadline, "the fix was never journaled"
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    done = outcome(handle.get(timeout=90))
    assert done["status"] == ActionStatus.VERIFIED.value
    again = outcome(app.send_task("clamp.fix", args=args).get(timeout=60))
    assert again["id"] == done["id"]  # a duplicate task does not apply twice

    time.sleep(max(0.0, killed + 2.5 - time.monotonic()))  # the dead process's PUT lands
    assert cluster.store.in_flight_actions() == []
    mine = [a for a in cluster.store.actions() if a.id in {attempt_id(key, n) for n in (1, 2, 3)}]
    assert [a.status for a in mine if a.status == ActionStatus.VERIFIED] == [ActionStatus.VERIFIED]
    assert all(a.status == ActionStatus.FAILED for a in mine if a.id != done["id"])
    drivers = driver_factory(cluster.settings)
    related = drivers(Provider.AZURE).read_related(finding.finding.resource)
    now = {f.id for f in evaluate(related, cluster.settings)}
    assert finding.id not in now  # the change holds in the cloud, the finding is gone
    assert cluster.store.audit.verify() > 0


def test_clamp_scan_workers_prints_what_an_in_process_scan_prints(cluster: Cluster) -> None:
    def clamp(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "clamp", *args],
            env={**cluster.env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
        )

    settings = cluster.settings  # the store settled on the estate as it is now
    scan_clouds(settings, cluster.store, driver_factory(settings), list(Provider), {})
    fanned, here = clamp("scan", "--workers"), clamp("scan")
    assert fanned.returncode == here.returncode == 0, fanned.stderr + here.stderr

    def summary(out: str) -> tuple[list[str], list[str]]:
        lines = out.splitlines()
        calls = [line.split(":")[0] for line in lines if " calls (" in line]
        return [line for line in lines if " calls (" not in line], calls

    # the same summary; the calls differ (a worker reads its scopes one batch at a time)
    assert summary(fanned.stdout) == summary(here.stdout)
    assert summary(fanned.stdout)[1] == ["azure", "gcp"]
    assert "finding(s)" in fanned.stdout
    assert clamp("scan", "--workers", "--input", "x.json").returncode == 2


def test_the_services_scheduled_scan_runs_on_the_workers(cluster: Cluster) -> None:
    from clamp.api.scheduler import Scheduler
    from clamp.api.service import Service
    from clamp.config import Schedule

    settings = replace(cluster.settings, schedule=Schedule(scan=timedelta(hours=1)))
    service = Service(settings, store=cluster.store, workers=1)
    results = redis.Redis.from_url(settings.workers.backend) if settings.workers else None
    assert results is not None
    before = len(results.keys("celery-task-meta-*"))
    try:
        [job] = Scheduler(service).run_due(datetime.now(UTC) + timedelta(days=1))
        service.idle(timeout=120)
    finally:
        service.pool.shutdown(wait=True)
    done = cluster.store.jobs.get(job.id)
    assert done.status == JobStatus.SUCCEEDED, done.result
    assert len(done.summary["scopes"]) >= 3
    assert "finding(s)" in done.result
    assert len(results.keys("celery-task-meta-*")) >= before + 3  # one task per scope

"""Fixes, undos and containments tell the sinks, through the outbox: the real engine and
SDKs against the sandbox, the notices delivered to a local receiver; Sentinel through the
real Logs Ingestion client against the sandbox's endpoint."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clamp.model import ActionStatus, Provider, Severity
from clamp.notify.config import NotifyConfig, SinkConfig, SinkKind
from clamp.notify.dispatcher import Dispatcher
from clamp.store.notice_records import DeliveryStatus
from notify_kit import webhook
from outputs.test_ocsf import validate
from receivers import Receiver
from rig import Rig

ADMIN = "exposed-admin-port"
RULE = "dcr-" + "0123456789abcdef" * 2
STREAM = "Custom-ClampEvents_CL"


def fix_ssh(rig: Rig) -> str:
    finding = rig.finding(Provider.AZURE, ADMIN, "web-nsg")
    plan = rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]})
    record = rig.engine.apply(plan, actor="tester", reason="test")
    assert record.status == ActionStatus.VERIFIED
    return record.id


def test_a_fix_and_its_undo_reach_the_webhook_as_remediation_activities(
    demo_rig: Rig, hook: Receiver
) -> None:
    settings = replace(
        demo_rig.settings, notify=NotifyConfig((webhook(hook.url, events=["action.*", "undo.*"]),))
    )
    action = fix_ssh(demo_rig)
    demo_rig.engine.undo(action, actor="tester")

    assert Dispatcher(demo_rig.store, settings).drain().delivered == 4
    events = [r.json() for r in hook.requests]
    assert [e["type"] for e in events] == [
        "action.applied",
        "action.verified",
        "undo.verified",
        "action.undone",
    ]
    verified = events[1]["data"]
    assert verified["subject"] == action and verified["severity"] == "critical"
    validate(verified["ocsf"])
    assert verified["ocsf"]["status"] == "Success"
    assert verified["ocsf"]["unmapped"]["intent"] == "restrict_ingress"
    # the snapshot is the action as it was: the first notice says "applied", not "undone"
    assert events[0]["data"]["ocsf"]["status"].startswith("in progress")


def test_a_sink_that_is_down_never_fails_the_fix(demo_rig: Rig, hook: Receiver) -> None:
    settings = replace(demo_rig.settings, notify=NotifyConfig((webhook(hook.url),)))
    hook.success = 503

    action = fix_ssh(demo_rig)  # the engine never talks to a sink
    report = Dispatcher(demo_rig.store, settings).drain()

    assert demo_rig.store.action(action).status == ActionStatus.VERIFIED
    assert report.delivered == 0 and report.retrying > 0
    pending = demo_rig.store.notices.deliveries(DeliveryStatus.PENDING)
    assert {d.notice.kind for d in pending} >= {"action.verified", "finding.opened"}


def test_sentinel_gets_the_notices_through_the_logs_ingestion_client(demo_rig: Rig) -> None:
    sink = SinkConfig(
        name="sentinel",
        kind=SinkKind.SENTINEL,
        url=demo_rig.sandbox.azure_url,
        rule_id=RULE,
        stream=STREAM,
        events=["action.verified", "finding.resolved"],
    )
    settings = replace(demo_rig.settings, notify=NotifyConfig((sink,)))
    action = fix_ssh(demo_rig)
    demo_rig.scan()  # the fixed finding resolves

    dispatcher = Dispatcher(demo_rig.store, settings)
    report = dispatcher.drain()
    dispatcher.close()

    records = demo_rig.sandbox.state.ingested[f"{RULE}/{STREAM}"]
    assert report.delivered == len(records) >= 2
    kinds = {r["Kind"] for r in records}
    assert kinds == {"action.verified", "finding.resolved"}
    fixed = next(r for r in records if r["Kind"] == "action.verified")
    assert fixed["Subject"] == action and fixed["Ocsf"]["class_uid"] == 7004
    resolved = next(r for r in records if r["Kind"] == "finding.resolved")
    assert resolved["Ocsf"]["status"] == "Resolved"
    validate(resolved["Ocsf"])


def test_sentinel_with_an_unknown_rule_is_a_dead_letter(demo_rig: Rig) -> None:
    sink = SinkConfig(
        name="sentinel",
        kind=SinkKind.SENTINEL,
        url=demo_rig.sandbox.azure_url,
        rule_id="not-a-dcr",
        stream=STREAM,
        events=["finding.opened"],
    )
    settings = replace(demo_rig.settings, notify=NotifyConfig((sink,)))

    report = Dispatcher(demo_rig.store, settings).drain()

    assert report.delivered == 0 and report.dead > 0
    dead = demo_rig.store.notices.deliveries(DeliveryStatus.DEAD)[0]
    assert "not found" in dead.error


def test_cloud_logging_gets_structured_entries_through_the_logging_api(demo_rig: Rig) -> None:
    sink = SinkConfig(
        name="gcp-logs",
        kind=SinkKind.CLOUD_LOGGING,
        url="",
        project="clamp-demo-prod",
        events=["finding.opened"],
        min_severity=Severity.CRITICAL,
    )
    settings = replace(demo_rig.settings, notify=NotifyConfig((sink,)))

    report = Dispatcher(demo_rig.store, settings).drain()

    entries = demo_rig.sandbox.state.ingested["projects/clamp-demo-prod/logs/clamp-notices"]
    notices = {n.id: n for n in demo_rig.store.notices.notices()}
    assert report.delivered == len(entries) > 0
    for entry in entries:
        notice = notices[entry["insertId"]]
        assert notice.kind == "finding.opened" and notice.severity == "critical"
        assert entry["severity"] == "CRITICAL"
        assert entry["resource"] == {"type": "global", "labels": {"project_id": "clamp-demo-prod"}}
        assert entry["labels"] == {"clamp_kind": "finding.opened", "clamp_subject": notice.subject}
        validate(entry["jsonPayload"]["data"]["ocsf"])


def test_a_write_cloud_logging_refuses_is_one_clear_error(demo_rig: Rig) -> None:
    from clamp.errors import CloudError
    from clamp.providers.gcp.cloud_logging import LogWriter

    writer = LogWriter(demo_rig.settings, "no/such", "clamp-notices")
    with pytest.raises(CloudError, match="write to projects/no/such/logs/clamp-notices"):
        writer.write([{"jsonPayload": {"x": 1}}])
    assert demo_rig.sandbox.state.ingested == {}

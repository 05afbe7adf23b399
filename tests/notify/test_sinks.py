"""Each sink's request as its receiver checks it: signature, auth and payload shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
import standardwebhooks

from clamp.model import Severity
from clamp.notify.config import SinkConfig, SinkKind
from clamp.notify.dispatcher import Dispatcher
from clamp.store import Store
from notify_kit import SECRET, finding, scan, settings, webhook
from outputs.test_ocsf import validate
from receivers import Received, Receiver


def deliver(store: Store, sink: SinkConfig, hook: Receiver) -> Received:
    scan(store, finding("nsg-a", Severity.CRITICAL))
    report = Dispatcher(store, settings(store, sink)).drain()
    assert report.delivered == 1, store.notices.deliveries()
    [received] = hook.requests
    return received


def test_the_webhook_is_signed_the_standard_webhooks_way(store: Store, hook: Receiver) -> None:
    sent = deliver(store, webhook(hook.url), hook)

    verified: Any = standardwebhooks.Webhook(SECRET).verify(sent.body, sent.headers)

    assert verified["type"] == "finding.opened"
    assert sent.headers["webhook-signature"].startswith("v1,")
    tampered = sent.body.replace(b"critical", b"low")
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(tampered, sent.headers)
    other = "whsec_" + "QQ==" * 8
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(sent.body, sent.headers)


def test_the_webhook_carries_the_ocsf_detection_finding(store: Store, hook: Receiver) -> None:
    sent = deliver(store, webhook(hook.url), hook).json()

    data = sent["data"]
    assert data["severity"] == "critical" and data["subject"] == finding("nsg-a").id
    validate(data["ocsf"])
    assert data["ocsf"]["class_uid"] == 2004
    assert data["ocsf"]["finding_info"]["analytic"]["uid"] == "exposed-admin-port"
    assert data["ocsf"]["status"] == "New"


def test_slack_gets_block_kit(store: Store, hook: Receiver) -> None:
    sink = SinkConfig(name="chat", kind=SinkKind.SLACK, url=hook.url + "/services/T/B/X")
    sent = deliver(store, sink, hook)
    body = sent.json()

    assert sent.path == "/services/T/B/X"
    assert body["text"].startswith("Finding opened (critical): SSH open")
    header, line, facts, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": body["text"]}}
    assert line["type"] == "section" and "exposed-admin-port" in line["text"]["text"]
    assert "*Severity:* critical" in [f["text"] for f in facts["fields"]]
    assert context["type"] == "context"


def test_teams_gets_an_adaptive_card_through_the_workflows_webhook(
    store: Store, hook: Receiver
) -> None:
    sink = SinkConfig(name="teams", kind=SinkKind.TEAMS, url=hook.url + "/workflows/abc")
    body = deliver(store, sink, hook).json()

    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, _text, facts = card["body"]
    assert title["color"] == "attention" and title["text"].startswith("Finding opened")
    assert {"title": "Severity", "value": "critical"} in facts["facts"]


def test_splunk_hec_gets_one_event_with_the_splunk_token(store: Store, hook: Receiver) -> None:
    sink = SinkConfig(name="hec", kind=SinkKind.SPLUNK, url=hook.url, secret="0000-token")
    sent = deliver(store, sink, hook)
    body = json.loads(sent.body)

    assert sent.path == "/services/collector/event"
    assert sent.headers["authorization"] == "Splunk 0000-token"
    assert body["sourcetype"] == "clamp:notice" and isinstance(body["time"], float)
    assert body["event"]["type"] == "finding.opened"
    validate(body["event"]["data"]["ocsf"])


def test_a_notify_rules_match_reads_as_what_the_rule_would_do(store: Store, hook: Receiver) -> None:
    from datetime import UTC, datetime

    from clamp.model import Outcome
    from clamp.store.records import RuleAction

    scan(store, finding("nsg-a", Severity.CRITICAL))
    action = RuleAction(
        "ssh",
        "run-1",
        finding("nsg-a").id,
        "restrict_ingress",
        Outcome.PLANNED,
        datetime.now(UTC),
        "narrow 22 to 10.0.0.0/8",
    )
    store.rules.record(action)
    sink = webhook(hook.url, events=["rule.notified"])

    assert Dispatcher(store, settings(store, sink)).drain().delivered == 1
    data = hook.requests[0].json()["data"]
    assert data["title"] == "Automation rule match (critical): SSH open"
    assert data["text"] == "rule ssh would restrict_ingress: narrow 22 to 10.0.0.0/8 (by rule:ssh)"
    validate(data["ocsf"])

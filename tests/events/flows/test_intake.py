"""GCP flow-log entries through the Pub/Sub intake (a log sink's deliveries, push or pull):
folded into the aggregates once, whatever the redeliveries."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.intake import flow_log_entry, take_message
from clamp.sandbox.flow_traffic import gcp_entries
from clamp.sandbox.scenario import load_state
from clamp.store import Store

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def _push(entry: dict[str, object], message_id: str) -> bytes:
    data = base64.b64encode(json.dumps(entry).encode()).decode()
    return json.dumps(
        {"message": {"data": data, "messageId": message_id}, "subscription": "s"}
    ).encode()


def test_a_redelivered_flow_entry_is_counted_once(store: Store) -> None:
    entries = list(gcp_entries(load_state(None), START, 1))
    config = FlowsConfig()
    assert [take_message(store, config, _push(e, str(n))) for n, e in enumerate(entries)] == [
        True
    ] * len(entries)
    kept = store.flows.observed(since=START, direction=None)
    flows = sum(a.flows for a in kept)
    assert flows == len(entries)
    assert take_message(store, config, _push(entries[0], "again")) is False
    assert sum(a.flows for a in store.flows.observed(since=START, direction=None)) == flows


def test_other_deliveries_are_left_to_the_event_parsers() -> None:
    audit = {"logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity", "protoPayload": {}}
    assert flow_log_entry(_push(audit, "1")) is None
    assert flow_log_entry(b"not json") is None
    assert flow_log_entry(b'{"message": {"data": "%%%"}}') is None

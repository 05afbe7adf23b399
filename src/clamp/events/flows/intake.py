"""GCP flow-log entries arriving through the Pub/Sub intake: a log sink whose filter takes
``compute.googleapis.com%2Fvpc_flows`` or ``…%2Ffirewall`` entries delivers them like
audit entries (push or pull); they are folded into the aggregates instead of becoming
change events.

Each entry is taken once: its cursor (``entry:`` + ``logName`` + ``insertId``, Cloud
Logging's per-log unique id) commits with its aggregates, so a redelivered message counts
nothing twice; these cursors are pruned with the buckets past retention.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.fold import Addresses
from clamp.events.flows.ingest import FlowIngest
from clamp.files import loads_json
from clamp.providers.gcp.flowlogs import flow_log_kind
from clamp.store.store import Store


def flow_log_entry(body: bytes) -> Mapping[str, Any] | None:
    """The VPC flow or firewall LogEntry a Pub/Sub push body (or pulled message) carries;
    None for anything else (the event parsers judge those)."""
    try:
        wrapper = loads_json(body)
        data = wrapper["message"]["data"]
        entry = loads_json(base64.b64decode(data, validate=True))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(entry, Mapping) or flow_log_kind(entry) is None:
        return None
    return entry


def take_entry(store: Store, config: FlowsConfig, entry: Mapping[str, Any]) -> bool:
    """Fold one flow-log entry into the store; False when it was taken before."""
    source = f"entry:{entry.get('logName', '')}:{entry.get('insertId', '')}"
    store.flows.bucket = config.bucket
    with store.flows.writing() as writer:
        cursor = writer.cursor(source)
        if cursor.records:
            return False
        ingest = FlowIngest(writer, config, Addresses(), count=False)
        ingest.entry(entry, f"Pub/Sub message {entry.get('insertId', '')}")
        cursor.records = 1
        writer.save_cursor(cursor)
        ingest.flush()
    return True


def take_message(store: Store, config: FlowsConfig, body: bytes) -> bool | None:
    """Take the flow-log entry a delivery carries: None when it carries none, else whether
    it was new."""
    entry = flow_log_entry(body)
    return None if entry is None else take_entry(store, config, entry)

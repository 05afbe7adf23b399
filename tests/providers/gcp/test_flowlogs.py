"""GCP VPC Flow Logs and Firewall Rules Logging entries parsed as Cloud Logging exports
them (``gcloud logging read --format=json`` arrays and NDJSON)."""

from __future__ import annotations

import io
import json

import pytest

from clamp.errors import InputError
from clamp.events.flows.model import FlowDecision
from clamp.events.flows.rows import flow_tuple
from clamp.model import Direction, Provider
from clamp.providers.gcp.flowlogs import entry_rows, entry_targets, file_entries, flow_log_kind

VM = {"project_id": "p1", "region": "europe-west1", "zone": "europe-west1-b", "vm_name": "web-1"}
VPC_FLOW = {
    "insertId": "1",
    "logName": "projects/p1/logs/compute.googleapis.com%2Fvpc_flows",
    "resource": {
        "type": "gce_subnetwork",
        "labels": {"project_id": "p1", "location": "europe-west1", "subnetwork_name": "prod"},
    },
    "timestamp": "2026-12-01T10:00:09.123456789Z",
    "jsonPayload": {
        "connection": {
            "src_ip": "198.51.100.7",
            "src_port": 50001,
            "dest_ip": "10.128.0.11",
            "dest_port": 22,
            "protocol": 6,
        },
        "reporter": "DEST",
        "start_time": "2026-12-01T10:00:01.987654321Z",
        "end_time": "2026-12-01T10:00:06Z",
        "bytes_sent": "4200",
        "packets_sent": "12",
        "dest_instance": VM,
    },
}
FIREWALL = {
    "insertId": "2",
    "logName": "projects/p1/logs/compute.googleapis.com%2Ffirewall",
    "resource": {"type": "gce_subnetwork", "labels": {"project_id": "p1"}},
    "timestamp": "2026-12-01T10:00:02Z",
    "jsonPayload": {
        "connection": {
            "src_ip": "185.220.101.9",
            "src_port": 41000,
            "dest_ip": "10.128.0.11",
            "dest_port": 3389,
            "protocol": 6,
        },
        "disposition": "DENIED",
        "rule_details": {
            "reference": "network:prod/firewall:deny-rdp",
            "direction": "INGRESS",
            "priority": 900,
        },
        "instance": VM,
    },
}
AUDIT = {"logName": "projects/p1/logs/cloudaudit.googleapis.com%2Factivity", "protoPayload": {}}
INSTANCE = "//compute.googleapis.com/projects/p1/zones/europe-west1-b/instances/web-1"


def test_a_vpc_flow_entry_is_one_allowed_inbound_row_with_its_int64_strings_as_numbers() -> None:
    (row,) = entry_rows(VPC_FLOW, "e")
    flow = flow_tuple(Provider.GCP, row)
    assert (flow.source, flow.destination, flow.port, flow.protocol) == (
        "198.51.100.7",
        "10.128.0.11",
        22,
        "tcp",
    )
    assert flow.direction is Direction.INGRESS and flow.decision is FlowDecision.ALLOWED
    assert (flow.bytes_sent, flow.packets_sent, flow.bytes_received) == (4200, 12, 0)
    assert flow.resource_id == INSTANCE
    assert flow.time.isoformat() == "2026-12-01T10:00:01.987000+00:00"
    assert entry_targets(VPC_FLOW) == [
        "//compute.googleapis.com/projects/p1/regions/europe-west1/subnetworks/prod",
        INSTANCE,
    ]


def test_a_source_reported_flow_is_outbound_from_the_source_vm() -> None:
    entry = json.loads(json.dumps(VPC_FLOW))
    payload = entry["jsonPayload"]
    payload["reporter"], payload["src_instance"] = "SRC", payload.pop("dest_instance")
    (row,) = entry_rows(entry, "e")
    assert row[6] is Direction.EGRESS and row[9] == INSTANCE


def test_a_firewall_entry_carries_the_disposition_and_the_rule() -> None:
    (row,) = entry_rows(FIREWALL, "e")
    flow = flow_tuple(Provider.GCP, row)
    assert flow.decision is FlowDecision.DENIED
    assert flow.rule == "network:prod/firewall:deny-rdp"
    assert (flow.port, flow.resource_id, flow.direction) == (3389, INSTANCE, Direction.INGRESS)
    assert "//compute.googleapis.com/projects/p1/global/firewalls/deny-rdp" in entry_targets(
        FIREWALL
    )


def test_other_entries_are_not_flows() -> None:
    assert flow_log_kind(AUDIT) is None
    assert list(entry_rows(AUDIT, "e")) == []


def test_json_arrays_and_ndjson_are_read_entry_by_entry() -> None:
    array = json.dumps([VPC_FLOW, AUDIT, FIREWALL]).encode()
    ndjson = b"\n".join(json.dumps(e).encode() for e in (VPC_FLOW, AUDIT, FIREWALL)) + b"\n\n"
    for data in (array, ndjson):
        entries = list(file_entries(io.BufferedReader(io.BytesIO(data)), "f"))
        assert [flow_log_kind(e) for e in entries] == ["vpc_flows", None, "firewall"]


def test_malformed_exports_name_the_line_or_entry() -> None:
    ndjson = json.dumps(VPC_FLOW).encode() + b"\n{not json\n"
    with pytest.raises(InputError, match=r"flows\.ndjson: line 2"):
        list(file_entries(io.BufferedReader(io.BytesIO(ndjson)), "flows.ndjson"))
    array = json.dumps([VPC_FLOW, FIREWALL]).encode()[:-40]
    with pytest.raises(InputError, match=r"flows\.json: entry 2"):
        list(file_entries(io.BufferedReader(io.BytesIO(array)), "flows.json"))
    broken = json.loads(json.dumps(VPC_FLOW))
    broken["jsonPayload"]["bytes_sent"] = "lots"
    with pytest.raises(InputError, match="e: malformed vpc_flows entry"):
        list(entry_rows(broken, "e"))

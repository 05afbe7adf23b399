"""Azure flow logs parsed as Network Watcher writes them: the VNet flow log (schema v4)
sample from Microsoft's docs, NSG flow logs v2, the blocks of a PT1H.json blob."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from clamp.errors import InputError
from clamp.events.flows.model import FlowDecision
from clamp.events.flows.rows import flow_tuple
from clamp.model import Direction, Provider
from clamp.providers.azure.flowlogs import (
    block_record,
    file_records,
    is_flow_log_document,
    nic_addresses,
    record_rows,
    record_target,
)

SAMPLE = (
    Path(__file__).resolve().parents[4]
    / "shared/data/flowlogs/azure-vnet-flowlog-v4.msdocs-sample.json"
)
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} (shared data) is absent")

# An NSG flow log v2 record in the shape of "Flow logging for network security groups".
NSG_V2 = {
    "time": "2026-12-01T10:00:35.3899262Z",
    "systemId": "a0fca5ce-022c-47b1-9735-89943b42f2fa",
    "category": "NetworkSecurityGroupFlowEvent",
    "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG",
    "operationName": "NetworkSecurityGroupFlowEvents",
    "properties": {
        "Version": 2,
        "flows": [
            {
                "rule": "DefaultRule_DenyAllInBound",
                "flows": [
                    {
                        "mac": "000D3AF87856",
                        "flowTuples": ["1764583202,94.102.49.190,10.5.16.4,28746,443,U,I,D,B,,,,"],
                    }
                ],
            },
            {
                "rule": "UserRule_allow-ssh",
                "flows": [
                    {
                        "mac": "000D3AF87856",
                        "flowTuples": [
                            "1764583210,198.51.100.7,10.5.16.4,50001,22,T,I,A,B,,,,",
                            "1764583270,198.51.100.7,10.5.16.4,50001,22,T,I,A,E,12,1500,10,4200",
                        ],
                    }
                ],
            },
        ],
    },
}


def _sample_records() -> list[dict[str, object]]:
    with SAMPLE.open("rb") as stream:
        return list(file_records(stream, str(SAMPLE)))


@needs_sample
def test_the_vnet_sample_yields_every_tuple_with_volumes_both_ways() -> None:
    (record,) = _sample_records()
    rows = list(record_rows(record, "sample", {}))
    assert len(rows) == 19
    ended = flow_tuple(Provider.AZURE, rows[1])
    assert (ended.source, ended.destination, ended.port, ended.protocol) == (
        "10.0.0.6",
        "52.239.184.180",
        443,
        "tcp",
    )
    assert ended.direction is Direction.EGRESS and ended.state == "E"
    assert (ended.packets_sent, ended.bytes_sent, ended.packets_received, ended.bytes_received) == (
        3,
        767,
        2,
        1580,
    )
    assert ended.rule == "DefaultRule_AllowInternetOutBound"
    assert ended.time.isoformat() == "2022-09-14T09:00:03.606000+00:00"
    assert record_target(record) is not None and record_target(record).endswith(
        "/virtualNetworks/myVNet"
    )


@needs_sample
def test_denied_vnet_tuples_carry_the_rule_that_refused_them() -> None:
    (record,) = _sample_records()
    denied = [
        flow_tuple(Provider.AZURE, r) for r in record_rows(record, "sample", {}) if r[10] == "D"
    ]
    ssh = next(t for t in denied if t.port == 22)
    assert ssh.decision is FlowDecision.DENIED
    assert ssh.direction is Direction.INGRESS
    assert (ssh.source, ssh.rule) == ("101.33.218.153", "BlockHighRiskTCPPortsFromInternet")


@needs_sample
def test_a_known_mac_names_the_vm_the_record_is_for() -> None:
    (record,) = _sample_records()
    rows = list(record_rows(record, "sample", {"00224871C205": "/sub/vm/web-1"}))
    assert {r[9] for r in rows} == {"/sub/vm/web-1"}


def test_nsg_v2_tuples_are_seconds_with_letters_for_protocol_and_decision() -> None:
    rows = [flow_tuple(Provider.AZURE, r) for r in record_rows(NSG_V2, "nsg", {})]
    assert [(t.protocol, t.decision, t.state) for t in rows] == [
        ("udp", FlowDecision.DENIED, "B"),
        ("tcp", FlowDecision.ALLOWED, "B"),
        ("tcp", FlowDecision.ALLOWED, "E"),
    ]
    assert rows[0].time.timestamp() == 1764583202
    assert (
        rows[2].packets_sent,
        rows[2].bytes_sent,
        rows[2].packets_received,
        rows[2].bytes_received,
    ) == (
        12,
        1500,
        10,
        4200,
    )
    assert rows[1].bytes_sent == 0 and rows[1].rule == "UserRule_allow-ssh"
    assert record_target(NSG_V2) == NSG_V2["resourceId"]


def test_a_malformed_tuple_is_an_input_error_naming_where() -> None:
    broken = json.loads(json.dumps(NSG_V2))
    broken["properties"]["flows"][0]["flows"][0]["flowTuples"] = ["1764583202,94.102.49.190"]
    with pytest.raises(InputError, match=r"blob\.json: record 3"):
        list(record_rows(broken, "blob.json: record 3", {}))
    with pytest.raises(InputError, match="neither a VNet flow log"):
        list(record_rows({"records": []}, "x", {}))


def test_a_truncated_document_names_the_record_it_broke_in() -> None:
    text = json.dumps({"records": [NSG_V2, NSG_V2]})[:-300].encode()
    with pytest.raises(InputError, match=r"PT1H.json: record 2"):
        list(file_records(io.BytesIO(text), "PT1H.json"))


def test_blocks_of_a_blob_are_the_opening_the_records_and_the_closing() -> None:
    record = json.dumps(NSG_V2).encode()
    assert block_record(b'{"records":[', "b") is None
    assert block_record(b"]}", "b") is None
    assert block_record(record, "b") == NSG_V2
    assert block_record(b"," + record, "b") == NSG_V2
    with pytest.raises(InputError, match="not a flow-log record"):
        block_record(b',{"time": ', "b")
    assert is_flow_log_document(b'\n{\n  "records": [')
    assert not is_flow_log_document(b'{"insertId": "x"}')


def test_a_nic_is_filed_under_its_vm_with_its_private_ips_and_mac() -> None:
    nic = {
        "id": "/s/nic/web-1-nic",
        "properties": {
            "macAddress": "00-22-48-71-C2-05",
            "virtualMachine": {"id": "/s/vm/web-1"},
            "ipConfigurations": [{"properties": {"privateIPAddress": "10.0.0.6"}}],
        },
    }
    assert nic_addresses(nic) == ("/s/vm/web-1", ["10.0.0.6"], "00224871C205")

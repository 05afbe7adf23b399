"""The aggregator's two folds (flow rows, and the Azure CSV tuple groups of the hot path)
keep the same aggregates; a malformed tuple names where it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clamp.errors import InputError
from clamp.events.flows.aggregate import Aggregator
from clamp.providers.azure.flowlogs import record_groups, record_rows
from clamp.sandbox.flow_traffic import azure_records
from clamp.sandbox.scenario import load_state

START = datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_both_folds_keep_the_same_aggregates() -> None:
    records = [r for _, _, r in azure_records(load_state(None), START, 4)]
    addresses = {"10.0.0.4": "/vm/web-1"}
    by_rows, by_groups = (
        Aggregator(timedelta(hours=1), addresses),
        Aggregator(timedelta(hours=1), addresses),
    )
    for record in records:
        by_rows.fold("azure", record_rows(record, "r", {}), ["/vnet"])
        by_groups.fold_groups("azure", record_groups(record, "r", {}), "r", ["/vnet"])
    rows, covered = by_rows.drain()
    groups, covered_too = by_groups.drain()
    assert sorted(rows) == sorted(groups) and len(rows) > 10
    assert covered == covered_too
    assert any(row[2] == "/vm/web-1" for row in rows)
    assert (by_rows.first_ms, by_rows.last_ms) == (by_groups.first_ms, by_groups.last_ms)


def test_a_malformed_tuple_in_the_hot_path_names_where() -> None:
    (record,) = [r for _, _, r in azure_records(load_state(None), START, 1)][:1]
    record["flowRecords"]["flows"][0]["flowGroups"][0]["flowTuples"].append("1764583202,1.2.3.4")
    with pytest.raises(InputError, match=r"PT1H\.json: record 7"):
        Aggregator(timedelta(hours=1)).fold_groups(
            "azure", record_groups(record, "x", {}), "PT1H.json: record 7"
        )


def test_vnet_and_nsg_tuples_folded_together_keep_their_own_protocol_names() -> None:
    vnet = {
        "macAddress": "00224871C205",
        "targetResourceID": "/vnet",
        "flowRecords": {
            "flows": [
                {
                    "flowGroups": [
                        {
                            "rule": "r",
                            "flowTuples": ["1764583202000,1.2.3.4,10.0.0.4,5,22,6,I,D,NX,0,0,0,0"],
                        }
                    ]
                }
            ]
        },
    }
    nsg = {
        "resourceId": "/nsg",
        "properties": {
            "flows": [
                {
                    "rule": "r",
                    "flows": [
                        {"mac": "M", "flowTuples": ["1764583203,1.2.3.4,10.0.0.4,5,22,6,I,D,B,,,,"]}
                    ],
                }
            ]
        },
    }
    by_rows, by_groups = Aggregator(timedelta(hours=1)), Aggregator(timedelta(hours=1))
    for record in (vnet, nsg):
        by_rows.fold("azure", record_rows(record, "r", {}))
        by_groups.fold_groups("azure", record_groups(record, "r", {}), "r")
    rows, groups = by_rows.drain()[0], by_groups.drain()[0]
    assert sorted(rows) == sorted(groups)
    assert sorted(row[5] for row in groups) == ["6", "tcp"]  # NSG v2 names T/U only

"""Flow-log ingestion from files: aggregates only, incremental, restart-safe, all or
nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from clamp.errors import InputError
from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.ingest import ingest_paths
from clamp.events.flows.model import FlowDecision
from clamp.model import Direction, Provider, Resource, ResourceType
from clamp.sandbox.flow_traffic import azure_document, azure_records, gcp_entries
from clamp.sandbox.scenario import load_state
from clamp.store import Store
from clamp.store.flow_tables import FlowAggregateRow, FlowCoverageRow, FlowCursorRow

SAMPLE = (
    Path(__file__).resolve().parents[4]
    / "shared/data/flowlogs/azure-vnet-flowlog-v4.msdocs-sample.json"
)
KEEP = FlowsConfig(retention_days=100_000)
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def _totals(store: Store) -> tuple[int, int, int]:
    """(aggregate rows, flows, bytes both ways) in the store."""
    with store.engine.connect() as connection:
        rows, flows, sent, got = connection.execute(
            select(
                func.count(),
                func.coalesce(func.sum(FlowAggregateRow.flows), 0),
                func.coalesce(func.sum(FlowAggregateRow.bytes_sent), 0),
                func.coalesce(func.sum(FlowAggregateRow.bytes_received), 0),
            )
        ).one()
    return int(rows), int(flows), int(sent) + int(got)


def _stored(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every aggregate (all columns but the row id) and coverage row, sorted."""
    aggregates = [c for c in FlowAggregateRow.__table__.columns if c.name != "id"]
    with store.engine.connect() as connection:
        rows = connection.execute(select(*aggregates).order_by(FlowAggregateRow.key)).all()
        covered = connection.execute(
            select(FlowCoverageRow.provider, FlowCoverageRow.resource, FlowCoverageRow.bucket)
        ).all()
    return [tuple(r) for r in rows], sorted(tuple(r) for r in covered)


def _azure_file(path: Path, minutes: int) -> Path:
    records = [r for _, _, r in azure_records(load_state(None), START, minutes)]
    path.write_bytes(azure_document(records))
    return path


def _gcp_file(path: Path, minutes: int, start: datetime = START) -> Path:
    entries = gcp_entries(load_state(None), start, minutes)
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


@pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} (shared data) is absent")
def test_the_real_sample_is_kept_as_aggregates_and_counted_once(store: Store) -> None:
    first = ingest_paths(store, KEEP, [SAMPLE])
    assert (first.files, first.tuples, first.aggregates) == (1, 19, 12)
    before = _totals(store)
    again = ingest_paths(store, KEEP, [SAMPLE])
    assert (again.tuples, again.aggregates, again.skipped) == (0, 0, 1)
    assert _totals(store) == before
    flows = store.flows.observed(since=datetime(2022, 9, 14, tzinfo=UTC), destinations=["10.0.0.6"])
    ssh = [a for a in flows if a.port == 22]
    assert [(a.source, a.decision, a.rule) for a in ssh] == [
        ("101.33.218.153", FlowDecision.DENIED, "BlockHighRiskTCPPortsFromInternet")
    ]


@pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} (shared data) is absent")
def test_the_real_sample_is_kept_as_exactly_these_aggregates(store: Store) -> None:
    ingest_paths(store, KEEP, [SAMPLE])
    kept = store.flows.observed(since=datetime(2022, 9, 14, tzinfo=UTC), direction=None)
    got = sorted(
        (
            a.direction.value,
            a.source,
            a.destination,
            a.port,
            a.protocol,
            a.rule,
            a.decision.value,
            a.flows,
            a.bytes_sent,
            a.bytes_received,
            a.packets_sent,
            a.packets_received,
            f"{a.first_seen:%H:%M:%S.%f}"[:-3],
            f"{a.last_seen:%H:%M:%S.%f}"[:-3],
            f"{a.bucket:%H:%M}",
        )
        for a in kept
    )
    out, rule, allowed = "egress", "DefaultRule_AllowInternetOutBound", "allowed"
    high, internet = "BlockHighRiskTCPPortsFromInternet", "Internet"
    vm = "10.0.0.6"
    # each B tuple begins a flow; the volumes are the E tuples' (Microsoft's sample, by hand)
    assert got == sorted(
        [
            (out, vm, "104.16.218.84", 443, "tcp", rule, allowed, 1, 2217, 32466, 22, 33,
             "09:00:17.343", "09:00:22.793", "09:00"),
            (out, vm, "40.74.146.17", 443, "tcp", rule, allowed, 3, 1544, 9246, 8, 9,
             "09:00:03.637", "09:00:04.622", "09:00"),
            (out, vm, "52.239.184.180", 443, "tcp", rule, allowed, 1, 767, 1580, 3, 2,
             "09:00:03.599", "09:00:03.606", "09:00"),
            ("ingress", "101.33.218.153", vm, 22, "tcp", high, "denied", 1, 0, 0, 0, 0,
             "08:59:58.065", "08:59:58.065", "08:00"),
            ("ingress", "192.241.200.164", vm, 119, "tcp", high, "denied", 1, 0, 0, 0, 0,
             "09:00:05.503", "09:00:05.503", "09:00"),
            ("ingress", "20.55.113.5", vm, 28184, "tcp", internet, "denied", 1, 0, 0, 0, 0,
             "08:59:50.175", "08:59:50.175", "08:00"),
            ("ingress", "20.55.117.81", vm, 30472, "tcp", internet, "denied", 1, 0, 0, 0, 0,
             "08:59:50.145", "08:59:50.145", "08:00"),
            ("ingress", "20.106.221.10", vm, 31244, "tcp", internet, "denied", 1, 0, 0, 0, 0,
             "09:00:15.545", "09:00:15.545", "09:00"),
            ("ingress", "20.55.117.81", vm, 35945, "tcp", internet, "denied", 1, 0, 0, 0, 0,
             "08:59:49.679", "08:59:49.679", "08:00"),
            ("ingress", "13.65.224.51", vm, 40129, "tcp", internet, "denied", 1, 0, 0, 0, 0,
             "08:59:50.049", "08:59:50.049", "08:00"),
            ("ingress", "20.106.221.10", vm, 44357, "tcp", internet, "denied", 1, 0, 0, 0, 0,
             "08:59:49.563", "08:59:49.563", "08:00"),
            ("ingress", "20.55.113.5", vm, 65515, "tcp", internet, "denied", 1, 0, 0, 0, 0,
             "08:59:49.709", "08:59:49.709", "08:00"),
        ]
    )  # fmt: skip


def test_a_folder_of_both_clouds_in_any_mix(store: Store, tmp_path: Path) -> None:
    (tmp_path / "azure").mkdir()
    _azure_file(tmp_path / "azure" / "PT1H.json", 3)
    _gcp_file(tmp_path / "gcp.ndjson", 3)
    summary = ingest_paths(store, KEEP, [tmp_path])
    assert summary.files == 2 and summary.tuples > 0
    kept = store.flows.observed(since=START, direction=None)
    assert {a.provider for a in kept} == {Provider.AZURE, Provider.GCP}
    brute = [
        a
        for a in kept
        if a.provider is Provider.GCP and a.port == 22 and a.source.startswith("185.220.101.")
    ]
    assert brute and all(
        a.resource_id and a.resource_id.endswith("/instances/web-1") for a in brute
    )


def test_a_grown_file_adds_only_what_was_appended(store: Store, tmp_path: Path) -> None:
    azure, gcp = _azure_file(tmp_path / "PT1H.json", 4), _gcp_file(tmp_path / "flows.ndjson", 4)
    ingest_paths(store, KEEP, [azure, gcp])
    _azure_file(azure, 6)  # the same hour, two more minutes
    with gcp.open("a") as more:
        more.writelines(
            json.dumps(e) + "\n"
            for e in gcp_entries(load_state(None), START + timedelta(minutes=4), 2)
        )
    grown = ingest_paths(store, KEEP, [azure, gcp])
    once = Store.open(f"sqlite:///{tmp_path / 'once.db'}")
    (tmp_path / "whole").mkdir()
    _azure_file(tmp_path / "whole" / "PT1H.json", 6)
    ingest_paths(once, KEEP, [tmp_path / "whole" / "PT1H.json", gcp])
    assert grown.skipped > 0 and grown.tuples > 0
    assert _totals(store)[1:] == _totals(once)[1:]


def test_a_restarted_store_on_the_same_database_counts_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    path = _azure_file(tmp_path / "PT1H.json", 3)
    with Store.open(database_url) as first:
        ingest_paths(first, KEEP, [path])
        before = _totals(first)
    with Store.open(database_url) as second:
        again = ingest_paths(second, KEEP, [path])
        assert again.tuples == 0 and _totals(second) == before


def test_a_malformed_file_in_a_folder_stores_nothing(store: Store, tmp_path: Path) -> None:
    _azure_file(tmp_path / "a-good.json", 2)
    (tmp_path / "b-bad.ndjson").write_text('{"logName": "x"}\n{broken\n')
    with pytest.raises(InputError, match=r"b-bad\.ndjson: line 2"):
        ingest_paths(store, KEEP, [tmp_path])
    assert _totals(store)[0] == 0
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(FlowCursorRow)) == 0


def _azure_blobs(folder: Path, minutes: int) -> None:
    """``minutes`` of the sandbox's VNet flow logs, a ``PT1H.json`` per NIC as Network
    Watcher writes them."""
    by_nic: dict[str, list[dict[str, object]]] = {}
    for host, _, record in azure_records(load_state(None), START, minutes):
        by_nic.setdefault(host.mac, []).append(record)
    for mac, records in by_nic.items():
        (folder / f"macAddress={mac}").mkdir(parents=True, exist_ok=True)
        (folder / f"macAddress={mac}" / "PT1H.json").write_bytes(azure_document(records))


def _mixed_folder(folder: Path, minutes: int) -> None:
    """Azure blobs, GCP NDJSON and a GCP JSON array in ``folder``."""
    _azure_blobs(folder, minutes)
    entries = list(gcp_entries(load_state(None), START, minutes))
    half = len(entries) // 2
    (folder / "gcp.ndjson").write_text("".join(json.dumps(e) + "\n" for e in entries[:half]))
    (folder / "gcp-array.json").write_text(json.dumps(entries[half:]))


def test_worker_processes_store_what_one_process_stores(store: Store, tmp_path: Path) -> None:
    _mixed_folder(tmp_path / "logs", 6)
    alone = Store.open(f"sqlite:///{tmp_path / 'alone.db'}")
    one = ingest_paths(alone, FlowsConfig(retention_days=100_000, workers=1), [tmp_path / "logs"])
    two = ingest_paths(store, FlowsConfig(retention_days=100_000, workers=2), [tmp_path / "logs"])
    assert one.files >= 3 and one.tuples > 100
    assert two.as_json() == one.as_json()
    assert _stored(store) == _stored(alone) and _stored(store)[0]


def test_worker_processes_count_a_grown_folder_once(store: Store, tmp_path: Path) -> None:
    config = FlowsConfig(retention_days=100_000, workers=2)
    more = [json.dumps(e) + "\n" for e in gcp_entries(load_state(None), START, 3)]
    for folder in (tmp_path / "logs", tmp_path / "whole"):
        _mixed_folder(folder, 3)
    ingest_paths(store, config, [tmp_path / "logs"])
    for folder in (tmp_path / "logs", tmp_path / "whole"):
        _azure_blobs(folder, 6)  # the same hour grew: each blob is longer
        with (folder / "gcp.ndjson").open("a") as ndjson:
            ndjson.writelines(more)
    grown = ingest_paths(store, config, [tmp_path / "logs"])
    again = ingest_paths(store, config, [tmp_path / "logs"])
    assert grown.skipped > 0 and grown.tuples > 0 and again.tuples == 0
    once = Store.open(f"sqlite:///{tmp_path / 'once.db'}")
    ingest_paths(once, FlowsConfig(retention_days=100_000, workers=1), [tmp_path / "whole"])
    assert _totals(store) == _totals(once)


def test_a_malformed_file_folded_by_a_worker_stores_nothing(store: Store, tmp_path: Path) -> None:
    _mixed_folder(tmp_path, 2)
    (tmp_path / "b-bad.ndjson").write_text('{"logName": "x"}\n{broken\n')
    config = FlowsConfig(retention_days=100_000, workers=2)
    with pytest.raises(InputError, match=r"b-bad\.ndjson: line 2"):
        ingest_paths(store, config, [tmp_path])
    assert _totals(store)[0] == 0
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(FlowCursorRow)) == 0


def test_memory_is_bounded_by_flushing_and_the_totals_do_not_change(
    store: Store, tmp_path: Path
) -> None:
    path = _azure_file(tmp_path / "PT1H.json", 5)
    small = Store.open(f"sqlite:///{tmp_path / 'small.db'}")
    ingest_paths(small, FlowsConfig(retention_days=100_000, flush_keys=3), [path])
    ingest_paths(store, KEEP, [path])
    assert _totals(small) == _totals(store)


def test_old_buckets_are_pruned_by_retention(store: Store, tmp_path: Path) -> None:
    old = START - timedelta(days=40)
    _gcp_file(tmp_path / "old.ndjson", 2, start=old)
    _gcp_file(tmp_path / "new.ndjson", 2)
    ingest_paths(store, FlowsConfig(retention_days=30), [tmp_path])
    kept = store.flows.observed(since=old, direction=None)
    assert kept and min(a.bucket for a in kept) >= START - timedelta(days=30)


def test_flows_to_an_azure_nic_ip_are_filed_under_its_vm(store: Store, tmp_path: Path) -> None:
    nic = {
        "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/n",
        "properties": {
            "virtualMachine": {
                "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/sample-vm"
            },
            "ipConfigurations": [{"properties": {"privateIPAddress": "10.0.0.6"}}],
        },
    }
    resource = Resource(nic["id"], Provider.AZURE, ResourceType.AZURE_NIC, "n", "s", {}, raw=nic)
    store.rules.record_inventory([(Provider.AZURE, "s")], [resource])
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} (shared data) is absent")
    ingest_paths(store, KEEP, [SAMPLE])
    vm = nic["properties"]["virtualMachine"]["id"]
    inbound = store.flows.observed(
        since=datetime(2022, 9, 14, tzinfo=UTC), resource_ids=[vm.lower()]
    )
    assert inbound and all(
        a.destination == "10.0.0.6" and a.direction is Direction.INGRESS for a in inbound
    )
    coverage = store.flows.coverage(
        since=datetime(2022, 9, 14, 9, tzinfo=UTC), resource_ids=[vm, "/other"]
    )
    assert coverage.logged == [vm] and coverage.unlogged == ["/other"]
    assert any("not proof" in note for note in coverage.notes)

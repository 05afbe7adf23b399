"""Aggregate rows a worker staged as a SQLite database are stored exactly as the same rows
upserted one by one: new keys inserted, known keys' counts added, first/last widened, and
nothing kept when the transaction fails."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from clamp.events.flows.aggregate import AGGREGATE_COLUMNS, Aggregator
from clamp.events.flows.model import FlowDecision
from clamp.model import Direction
from clamp.store import Store
from clamp.store.flow_staging import MISSING, sqlite_form, stage_sqlite
from clamp.store.flows import stored_time

MINUTE = 60_000
HOUR0 = 1_764_547_200_000  # 2025-12-01 00:00 UTC


def _rows(offset: int, sources: int) -> list[tuple[Any, ...]]:
    """Drained rows of ``sources`` clients, their tuples ``offset`` minutes into the hour."""
    aggregator = Aggregator(timedelta(hours=1))
    rows = [
        (
            HOUR0 + (offset + n % 3) * MINUTE,
            f"10.200.0.{n}",
            "10.0.0.4",
            40_000 + n,
            None if n == 2 else 1433,  # an ICMP-like flow, and no rule logged
            "tcp",
            Direction.INGRESS,
            FlowDecision.ALLOWED,
            None if n == 2 else "allow-sql",
            None,
            "B" if n % 2 else "E",
            100 * n,
            7,
            n,
            1,
        )
        for n in range(1, sources + 1)
    ]
    aggregator.fold("azure", rows, ["/vnet"])
    return aggregator.drain(stored_time("sqlite"), MISSING)[0]


def _stored(store: Store) -> list[tuple[Any, ...]]:
    columns = ", ".join(AGGREGATE_COLUMNS)
    with store.engine.connect() as connection:
        return sorted(
            tuple(r) for r in connection.execute(text(f"SELECT {columns} FROM flow_aggregates"))
        )


def test_staged_rows_are_stored_as_the_same_rows_upserted(tmp_path: Path) -> None:
    staged, listed = (Store.open(f"sqlite:///{tmp_path / n}.db") for n in ("staged", "listed"))
    batches = [_rows(10, 5), _rows(2, 8), _rows(40, 3)]  # later batches hit earlier keys
    for store, stage in ((staged, stage_sqlite), (listed, list)):
        for rows in batches:
            with store.flows.writing() as writer:
                writer.add(stage(rows))
    got = _stored(staged)
    assert got == _stored(listed)
    by_source = {row[6]: row for row in got}
    assert len(got) == 8 and by_source["10.200.0.1"][11] == 3  # one begun flow per batch
    assert by_source["10.200.0.4"][12] == 400 * 2  # in two of the batches, 400 bytes each
    assert by_source["10.200.0.1"][16] < by_source["10.200.0.1"][17]  # first/last widened


def test_staged_rows_of_a_failed_transaction_are_not_kept(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'clamp.db'}")
    with pytest.raises(RuntimeError), store.flows.writing() as writer:
        writer.add(stage_sqlite(_rows(0, 4)))
        raise RuntimeError("a later file was malformed")
    assert _stored(store) == []
    with store.flows.writing() as writer:  # the pooled connection merges again
        writer.add(stage_sqlite(_rows(0, 4)))
    assert len(_stored(store)) == 4


def test_a_missing_resource_port_or_rule_is_stored_as_null(tmp_path: Path) -> None:
    staged, listed = (Store.open(f"sqlite:///{tmp_path / n}.db") for n in ("staged", "listed"))
    rows = _rows(0, 2)
    for store, stage in ((staged, stage_sqlite), (listed, list)):
        with store.flows.writing() as writer:
            writer.add(stage(rows))
        with store.engine.connect() as connection:
            got = connection.execute(text("SELECT resource_id, port, rule FROM flow_aggregates"))
            assert set(got) == {(None, 1433, "allow-sql"), (None, None, None)}


def test_sqlite_rows_travel_staged() -> None:
    rows = _rows(0, 2)
    assert isinstance(sqlite_form(str).stage(rows), bytes)

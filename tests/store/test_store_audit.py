"""The audit log: hash-chained, verifiable, tamper-evident, one chain under concurrent writers."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading

import pytest
from sqlalchemy import delete, update

from clamp.errors import AuditTampered
from clamp.store import Store
from clamp.store.audit import entry_hash
from clamp.store.rows import AuditEntryRow
from clamp.store.tables import GENESIS_HASH


def _fill(store: Store, count: int = 4) -> None:
    for i in range(count):
        store.audit.append("action.applied", "alice", {"action": f"a-{i}", "n": i})


def test_empty_log_verifies(store: Store) -> None:
    assert store.audit.verify() == 0


def test_entries_chain_from_genesis_and_verify(store: Store) -> None:
    _fill(store)
    entries = store.audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    for e in entries:
        assert e.timestamp.utcoffset() is not None
        assert e.hash == entry_hash(e.prev_hash, e.seq, e.timestamp, e.event, e.actor, e.payload)
    assert entries[2].payload == {"action": "a-2", "n": 2}
    assert store.audit.verify() == 4


def test_edited_payload_is_detected(store: Store) -> None:
    _fill(store)
    with store.engine.begin() as connection:
        connection.execute(
            update(AuditEntryRow)
            .where(AuditEntryRow.seq == 2)
            .values(payload='{"action":"a-1","n":99}')
        )
    with pytest.raises(AuditTampered, match="entry 2 was altered"):
        store.audit.verify()


def test_edited_entry_with_a_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    _fill(store)
    forged = store.audit.entries()[1]
    payload = {"action": "a-1", "n": 0}
    new_hash = entry_hash(
        forged.prev_hash, forged.seq, forged.timestamp, forged.event, "mallory", payload
    )
    with store.engine.begin() as connection:
        connection.execute(
            update(AuditEntryRow)
            .where(AuditEntryRow.seq == 2)
            .values(actor="mallory", payload='{"action":"a-1","n":0}', hash=new_hash)
        )
    with pytest.raises(AuditTampered, match="entry 3 does not chain"):
        store.audit.verify()


def test_deleted_entry_is_detected(store: Store) -> None:
    _fill(store)
    with store.engine.begin() as connection:
        connection.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == 2))
    with pytest.raises(AuditTampered, match="entry 2 is missing"):
        store.audit.verify()


def test_deleted_last_entry_is_detected(store: Store) -> None:
    _fill(store)
    with store.engine.begin() as connection:
        connection.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == 4))
    with pytest.raises(AuditTampered, match="entry 4 is missing"):
        store.audit.verify()


def test_reordered_entries_are_detected(store: Store) -> None:
    _fill(store)
    with store.engine.begin() as connection:
        for old, new in ((2, 99), (3, 2), (99, 3)):
            connection.execute(
                update(AuditEntryRow).where(AuditEntryRow.seq == old).values(seq=new)
            )
    with pytest.raises(AuditTampered, match="entry 2"):
        store.audit.verify()


def test_appends_from_threads_keep_one_chain(database_url: str) -> None:
    shared, other = Store.open(database_url), Store.open(database_url)
    stores = [shared, shared, other]  # one store used by two threads, a second one beside
    try:

        def work(index: int) -> None:
            for n in range(15):
                stores[index].audit.append("test.thread", f"t{index}", {"n": n})

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert shared.audit.verify() == 45
        entries = other.audit.entries()
        for index in range(len(stores)):
            assert [e.payload["n"] for e in entries if e.actor == f"t{index}"] == list(range(15))
    finally:
        shared.close()
        other.close()


APPENDER = """
import sys
from clamp.store import Store
store = Store(sys.argv[1])
for n in range(int(sys.argv[3])):
    store.audit.append("test.process", sys.argv[2], {"n": n})
store.close()
"""


def test_appends_from_two_processes_keep_one_chain(store: Store, database_url: str) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", APPENDER, database_url, name, "40"])
        for name in ("p1", "p2")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert store.audit.verify() == 80
    entries = store.audit.entries()
    for name in ("p1", "p2"):
        assert [e.payload["n"] for e in entries if e.actor == name] == list(range(40))

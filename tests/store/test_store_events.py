"""Events stored in batches: a delivery's events, or concurrent deliveries' gathered by one
group commit, are each stored once, with the same outcomes as one at a time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from clamp.events.record import CloudEvent, EventKind
from clamp.model import Provider
from clamp.store import Store
from clamp.store.events import Intake
from clamp.store.group_commit import GroupCommit

NSG = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/networkSecurityGroups/n"


def _event(*keys: str, final: bool = True) -> CloudEvent:
    return CloudEvent(
        Provider.GCP, keys, NSG, EventKind.WRITE, "v1.compute.firewalls.patch", None, final
    )


def test_a_batch_stores_each_event_once_and_completes_an_operation(store: Store) -> None:
    now = datetime.now(UTC)
    batch = [
        _event("gcp:insert:a"),
        _event("gcp:message:m1", "gcp:insert:a"),  # the same entry pushed again
        _event("gcp:operation:op", "gcp:insert:first", final=False),
        _event("gcp:insert:b"),
        _event("gcp:operation:op", "gcp:insert:last"),  # the operation's last entry
    ]
    outcomes = store.events.record_many([(event, now) for event in batch])

    assert outcomes == [Intake.NEW, Intake.DUPLICATE, Intake.NEW, Intake.NEW, Intake.COMPLETES]
    assert {e.event.id for e in store.events.pending()} == {
        "gcp:insert:a",
        "gcp:operation:op",
        "gcp:insert:b",
    }
    counts = store.events.counters()
    assert (counts["received"], counts["duplicates"]) == (3, 2)
    # every key of the batch now names its event: a later delivery of any is a duplicate
    later = [(_event("gcp:message:m1"), now), (_event("gcp:insert:last"), now)]
    assert store.events.record_many(later) == [Intake.DUPLICATE, Intake.DUPLICATE]


def test_a_stored_operation_is_completed_by_its_last_entry_in_a_later_batch(
    store: Store,
) -> None:
    now = datetime.now(UTC)
    assert store.events.record(_event("gcp:operation:op", final=False), now) == Intake.NEW
    store.events.done("gcp:operation:op", now, "re-read")
    assert not store.events.pending()

    batch = [(_event("gcp:operation:op"), now), (_event("gcp:insert:other"), now)]
    assert store.events.record_many(batch) == [Intake.COMPLETES, Intake.NEW]
    assert {e.event.id for e in store.events.pending()} == {"gcp:operation:op", "gcp:insert:other"}


def test_callers_waiting_for_a_write_share_the_next_one() -> None:
    writes: list[list[int]] = []
    first_started, release = threading.Event(), threading.Event()

    def write(items: list[int]) -> list[int]:
        writes.append(items)
        if len(writes) == 1:
            first_started.set()
            release.wait(10)
        return [i * 10 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(write)
    results: dict[int, list[int]] = {}

    def call(n: int) -> None:
        results[n] = commit([n, n + 1])

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert first_started.wait(10)
    others = [threading.Thread(target=call, args=(n,)) for n in (10, 20, 30)]
    for thread in others:
        thread.start()
    while len(commit._queue) < 3:  # all three queued behind the running write
        threading.Event().wait(0.01)
    release.set()
    for thread in (first, *others):
        thread.join(10)

    assert len(writes) == 2  # the first alone, then the three waiting callers together
    assert sorted(writes[1]) == [10, 11, 20, 21, 30, 31]
    assert results == {0: [0, 10], 10: [100, 110], 20: [200, 210], 30: [300, 310]}


def test_a_failed_group_write_fails_its_callers_and_the_next_write_runs() -> None:
    calls = 0

    def write(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database gone")
        return items

    commit: GroupCommit[str, str] = GroupCommit(write)
    with pytest.raises(RuntimeError, match="database gone"):
        commit(["a"])
    assert commit(["b"]) == ["b"]


def test_the_events_a_re_read_covers_are_done_in_its_write(store: Store) -> None:
    now = datetime.now(UTC)
    store.events.record_many([(_event(f"gcp:insert:{n}"), now) for n in range(3)])

    received = store.events.done(
        "gcp:insert:0", now, "re-read n", covers=["gcp:insert:1", "gcp:insert:2"]
    )

    assert received == [now, now]
    assert not store.events.pending()
    shared = store.events.get("gcp:insert:2")
    assert shared is not None and shared.result == "re-read with gcp:insert:0"

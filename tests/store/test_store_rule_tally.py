"""A rule's caps are counted by the database: how many of its actions came out as given
outcomes since given moments, on SQLite and PostgreSQL alike, without reading them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clamp.model import Outcome
from clamp.store import Store
from clamp.store.records import RuleAction

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _did(store: Store, rule: str, outcome: Outcome, ago: timedelta) -> None:
    store.rules.record(RuleAction(rule, "run-1", "f-1", "restrict_ingress", outcome, NOW - ago))


def test_a_rules_actions_are_counted_by_outcome_and_moment(store: Store) -> None:
    for outcome, ago in [
        (Outcome.APPLIED, timedelta(minutes=5)),
        (Outcome.FAILED, timedelta(minutes=30)),
        (Outcome.QUEUED, timedelta(minutes=50)),
        (Outcome.APPLIED, timedelta(hours=3)),
        (Outcome.SKIPPED, timedelta(minutes=1)),
    ]:
        _did(store, "close-ssh", outcome, ago)
    _did(store, "another-rule", Outcome.APPLIED, timedelta(minutes=1))
    acted = (Outcome.APPLIED, Outcome.FAILED, Outcome.QUEUED)

    counts = store.rules.tally(
        "close-ssh",
        {
            "hour": (NOW - timedelta(hours=1), acted),
            "tried": (None, (Outcome.APPLIED, Outcome.FAILED)),
            "failed": (NOW - timedelta(hours=2), (Outcome.FAILED,)),
            "none": (NOW, acted),
        },
    )

    assert counts == {"hour": 3, "tried": 3, "failed": 1, "none": 0}
    assert store.rules.tally("never-ran", {"tried": (None, acted)}) == {"tried": 0}

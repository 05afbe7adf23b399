"""What a rule's pass reads stays small as the store grows: its caps are counted by the
database (how many of its actions came out as given outcomes since given moments), and an
event's few findings read only their resources' tags — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clamp.model import Outcome, Provider, Resource, ResourceType
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


def test_the_tags_of_a_few_resources_are_read_alone_and_matched_whatever_the_case(
    store: Store,
) -> None:
    nsg = "/subscriptions/s/resourceGroups/G/providers/Microsoft.Network/networkSecurityGroups/"
    store.rules.record_inventory(
        [(Provider.AZURE, "s")],
        [
            Resource(nsg + n, Provider.AZURE, ResourceType.AZURE_NSG, n, "s", {}, tags={"env": env})
            for n, env in (("a", "prod"), ("b", "dev"))
        ],
    )

    assert store.rules.tags_of([(nsg + "A").upper()]) == {(nsg + "a").lower(): {"env": "prod"}}
    assert len(store.rules.tags_of()) == 2

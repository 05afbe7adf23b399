"""The action journal: plans with their changes round-trip, updates by id, in-flight listing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from clamp.errors import NotFoundError
from clamp.model import ActionRecord, ActionStatus, Change, ChangeOp, Plan, Provider
from clamp.store import Store
from clamp.store.codec import action_to_json

RULE = (
    "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Network/"
    "networkSecurityGroups/web-nsg/securityRules/allow-ssh"
)
RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"


def _rule(sources: list[str], etag: str) -> dict[str, object]:
    return {
        "name": "allow-ssh",
        "id": RULE,
        "etag": etag,
        "properties": {
            "priority": 100,
            "access": "Allow",
            "direction": "Inbound",
            "protocol": "Tcp",
            "sourceAddressPrefixes": sources,
            "destinationPortRanges": ["22", "443"],
        },
    }


def _record(action_id: str, created: datetime, **changes: object) -> ActionRecord:
    update = Change(
        ChangeOp.UPDATE,
        RULE,
        RULE_TYPE,
        _rule(["*"], 'W/"1"'),
        _rule(["10.0.0.0/8"], 'W/"1"'),
        "SecurityRulesOperations.begin_create_or_update",
    )
    split = Change(
        ChangeOp.CREATE,
        RULE + "-443",
        RULE_TYPE,
        None,
        _rule(["*"], ""),
        "SecurityRulesOperations.begin_create_or_update",
    )
    plan = Plan(
        intent="restrict_ingress",
        finding="f-0123456789abcdef",
        resource=RULE.rsplit("/securityRules/", 1)[0],
        provider=Provider.AZURE,
        summary="close 22 to the internet, keep 443",
        changes=(update, split),
        reversible=True,
        blast_radius="1 NSG, 2 VMs",
        permissions=("Microsoft.Network/networkSecurityGroups/securityRules/write",),
        params={"allow": ["10.0.0.0/8"]},
    )
    record = ActionRecord(
        id=action_id,
        finding=plan.finding,
        intent=plan.intent,
        status=ActionStatus.PLANNED,
        actor="alice",
        created=created,
        plan=plan,
        reason="close ssh",
        in_flight=True,
    )
    return replace(record, **changes)  # type: ignore[arg-type]


NOW = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_action_round_trips_with_its_plan_and_changes(store: Store) -> None:
    record = _record("a-1", NOW)
    store.save_action(record)
    loaded = store.action("a-1")
    assert loaded == record
    assert loaded.plan.changes[0].before == _rule(["*"], 'W/"1"')
    assert loaded.plan.changes[1].op is ChangeOp.CREATE
    assert loaded.plan.changes[1].before is None
    assert loaded.created.tzinfo is not None


def test_saving_an_action_again_updates_it(store: Store) -> None:
    record = _record("a-1", NOW)
    store.save_action(record)
    applied = tuple(
        replace(c, after={**(c.after or {}), "etag": 'W/"2"'}) for c in record.plan.changes
    )
    done = replace(
        record,
        status=ActionStatus.VERIFIED,
        in_flight=False,
        applied=applied,
        updated=NOW + timedelta(seconds=5),
        result="verified",
    )
    store.save_action(done)
    assert store.actions() == [done]
    assert store.action("a-1").applied[0].after is not None
    assert store.action("a-1").applied[0].after["etag"] == 'W/"2"'  # type: ignore[index]


def test_actions_are_listed_newest_first_and_in_flight_ones_separately(store: Store) -> None:
    old = _record("a-old", NOW, status=ActionStatus.VERIFIED, in_flight=False)
    crashed = _record("a-crashed", NOW + timedelta(minutes=1))
    new = _record("a-new", NOW + timedelta(minutes=2), status=ActionStatus.FAILED, in_flight=False)
    undo = _record(
        "a-undo",
        NOW + timedelta(minutes=3),
        undoes="a-old",
        status=ActionStatus.VERIFIED,
        in_flight=False,
    )
    for record in (old, crashed, new, undo):
        store.save_action(record)
    assert [a.id for a in store.actions()] == ["a-undo", "a-new", "a-crashed", "a-old"]
    assert [a.id for a in store.in_flight_actions()] == ["a-crashed"]
    assert store.action("a-undo").undoes == "a-old"
    assert [a.id for a in store.actions_for("f-0123456789abcdef")][:1] == ["a-undo"]


def test_unknown_action_is_a_clear_not_found_error(store: Store) -> None:
    with pytest.raises(NotFoundError, match="a-nope") as caught:
        store.action("a-nope")
    assert "clamp actions" in str(caught.value)


def test_action_json_has_the_contract_keys(store: Store) -> None:
    store.save_action(_record("a-1", NOW))
    data = action_to_json(store.action("a-1"))
    assert {k: data[k] for k in ("id", "finding", "intent", "status", "actor")} == {
        "id": "a-1",
        "finding": "f-0123456789abcdef",
        "intent": "restrict_ingress",
        "status": "planned",
        "actor": "alice",
    }
    assert datetime.fromisoformat(data["created"]) == NOW
    assert data["plan"]["changes"][0]["op"] == "update"
    assert data["reason"] == "close ssh"

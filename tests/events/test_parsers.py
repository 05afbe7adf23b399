"""Parsing Event Grid and Pub/Sub push deliveries into CloudEvent records."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from clamp.errors import InputError
from clamp.events.azure import parse_azure
from clamp.events.gcp import parse_push
from clamp.events.record import EventKind
from clamp.model import Provider

NSG = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/networkSecurityGroups/web"
RULE = f"{NSG}/securityRules/open-ssh"
AUDIT = (
    Path(__file__).parents[2] / ".." / "shared" / "data" / "gcp-auditlogs" / "real-time-enforcer"
)


def grid(
    event_type: str = "Microsoft.Resources.ResourceWriteSuccess", **data: Any
) -> dict[str, Any]:
    return {
        "id": "e1",
        "topic": "/subscriptions/s",
        "subject": RULE,
        "eventType": event_type,
        "eventTime": "2026-12-02T06:00:00.1234567Z",
        "data": {"resourceUri": RULE, "status": "Succeeded", **data},
        "dataVersion": "2",
        "metadataVersion": "1",
    }


def cloudevent(**extra: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "c1",
        "source": "/subscriptions/s",
        "type": "Microsoft.Resources.ResourceDeleteSuccess",
        "subject": RULE,
        "time": "2026-12-02T06:00:00Z",
        "data": {"resourceUri": RULE},
        **extra,
    }


def push(payload: dict[str, Any], message_id: str = "m1") -> bytes:
    data = base64.b64encode(json.dumps(payload).encode()).decode()
    message = {"data": data, "messageId": message_id, "publishTime": "2026-12-02T06:00:01Z"}
    return json.dumps({"message": message, "subscription": "projects/p/subscriptions/s"}).encode()


def test_event_grid_schema_names_the_changed_object_and_when() -> None:
    delivery = parse_azure(json.dumps([grid()]).encode())
    [event] = delivery.events
    assert (event.provider, event.resource, event.kind) == (Provider.AZURE, RULE, EventKind.WRITE)
    assert event.keys == ("azure:e1",) and event.event_time is not None
    assert event.event_time.isoformat() == "2026-12-02T06:00:00.123456+00:00"


def test_cloudevents_structured_and_batched() -> None:
    [one] = parse_azure(json.dumps(cloudevent()).encode()).events
    assert one.kind == EventKind.DELETE and one.id == "azure:c1"
    batch = parse_azure(json.dumps([cloudevent(), cloudevent(id="c2")]).encode())
    assert [e.id for e in batch.events] == ["azure:c1", "azure:c2"]


def test_resource_notifications_carry_the_resource_id() -> None:
    event = grid(
        "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated",
        resourceInfo={"id": NSG, "name": "web", "type": "Microsoft.Network/networkSecurityGroups"},
        operationalInfo={"resourceEventTime": "2026-12-02T06:00:00Z"},
    )
    [parsed] = parse_azure(json.dumps([event]).encode()).events
    assert parsed.resource == NSG and parsed.kind == EventKind.WRITE


def test_other_event_types_are_counted_not_parsed() -> None:
    delivery = parse_azure(json.dumps([grid("Microsoft.Storage.BlobCreated"), grid()]).encode())
    assert delivery.ignored == 1 and len(delivery.events) == 1


def test_the_validation_handshake_gives_its_code() -> None:
    event = grid("Microsoft.EventGrid.SubscriptionValidationEvent")
    event["data"] = {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
    assert (
        parse_azure(json.dumps([event]).encode()).validation_code == event["data"]["validationCode"]
    )
    with pytest.raises(InputError, match="alone"):
        parse_azure(json.dumps([event, grid()]).encode())


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps([{**grid(), "id": None}]).encode(),
        json.dumps([{**grid(), "data": {"resourceUri": "not-an-arm-id"}, "subject": "x"}]).encode(),
        json.dumps(cloudevent(specversion="0.3")).encode(),
        json.dumps([{**grid(), "eventTime": "yesterday"}]).encode(),
        json.dumps(["a string"]).encode(),
    ],
    ids=[
        "not json",
        "empty",
        "no id",
        "not an ARM id",
        "old specversion",
        "bad time",
        "not objects",
    ],
)
def test_malformed_event_grid_deliveries_are_refused(body: bytes) -> None:
    with pytest.raises(InputError):
        parse_azure(body)


def _audit(name: str) -> dict[str, Any]:
    if not AUDIT.is_dir():
        pytest.skip("../shared/data/gcp-auditlogs is absent")
    entry: dict[str, Any] = json.loads((AUDIT / name).read_text())
    entry["timestamp"] = "2026-12-02T06:00:00.123456789Z"  # the recorded ones are zeroed
    return entry


def test_a_recorded_firewall_insert_names_the_firewall_by_its_full_name() -> None:
    event, message = parse_push(push(_audit("compute-firewalls-enable-logs-policy.json")))
    assert event is not None and message == "m1"
    assert (
        event.resource
        == "//compute.googleapis.com/projects/my-project/global/firewalls/test-firewall"
    )
    assert event.kind == EventKind.WRITE and event.type == "v1.compute.firewalls.insert"
    assert not event.final  # the first entry of the operation: its last is still to come
    assert event.keys[0].startswith("gcp:operation:operation-0000000000000")
    assert "gcp:message:m1" in event.keys


def test_method_names_match_whatever_their_version_prefix() -> None:
    entry = _audit("compute-firewalls-enable-logs-policy.json")
    entry["protoPayload"]["methodName"] = "beta.compute.firewalls.delete"
    entry["operation"] = {"id": "op-1", "last": True}
    event, _ = parse_push(push(entry))
    assert event is not None and event.kind == EventKind.DELETE and event.final


def test_reads_failures_and_data_access_entries_report_nothing() -> None:
    entry = _audit("compute-firewalls-enable-logs-policy.json")
    failed = {**entry, "protoPayload": {**entry["protoPayload"], "status": {"code": 7}}}
    read = {
        **entry,
        "protoPayload": {**entry["protoPayload"], "methodName": "v1.compute.firewalls.get"},
    }
    for quiet in (failed, read, _audit("gke-cluster-update.json")):
        assert parse_push(push(quiet))[0] is None


def test_audit_names_map_to_asset_inventory_full_names() -> None:
    sql = parse_push(push(_audit("cloudsql-resource.labels.json")))[0]
    assert sql is not None
    assert sql.resource == "//cloudsql.googleapis.com/projects/my-project/instances/test-instance"
    entry = _audit("compute-firewalls-enable-logs-policy.json")
    entry["protoPayload"] |= {
        "serviceName": "storage.googleapis.com",
        "methodName": "storage.setIamPermissions",
        "resourceName": "projects/_/buckets/backups",
    }
    bucket = parse_push(push(entry))[0]
    assert bucket is not None and bucket.resource == "//storage.googleapis.com/backups"


def test_an_asset_feed_deletion_uses_the_prior_asset() -> None:
    name = "//compute.googleapis.com/projects/p/global/firewalls/f"
    change = {
        "priorAsset": {"name": name, "assetType": "compute.googleapis.com/Firewall"},
        "priorAssetState": "PRESENT",
        "deleted": True,
        "window": {"startTime": "2026-12-02T06:00:00.5Z"},
    }
    event, _ = parse_push(push(change))
    assert event is not None and event.resource == name and event.kind == EventKind.DELETE
    assert event.keys == (f"gcp:asset:{name}@2026-12-02T06:00:00.5Z", "gcp:message:m1")


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        json.dumps({"subscription": "s"}).encode(),
        json.dumps({"message": {"data": "!!!", "messageId": "1"}}).encode(),
        json.dumps({"message": {"data": base64.b64encode(b"{}").decode()}}).encode(),
        push({"something": "else"}),
    ],
    ids=["not json", "no message", "not base64", "no message id", "unknown payload"],
)
def test_malformed_push_deliveries_are_refused(body: bytes) -> None:
    with pytest.raises(InputError):
        parse_push(body)

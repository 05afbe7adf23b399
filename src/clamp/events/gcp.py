"""Google Cloud Pub/Sub push deliveries: the push wrapper around a Cloud Audit Log entry
(routed by a log sink) or a Cloud Asset Inventory feed ``TemporalAsset``, parsed into a
``CloudEvent``.

Shapes: Pub/Sub "Push subscriptions" (``{"message": {"data": base64, "attributes",
"messageId", "publishTime"}, "subscription"}``, the snake_case ``message_id`` beside it)
and the ``PubsubMessage`` schema of the pubsub v1 discovery document; Cloud Logging's
``LogEntry`` (``insertId``, ``logName``, ``timestamp``, ``operation.{id,first,last}``,
``resource.labels``) with an ``AuditLog`` ``protoPayload`` (``serviceName``,
``methodName`` — ``v1.compute.firewalls.insert``, ``beta.…`` — ``resourceName``,
``status``), as in the entries under ``shared/data/gcp-auditlogs``; the ``TemporalAsset``
schema of the cloudasset v1 discovery document (``asset``, ``priorAsset``,
``priorAssetState``, ``deleted``, ``window.startTime``). Resource names follow Cloud Asset
Inventory's full names ("Resource names"), which are Clamp's ids for Google resources.
Security Command Center notifications (a notification config's Pub/Sub topic) are
``NotificationMessage`` as JSON (google-cloud-securitycenter's type: ``finding`` with
``name``, ``resourceName``, ``category``, ``state``, ``eventTime``; ``resource``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from clamp.errors import InputError
from clamp.events.record import CloudEvent, EventKind, field, mapping, text, timestamp
from clamp.model import Provider
from clamp.providers.gcp.scc_names import clamp_resource

VERSIONS = ("v1.", "beta.", "alpha.")
"""Compute's audit method names carry the API version first (``v1.compute.firewalls.insert``)."""
READS = ("get", "list", "aggregatedlist", "getiampolicy", "testiampermissions")
DELETES = ("delete",)
WRITES = ("insert", "create", "patch", "update", "setiampolicy", "setiampermissions")


def parse_push(body: bytes) -> tuple[CloudEvent | None, str]:
    """The event of one push delivery (None when it reports nothing Clamp acts on: a read,
    a failed call, a payload of another kind) and the Pub/Sub message id."""
    try:
        wrapper = mapping(json.loads(body), "the Pub/Sub push body")
    except (ValueError, UnicodeDecodeError):
        raise InputError("the Pub/Sub push body is not JSON") from None
    message = mapping(field(wrapper, "message", "push body"), "push body: message")
    message_id = str(message.get("messageId") or message.get("message_id") or "")
    if not message_id:
        raise InputError("push body: message.messageId is missing")
    try:
        raw = base64.b64decode(text(message, "data", "push body: message"), validate=True)
        payload = mapping(json.loads(raw), "push body: message.data")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InputError("push body: message.data is not base64-encoded JSON") from None
    published = message.get("publishTime") or message.get("publish_time")
    if "protoPayload" in payload:
        event = audit_entry(payload, f"gcp:message:{message_id}")
    elif "asset" in payload or "priorAsset" in payload:
        event = temporal_asset(payload, f"gcp:message:{message_id}")
    elif "notificationConfigName" in payload:
        event = scc_notification(payload, f"gcp:message:{message_id}")
    else:
        raise InputError(
            "push body: message.data is neither an audit log entry, an asset nor a "
            "Security Command Center notification"
        )
    if event is not None and event.event_time is None:
        event = replace(event, event_time=timestamp(published, "message.publishTime"))
    return event, message_id


def method_verb(method: str) -> str:
    """The verb of an audit method name, whatever its version prefix or style:
    ``v1.compute.firewalls.insert`` → ``insert``, ``google.iam.v1.IAMPolicy.SetIamPolicy``
    → ``setiampolicy``."""
    for prefix in VERSIONS:
        method = method.removeprefix(prefix)
    return method.rsplit(".", 1)[-1].lower()


def _kind(verb: str) -> EventKind | None:
    if verb in READS:
        return None
    if verb in DELETES:
        return EventKind.DELETE
    if verb in WRITES or verb.startswith(("set", "add", "remove")):
        return EventKind.WRITE
    return EventKind.ACTION


def audit_entry(entry: Mapping[str, Any], delivery: str) -> CloudEvent | None:
    """An Admin Activity audit entry as an event; None for reads and failed calls. The
    entries of one long-running operation share ``operation.id``: they are one event."""
    where = f"audit entry {entry.get('insertId', '?')}"
    payload = mapping(entry.get("protoPayload"), f"{where}: protoPayload")
    method = text(payload, "methodName", f"{where}: protoPayload")
    status = payload.get("status")
    if isinstance(status, Mapping) and status.get("code") not in (None, 0):
        return None  # the call failed: nothing changed
    kind = _kind(method_verb(method))
    if kind is None or str(entry.get("logName", "")).endswith("data_access"):
        return None
    service = text(payload, "serviceName", f"{where}: protoPayload")
    resource = full_name(service, str(payload.get("resourceName") or ""), entry)
    if resource is None:
        return None
    keys = [f"gcp:insert:{text(entry, 'insertId', where)}", delivery]
    operation = entry.get("operation")
    final = True
    if isinstance(operation, Mapping) and operation.get("id"):
        keys.insert(0, f"gcp:operation:{operation['id']}")
        final = bool(operation.get("last")) or not operation.get("first")
    return CloudEvent(
        provider=Provider.GCP,
        keys=tuple(keys),
        resource=resource,
        kind=kind,
        type=method,
        event_time=timestamp(entry.get("timestamp"), f"{where}: timestamp"),
        final=final,
    )


def full_name(service: str, name: str, entry: Mapping[str, Any]) -> str | None:
    """The Cloud Asset Inventory full name of an audit entry's resource (None when the
    entry names none): ``projects/_/buckets/B[/objects/O]`` → ``//storage.googleapis.com/B``,
    Cloud SQL's ``instances/P:I`` → ``//cloudsql.googleapis.com/projects/P/instances/I``,
    anything else ``//SERVICE/NAME``."""
    labels = mapping(entry.get("resource") or {}, "resource").get("labels") or {}
    match service:
        case "storage.googleapis.com":
            bucket = name.removeprefix("projects/_/buckets/").split("/", 1)[0]
            return f"//storage.googleapis.com/{bucket}" if bucket else None
        case "cloudsql.googleapis.com":
            database = str(labels.get("database_id") or "")
            if name.startswith("instances/"):
                database = name.removeprefix("instances/")
            project, colon, instance = database.partition(":")
            if name.startswith("projects/") and "/instances/" in name:
                return f"//cloudsql.googleapis.com/{name}"
            return (
                f"//cloudsql.googleapis.com/projects/{project}/instances/{instance}"
                if colon
                else None
            )
    return f"//{service}/{name}" if name else None


def temporal_asset(change: Mapping[str, Any], delivery: str) -> CloudEvent:
    """A Cloud Asset Inventory feed message: the asset after the change (or the prior one,
    for a deletion)."""
    asset = change.get("asset") or change.get("priorAsset")
    asset = mapping(asset, "TemporalAsset: asset")
    name = text(asset, "name", "TemporalAsset: asset")
    window = mapping(change.get("window") or {}, "TemporalAsset: window")
    start = window.get("startTime") or asset.get("updateTime")
    return CloudEvent(
        provider=Provider.GCP,
        keys=(f"gcp:asset:{name}@{start}", delivery) if start else (delivery,),
        resource=name,
        kind=EventKind.DELETE if change.get("deleted") else EventKind.WRITE,
        type=str(asset.get("assetType") or "asset"),
        event_time=timestamp(start, "TemporalAsset: window.startTime"),
    )


def scc_notification(message: Mapping[str, Any], delivery: str) -> CloudEvent:
    """A Security Command Center notification (``NotificationMessage`` as JSON:
    ``notificationConfigName``, ``finding``, ``resource``): Clamp re-reads the finding's
    resource and judges it with its own checks (trust, but verify), whether SCC says the
    finding is active or, now inactive, resolved."""
    finding = mapping(message.get("finding"), "NotificationMessage: finding")
    where = "NotificationMessage: finding"
    resource = mapping(message.get("resource") or {}, "NotificationMessage: resource")
    name = clamp_resource(
        text(finding, "resourceName", where), str(resource.get("displayName") or "")
    )
    when = finding.get("eventTime")
    return CloudEvent(
        provider=Provider.GCP,
        keys=(f"gcp:scc:{text(finding, 'name', where)}@{when}", delivery),
        resource=name,
        kind=EventKind.WRITE,
        type=f"securitycenter:{finding.get('category') or 'finding'}",
        event_time=timestamp(when, f"{where}: eventTime"),
    )

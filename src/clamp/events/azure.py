"""Azure Event Grid deliveries: the Event Grid schema (a JSON array) and CloudEvents 1.0
(one structured event, or a batch array), parsed into ``CloudEvent`` records.

Shapes from the Event Grid documentation: "Azure Event Grid event schema" (``id``,
``topic``, ``subject``, ``eventType``, ``eventTime``, ``data``, ``dataVersion``,
``metadataVersion``), "CloudEvents v1.0 schema with Azure Event Grid" (``specversion``,
``id``, ``source``, ``type``, ``subject``, ``time``, ``data``), "Azure subscription as an
Event Grid source" (``Microsoft.Resources.Resource{Write,Delete,Action}Success`` with
``data.resourceUri``, ``operationName``, ``status``), "Azure Resource Notifications -
Resource Management events" (``Microsoft.ResourceNotifications.Resources.CreatedOrUpdated``
and ``.Deleted`` with ``data.resourceInfo.id`` and ``data.operationalInfo.resourceEventTime``)
and "Webhook event delivery" (``Microsoft.EventGrid.SubscriptionValidationEvent`` with
``data.validationCode``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clamp.errors import InputError
from clamp.events.record import CloudEvent, EventKind, mapping, text, timestamp
from clamp.model import Provider

VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
KINDS: Mapping[str, EventKind] = {
    "Microsoft.Resources.ResourceWriteSuccess": EventKind.WRITE,
    "Microsoft.Resources.ResourceDeleteSuccess": EventKind.DELETE,
    "Microsoft.Resources.ResourceActionSuccess": EventKind.ACTION,
    "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated": EventKind.WRITE,
    "Microsoft.ResourceNotifications.Resources.Deleted": EventKind.DELETE,
}
"""The event types Clamp acts on; other types in a delivery are acknowledged and ignored."""
MAX_VALIDATION_CODE = 1024
MAX_EVENTS = 5000
"""Event Grid batches hold at most 5000 events (``maxEventsPerBatch``, "Batch event
delivery"); a larger array is not from Event Grid."""


@dataclass(frozen=True, slots=True)
class AzureDelivery:
    """One POST from Event Grid: a validation handshake, or events."""

    validation_code: str | None
    events: tuple[CloudEvent, ...]
    ignored: int
    """Events of types Clamp does not act on."""


def parse_azure(body: bytes) -> AzureDelivery:
    """The events (or the validation code) of an Event Grid POST body."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InputError("the Event Grid delivery is not JSON") from None
    items: Sequence[Any] = data if isinstance(data, list) else [data]
    if not items or len(items) > MAX_EVENTS:
        raise InputError(f"an Event Grid delivery holds 1 to {MAX_EVENTS} events")
    events = [mapping(item, f"event {n}") for n, item in enumerate(items)]
    if any(_type(e, f"event {n}") == VALIDATION for n, e in enumerate(events)):
        return AzureDelivery(_validation_code(events), (), 0)
    parsed = [_event(e, f"event {n}") for n, e in enumerate(events)]
    found = tuple(p for p in parsed if p is not None)
    return AzureDelivery(None, found, len(parsed) - len(found))


def _is_cloudevent(event: Mapping[str, Any]) -> bool:
    return "specversion" in event


def _type(event: Mapping[str, Any], where: str) -> str:
    return text(event, "type" if _is_cloudevent(event) else "eventType", where)


def _validation_code(events: Sequence[Mapping[str, Any]]) -> str:
    """Event Grid sends the handshake alone, with a GUID-like ``validationCode``."""
    if len(events) != 1:
        raise InputError("a subscription validation event comes alone in its delivery")
    data = mapping(events[0].get("data"), "validation event: data")
    code = text(data, "validationCode", "validation event: data")
    if len(code) > MAX_VALIDATION_CODE or not code.isprintable():
        raise InputError("validation event: validationCode is not a validation code")
    return code


def _event(event: Mapping[str, Any], where: str) -> CloudEvent | None:
    cloudevent = _is_cloudevent(event)
    if cloudevent and event.get("specversion") != "1.0":
        raise InputError(f"{where}: CloudEvents specversion {event.get('specversion')!r}")
    kind = KINDS.get(_type(event, where))
    event_id = text(event, "id", where)
    if kind is None:
        return None
    data = mapping(event.get("data"), f"{where}: data")
    info = data.get("resourceInfo")
    if isinstance(info, Mapping):  # Resource Notifications carry the resource itself
        resource = text(info, "id", f"{where}: data.resourceInfo")
    else:
        resource = str(data.get("resourceUri") or text(event, "subject", where))
    if not resource.lower().startswith("/subscriptions/"):
        raise InputError(f"{where}: {resource!r} is not an Azure resource id")
    when = event.get("time") if cloudevent else event.get("eventTime")
    operational = data.get("operationalInfo")
    if when is None and isinstance(operational, Mapping):
        when = operational.get("resourceEventTime")
    return CloudEvent(
        provider=Provider.AZURE,
        keys=(f"azure:{event_id}",),
        resource=resource,
        kind=kind,
        type=_type(event, where),
        event_time=timestamp(when, f"{where}: time"),
    )

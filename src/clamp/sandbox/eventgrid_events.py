"""The events Event Grid delivers for an ARM write, as the sandbox builds them: the event
(Event Grid schema; "Azure subscription as an Event Grid source": ``data`` with
``authorization``, ``claims``, ``correlationId``, ``httpRequest``, ``resourceUri``,
``operationName``, ``status``), its delivery (the schema the subscription chose, the
``aeg-*`` headers of "Delivery and retry", and a Microsoft Entra bearer token when the
destination names a tenant and an app: "Deliver events to Microsoft Entra protected
endpoints"), and which subscriptions take it (scope, ``includedEventTypes``, subject
filters)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from clamp.sandbox.deliveries import Delivery
from clamp.sandbox.oidc import TENANT, SandboxIdentities
from clamp.sandbox.state import Json
from clamp.sandbox.write_events import ServedWrite

EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
"""The ``Microsoft.EventGrid`` service principal's app id, the same in every tenant (Event
Grid's "Secure WebHook delivery with Microsoft Entra application" script)."""
CALLER_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
"""The app id a write is reported as made by when its token says none: the Azure CLI's
well-known public client id."""
KINDS = {
    "PUT": ("Microsoft.Resources.ResourceWriteSuccess", "write"),
    "PATCH": ("Microsoft.Resources.ResourceWriteSuccess", "write"),
    "DELETE": ("Microsoft.Resources.ResourceDeleteSuccess", "delete"),
    "POST": ("Microsoft.Resources.ResourceActionSuccess", "action"),
}


def event_time() -> str:
    """The current time as Event Grid writes it."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def entra_headers(identities: SandboxIdentities, sub: Json) -> dict[str, str]:
    """A Microsoft Entra bearer token when the destination asks for one."""
    target = sub["properties"]["destination"]["properties"]
    app = target.get("azureActiveDirectoryApplicationIdOrUri")
    if not app:
        return {}
    tenant = target.get("azureActiveDirectoryTenantId") or TENANT
    now = int(time.time())
    token = identities.sign(
        {
            "iss": f"https://sts.windows.net/{tenant}/",
            "aud": app,
            "appid": EVENT_GRID_APP_ID,
            "tid": tenant,
            "sub": EVENT_GRID_APP_ID,
            "ver": "1.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
    )
    return {"Authorization": f"Bearer {token}"}


def write_event(
    write: ServedWrite, subscription: str, resource: str, operation: str, kind: str
) -> Json:
    caller = write.caller_claims()
    claims = {
        "aud": "https://management.azure.com/",
        "iss": f"https://sts.windows.net/{TENANT}/",
        "appid": CALLER_APP_ID,
        "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
        **{k: v for k, v in caller.items() if isinstance(v, str)},
    }
    correlation = write.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
    return {
        "id": str(uuid.uuid4()),
        "topic": f"/subscriptions/{subscription}",
        "subject": resource,
        "eventType": kind,
        "eventTime": event_time(),
        "data": {
            "authorization": {"scope": resource, "action": operation, "evidence": {}},
            "claims": claims,
            "correlationId": correlation,
            "httpRequest": {
                "clientRequestId": write.headers.get("x-ms-client-request-id", ""),
                "clientIpAddress": "127.0.0.1",
                "method": write.method,
                "url": f"https://management.azure.com{write.path}",
            },
            "resourceProvider": resource.split("/providers/")[-1].split("/")[0],
            "resourceUri": resource,
            "operationName": operation,
            "status": "Succeeded",
            "subscriptionId": subscription,
            "tenantId": TENANT,
        },
        "dataVersion": "2",
        "metadataVersion": "1",
    }


def delivery(identities: SandboxIdentities, sub: Json, url: str, event: Json) -> Delivery:
    props = sub["properties"]
    if props["eventDeliverySchema"] == "CloudEventSchemaV1_0":
        body = {
            "specversion": "1.0",
            "id": event["id"],
            "source": event["topic"],
            "type": event["eventType"],
            "subject": event["subject"],
            "time": event["eventTime"],
            "datacontenttype": "application/json",
            "data": event["data"],
        }
        content, kind = json.dumps(body).encode(), "application/cloudevents+json; charset=utf-8"
    else:
        content, kind = json.dumps([event]).encode(), "application/json"

    def headers(attempt: int) -> dict[str, str]:
        return {
            **entra_headers(identities, sub),
            "Content-Type": kind,
            "aeg-event-type": "Notification",
            "aeg-subscription-name": sub["name"].upper(),
            "aeg-delivery-count": str(attempt),
            "aeg-data-version": "2",
            "aeg-metadata-version": "1",
        }

    return Delivery(
        url,
        content,
        headers,
        acknowledged=lambda status: 200 <= status < 300,
        retried=lambda status: status not in (400, 413),
    )


def wanted(sub: Json, source: str, resource: str, event_type: str) -> bool:
    """Whether a subscription to the events of ``source`` takes this one (its scope and
    filter)."""
    props = sub["properties"]
    scope = source.lower()
    if not (resource.lower() == scope or resource.lower().startswith(scope + "/")):
        return False
    flt = props.get("filter") or {}
    included = flt.get("includedEventTypes")
    if included and event_type not in included:
        return False
    sensitive = bool(flt.get("isSubjectCaseSensitive"))
    subject = resource if sensitive else resource.lower()
    begins, ends = str(flt.get("subjectBeginsWith") or ""), str(flt.get("subjectEndsWith") or "")
    if not sensitive:
        begins, ends = begins.lower(), ends.lower()
    return subject.startswith(begins) and subject.endswith(ends)

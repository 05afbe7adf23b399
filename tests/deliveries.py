"""Real-format cloud change deliveries for the service's tests: Event Grid events and
Pub/Sub pushes of audit entries, with tokens signed by the sandbox's own keys."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx

from clamp.events.verify import EVENT_GRID_APP_ID
from clamp.sandbox.oidc import TENANT
from clamp.sandbox.server import Sandbox
from service_client import Api

SUB = "00000000-0000-4000-8000-000000000001"
NSG = (
    f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Network/"
    "networkSecurityGroups/internal-nsg"
)
SECRET = "s3cret-key"
AUDIENCE = "api://clamp-events"
PUSH_AUDIENCE = "https://clamp.test/events/gcp"
PUSHER = "clamp-push@clamp-demo-dev.iam.gserviceaccount.com"


def entra(estate: Sandbox, **claims: Any) -> str:
    """An Event Grid bearer token of the sandbox's Entra tenant."""
    now = int(time.time())
    base = {
        "iss": f"https://sts.windows.net/{TENANT}/",
        "aud": AUDIENCE,
        "appid": EVENT_GRID_APP_ID,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    return estate.identities.sign({**base, **claims})


def google(estate: Sandbox, **claims: Any) -> str:
    """A Pub/Sub push OIDC token, signed with the sandbox's key."""
    now = int(time.time())
    base = {
        "iss": "https://accounts.google.com",
        "aud": PUSH_AUDIENCE,
        "email": PUSHER,
        "email_verified": True,
        "iat": now,
        "exp": now + 600,
    }
    return estate.identities.sign({**base, **claims})


def rule_written(rule: str, event_id: str | None = None) -> list[dict[str, Any]]:
    """The Event Grid delivery of an NSG security rule's write (system topic)."""
    resource = f"{NSG}/securityRules/{rule}"
    return [
        {
            "id": event_id or str(uuid.uuid4()),
            "topic": f"/subscriptions/{SUB}",
            "subject": resource,
            "eventType": "Microsoft.Resources.ResourceWriteSuccess",
            "eventTime": "2026-12-02T06:00:00Z",
            "data": {
                "authorization": {
                    "scope": resource,
                    "action": "Microsoft.Network/networkSecurityGroups/securityRules/write",
                },
                "claims": {},
                "correlationId": str(uuid.uuid4()),
                "resourceProvider": "Microsoft.Network",
                "resourceUri": resource,
                "operationName": "Microsoft.Network/networkSecurityGroups/securityRules/write",
                "status": "Succeeded",
                "subscriptionId": SUB,
                "tenantId": TENANT,
            },
            "dataVersion": "2",
            "metadataVersion": "1",
        }
    ]


def firewall_inserted(
    operation: str,
    *,
    last: bool,
    message: str,
    firewall: str = "opened-ssh",
    method: str = "v1.compute.firewalls.insert",
) -> dict[str, Any]:
    """The Pub/Sub push of a firewall's Admin Activity audit entry (a log sink's)."""
    entry = {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": "dev@example.com"},
            "serviceName": "compute.googleapis.com",
            "methodName": method,
            "resourceName": f"projects/clamp-demo-dev/global/firewalls/{firewall}",
        },
        "insertId": f"{operation}-{int(last)}",
        "resource": {"type": "gce_firewall_rule", "labels": {"project_id": "clamp-demo-dev"}},
        "timestamp": "2026-12-02T06:00:00.123456789Z",
        "severity": "NOTICE",
        "logName": "projects/clamp-demo-dev/logs/cloudaudit.googleapis.com%2Factivity",
        "operation": {
            "id": operation,
            "producer": "compute.googleapis.com",
            **({"last": True} if last else {"first": True}),
        },
    }
    data = base64.b64encode(json.dumps(entry).encode()).decode()
    return {
        "message": {"data": data, "messageId": message, "publishTime": "2026-12-02T06:00:01Z"},
        "subscription": "projects/clamp-demo-dev/subscriptions/clamp",
    }


def deliver_azure(
    client: Api, body: Any, token: str | None, key: str | None = SECRET
) -> httpx.Response:
    """POST an Event Grid delivery to the service."""
    url = "/events/azure" + (f"?key={key}" if key is not None else "")
    return client.post(url, token, content=json.dumps(body))

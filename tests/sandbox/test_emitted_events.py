"""The sandbox as an event source, seen from the receiving end: what Event Grid and a
Pub/Sub push subscription it was given through the SDKs deliver to a webhook that
records every request (the handshakes, the headers, the bodies, the tokens, retries)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.eventgrid import EventGridManagementClient
from azure.mgmt.eventgrid.models import (
    EventSubscription,
    SystemTopic,
    WebHookEventSubscriptionDestination,
)
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.config import Settings
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from live_service import serving, until
from sandbox.discovery import problems

SUB = "00000000-0000-4000-8000-000000000001"
NSG = f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Network/networkSecurityGroups/internal-nsg"
RULE = {
    "properties": {
        "protocol": "Tcp",
        "access": "Allow",
        "direction": "Inbound",
        "priority": 3990,
        "sourceAddressPrefix": "10.0.0.0/8",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "destinationPortRange": "8443",
    }
}


@dataclass
class Hook:
    """A webhook that records every request and answers as told."""

    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    """Statuses for the next notifications (then 200)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self.lock:
            self.seen.append((request.method, headers, body))
            status = self.statuses.pop(0) if self.statuses else 200
        if request.method == "OPTIONS":
            origin = headers.get("webhook-request-origin", "")
            return Response(headers={"WebHook-Allowed-Origin": origin})
        if headers.get("aeg-event-type") == "SubscriptionValidation":
            code = json.loads(body)[0]["data"]["validationCode"]
            return JSONResponse({"validationResponse": code})
        return Response(status_code=status)

    def notifications(self) -> list[tuple[dict[str, str], Any]]:
        with self.lock:
            return [
                (h, json.loads(b))
                for m, h, b in self.seen
                if m == "POST" and h.get("aeg-event-type") != "SubscriptionValidation"
            ]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module (each test removes what it subscribed)."""
    with Sandbox(load_state(None)) as running:
        yield running


@pytest.fixture
def hook(sandbox: Sandbox) -> Iterator[tuple[Hook, str]]:
    """A recording webhook; afterwards no subscription, topic or sink is left."""
    recorder = Hook()
    app = Starlette(routes=[Route("/hook", recorder.handle, methods=["POST", "OPTIONS"])])
    with serving(app) as url:
        yield recorder, f"{url}/hook"
        sandbox.deliveries.settled()
    sandbox.event_grid.subscriptions.clear()
    sandbox.pubsub.subscriptions.clear()
    sandbox.audit_logs.sinks.clear()
    sandbox.pubsub.topics.clear()


def _clients(sandbox: Sandbox) -> AzureClients:
    return AzureClients(Settings(database_url="sqlite://", sandbox_url=sandbox.url))


def _subscribe(sandbox: Sandbox, endpoint: str, schema: str = "EventGridSchema") -> Any:
    clients = _clients(sandbox)
    grid = EventGridManagementClient(clients.credential, SUB, **clients.options)
    info = EventSubscription(
        destination=WebHookEventSubscriptionDestination(endpoint_url=endpoint),
        event_delivery_schema=schema,
    )
    return grid, grid.event_subscriptions.begin_create_or_update(
        f"/subscriptions/{SUB}", "recorder", info
    ).result()


def test_an_event_subscription_delivers_each_arm_write_as_an_event_grid_event(
    sandbox: Sandbox, hook: tuple[Hook, str]
) -> None:
    recorder, url = hook
    grid, created = _subscribe(sandbox, f"{url}?key=k1")
    assert created.provisioning_state == "Succeeded"
    assert created.destination.endpoint_base_url == url
    full = grid.event_subscriptions.get_full_url(f"/subscriptions/{SUB}", "recorder")
    assert full.endpoint_url == f"{url}?key=k1"

    network = _clients(sandbox).network(SUB)
    network.security_rules.begin_create_or_update(
        "clamp-demo", "internal-nsg", "hook", RULE
    ).result()
    network.security_rules.begin_delete("clamp-demo", "internal-nsg", "hook").result()
    assert sandbox.deliveries.settled()

    events = [(h, e) for h, body in recorder.notifications() for e in body]
    kinds = [(e["eventType"], e["data"]["operationName"]) for _h, e in events]
    assert kinds == [
        (
            "Microsoft.Resources.ResourceWriteSuccess",
            "Microsoft.Network/networkSecurityGroups/securityRules/write",
        ),
        (
            "Microsoft.Resources.ResourceDeleteSuccess",
            "Microsoft.Network/networkSecurityGroups/securityRules/delete",
        ),
    ]
    headers, written = events[0]
    assert headers["aeg-event-type"] == "Notification" and headers["aeg-delivery-count"] == "0"
    assert headers["aeg-subscription-name"] == "RECORDER"
    assert written["subject"] == written["data"]["resourceUri"] == f"{NSG}/securityRules/hook"
    assert written["topic"] == f"/subscriptions/{SUB}" and written["data"]["status"] == "Succeeded"
    assert written["data"]["claims"]["appid"] and written["data"]["correlationId"]


def test_a_cloudevents_subscription_is_validated_by_options_and_gets_cloudevents(
    sandbox: Sandbox, hook: tuple[Hook, str]
) -> None:
    recorder, url = hook
    _subscribe(sandbox, url, schema="CloudEventSchemaV1_0")
    assert recorder.seen[0][0] == "OPTIONS"
    assert recorder.seen[0][1]["webhook-request-origin"] == "eventgrid.azure.net"
    _clients(sandbox).network(SUB).security_rules.begin_create_or_update(
        "clamp-demo", "internal-nsg", "hook", RULE
    ).result()
    assert sandbox.deliveries.settled()
    [(headers, event)] = recorder.notifications()
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert event["specversion"] == "1.0" and event["type"].endswith("ResourceWriteSuccess")
    assert event["source"] == f"/subscriptions/{SUB}"


def test_a_delivery_that_fails_is_retried_until_acknowledged(
    sandbox: Sandbox, hook: tuple[Hook, str]
) -> None:
    recorder, url = hook
    _subscribe(sandbox, url)
    recorder.statuses = [503, 500]
    _clients(sandbox).network(SUB).security_rules.begin_create_or_update(
        "clamp-demo", "internal-nsg", "hook", RULE
    ).result()
    assert sandbox.deliveries.settled()
    counts = [h["aeg-delivery-count"] for h, _body in recorder.notifications()]
    assert counts == ["0", "1", "2"]
    ids = {body[0]["id"] for _h, body in recorder.notifications()}
    assert len(ids) == 1  # the same event, again


def test_an_endpoint_that_fails_the_handshake_gets_no_subscription(sandbox: Sandbox) -> None:
    app = Starlette(routes=[Route("/mute", lambda r: Response(status_code=200), methods=["POST"])])
    with serving(app) as url, pytest.raises(HttpResponseError, match="handshake failed"):
        _subscribe(sandbox, f"{url}/mute")


def _google(sandbox: Sandbox, api: str, version: str) -> Any:
    return build(
        api,
        version,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": sandbox.url},
        static_discovery=True,
        cache_discovery=False,
    )


def test_a_log_sink_pushes_the_audit_entries_of_a_compute_write(
    sandbox: Sandbox, hook: tuple[Hook, str]
) -> None:
    recorder, url = hook
    pubsub, logging = _google(sandbox, "pubsub", "v1"), _google(sandbox, "logging", "v2")
    topic = (
        pubsub.projects()
        .topics()
        .create(name="projects/clamp-demo-dev/topics/t", body={})
        .execute()
    )
    push = {"pushEndpoint": url, "oidcToken": {"serviceAccountEmail": "push@example.com"}}
    sub = (
        pubsub.projects()
        .subscriptions()
        .create(
            name="projects/clamp-demo-dev/subscriptions/s",
            body={"topic": topic["name"], "pushConfig": push},
        )
        .execute()
    )
    assert problems("pubsub.v1", {"$ref": "Subscription"}, sub) == []
    sink = {
        "name": "audit",
        "destination": f"pubsub.googleapis.com/{topic['name']}",
        "filter": 'protoPayload.serviceName="compute.googleapis.com"',
    }
    made = logging.projects().sinks().create(parent="projects/clamp-demo-dev", body=sink).execute()
    assert problems("logging.v2", {"$ref": "LogSink"}, made) == []
    with pytest.raises(HttpError) as refused:
        bad = {**sink, "name": "odd", "filter": "severity>=ERROR OR x"}
        logging.projects().sinks().create(parent="projects/clamp-demo-dev", body=bad).execute()
    assert refused.value.status_code == 400

    options: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": sandbox.url},
    }
    firewall = compute_v1.Firewall(
        name="hooked",
        network="https://www.googleapis.com/compute/v1/projects/clamp-demo-dev/global/networks/default",
        source_ranges=["10.0.0.0/8"],
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["8443"])],
    )
    compute_v1.FirewallsClient(**options).insert_unary(
        project="clamp-demo-dev", firewall_resource=firewall
    )
    until(lambda: len(recorder.seen) >= 2, "two pushes")
    keys = KeySet.import_key_set(httpx.get(f"{sandbox.url}/oauth2/v3/certs").json())
    entries = []
    for _method, headers, body in recorder.seen:
        claims = jwt.decode(headers["authorization"].removeprefix("Bearer "), keys).claims
        assert claims["aud"] == url and claims["email"] == "push@example.com"
        assert claims["email_verified"] is True and claims["iss"] == "https://accounts.google.com"
        message = json.loads(body)
        assert message["subscription"] == "projects/clamp-demo-dev/subscriptions/s"
        entries.append(json.loads(base64.b64decode(message["message"]["data"])))
    first, last = sorted(entries, key=lambda e: "first" not in e["operation"])
    assert first["protoPayload"]["methodName"] == "v1.compute.firewalls.insert"
    assert (
        first["protoPayload"]["resourceName"] == "projects/clamp-demo-dev/global/firewalls/hooked"
    )
    assert first["operation"]["first"] and last["operation"]["last"]
    assert first["operation"]["id"] == last["operation"]["id"]
    assert first["logName"].endswith("cloudaudit.googleapis.com%2Factivity")


def test_delivery_options_are_checked(sandbox: Sandbox) -> None:
    control = f"{sandbox.url}/_sandbox/deliveries"
    assert httpx.put(control, json={"duplicate": "yes"}).status_code == 400
    assert httpx.put(control, json={"delay_ms": -1}).status_code == 400
    set_ = httpx.put(control, json={"duplicate": True, "delay_ms": 5})
    assert set_.status_code == 200 and set_.json()["duplicate"] is True
    assert httpx.put(control, json={}).json()["duplicate"] is False


def test_a_system_topic_subscription_gets_the_azure_subscriptions_events(
    sandbox: Sandbox, hook: tuple[Hook, str]
) -> None:
    recorder, url = hook
    clients = _clients(sandbox)
    grid = EventGridManagementClient(clients.credential, SUB, **clients.options)
    topic = grid.system_topics.begin_create_or_update(
        "clamp-demo",
        "clamp-subscription",
        SystemTopic(
            location="global",
            source=f"/subscriptions/{SUB}",
            topic_type="Microsoft.Resources.Subscriptions",
        ),
    ).result()
    assert topic.provisioning_state == "Succeeded"
    info = EventSubscription(destination=WebHookEventSubscriptionDestination(endpoint_url=url))
    created = grid.system_topic_event_subscriptions.begin_create_or_update(
        "clamp-demo", "clamp-subscription", "recorder", info
    ).result()
    assert created.provisioning_state == "Succeeded" and created.topic == topic.id
    _clients(sandbox).network(SUB).security_rules.begin_create_or_update(
        "clamp-demo", "internal-nsg", "hook", RULE
    ).result()
    assert sandbox.deliveries.settled()
    [(_headers, [event])] = recorder.notifications()
    assert event["data"]["resourceUri"] == f"{NSG}/securityRules/hook"
    sandbox.event_grid.topics.clear()


def test_topics_and_subscriptions_are_read_refused_twice_and_deleted_as_pubsub_does(
    sandbox: Sandbox,
) -> None:
    pubsub = _google(sandbox, "pubsub", "v1").projects()
    name = "projects/clamp-demo-dev/topics/twice"
    made = pubsub.topics().create(name=name, body={}).execute()
    sub = "projects/clamp-demo-dev/subscriptions/twice"
    pubsub.subscriptions().create(name=sub, body={"topic": name}).execute()

    with pytest.raises(HttpError) as again:
        pubsub.topics().create(name=name, body={}).execute()
    assert again.value.status_code == 409
    with pytest.raises(HttpError) as sub_again:
        pubsub.subscriptions().create(name=sub, body={"topic": name}).execute()
    assert sub_again.value.status_code == 409
    assert pubsub.topics().get(topic=name).execute() == made
    pubsub.subscriptions().delete(subscription=sub).execute()
    pubsub.topics().delete(topic=name).execute()
    for gone in (pubsub.topics().get(topic=name), pubsub.subscriptions().get(subscription=sub)):
        with pytest.raises(HttpError) as missing:
            gone.execute()
        assert missing.value.status_code == 404

"""Event intake through the service in-process: deliveries signed with the sandbox's own
keys (served as a JWKS), verified, stored once, and processed against the sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

from clamp.api.app import create_app
from clamp.api.service import Service
from clamp.config import Settings
from clamp.events.azure import parse_azure
from clamp.events.config import AzureEvents, EntraWebhook, EventsConfig, GcpEvents
from clamp.events.verify import EVENT_GRID_APP_ID
from clamp.model import FindingStatus
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.oidc import TENANT, SandboxIdentities
from clamp.sandbox.server import Sandbox
from deliveries import (
    AUDIENCE,
    NSG,
    PUSH_AUDIENCE,
    PUSHER,
    SECRET,
    SUB,
    deliver_azure,
    entra,
    firewall_inserted,
    google,
    rule_written,
)
from service_client import Api, make_service

FIREWALL = "//compute.googleapis.com/projects/clamp-demo-dev/global/firewalls/opened-ssh"


@pytest.fixture(scope="module")
def intake(estate: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    keys = f"{estate.url}/oidc/{TENANT}/discovery/v2.0/keys"
    events = EventsConfig(
        azure=AzureEvents(SECRET, EntraWebhook(TENANT, AUDIENCE, keys)),
        gcp=GcpEvents(PUSH_AUDIENCE, PUSHER, keys),
    )
    running = make_service(estate, tmp_path_factory.mktemp("events"), events=events)
    yield running
    running.close()


@pytest.fixture(scope="module")
def client(intake: Service) -> Iterator[Api]:
    api = Api(create_app(intake))
    yield api
    api.close()


def stats(intake: Service) -> dict[str, int]:
    return intake.store.events.counters()


def test_the_subscription_validation_handshake_echoes_the_code(
    client: Api, estate: Sandbox
) -> None:
    code = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
    event = rule_written("x")[0] | {
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "data": {"validationCode": code, "validationUrl": "https://rp/validate"},
    }
    answer = deliver_azure(client, [event], entra(estate))
    assert answer.status_code == 200 and answer.json() == {"validationResponse": code}
    twice = deliver_azure(client, [event, event], entra(estate))
    assert twice.status_code == 400


def test_the_cloudevents_abuse_protection_handshake_allows_the_origin(client: Api) -> None:
    headers = {"WebHook-Request-Origin": "eventgrid.azure.net"}
    answer = client.request("OPTIONS", f"/events/azure?key={SECRET}", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert client.request("OPTIONS", "/events/azure?key=wrong", headers=headers).status_code == 401


def forged(estate: Sandbox) -> str:
    impostor = SandboxIdentities(kid=estate.identities.kid)  # the right key id, another key
    now = int(time.time())
    claims = {
        "iss": f"https://sts.windows.net/{TENANT}/",
        "aud": AUDIENCE,
        "appid": EVENT_GRID_APP_ID,
        "exp": now + 600,
    }
    return impostor.sign(claims)


@pytest.mark.parametrize(
    "case",
    [
        "forged signature",
        "wrong audience",
        "expired",
        "not Event Grid",
        "no token",
        "no key",
        "wrong key",
        "other tenant",
    ],
)
def test_unproven_azure_deliveries_are_refused_and_stored_nowhere(
    client: Api, intake: Service, estate: Sandbox, case: str
) -> None:
    token: str | None = entra(estate)
    key: str | None = SECRET
    match case:
        case "forged signature":
            token = forged(estate)
        case "wrong audience":
            token = entra(estate, aud="api://someone-else")
        case "expired":
            token = entra(estate, exp=int(time.time()) - 3600)
        case "not Event Grid":
            token = entra(estate, appid="11111111-2222-3333-4444-555555555555")
        case "no token":
            token = None
        case "no key":
            key = None
        case "wrong key":
            key = "guess"
        case "other tenant":
            token = entra(estate, iss="https://sts.windows.net/another-tenant/")
    before = stats(intake)
    answer = deliver_azure(client, rule_written("allow-ssh-corp"), token, key)
    assert answer.status_code == 401
    after = stats(intake)
    assert after["rejected"] == before["rejected"] + 1
    assert after["received"] == before["received"] and intake.store.events.pending() == []


@pytest.mark.parametrize(
    "case",
    [
        "forged signature",
        "wrong audience",
        "expired",
        "wrong email",
        "unverified email",
        "no token",
    ],
)
def test_unproven_push_deliveries_are_refused_and_stored_nowhere(
    client: Api, intake: Service, estate: Sandbox, case: str
) -> None:
    token = {
        "forged signature": forged(estate),
        "wrong audience": google(estate, aud="https://elsewhere"),
        "expired": google(estate, exp=int(time.time()) - 3600),
        "wrong email": google(estate, email="attacker@evil.iam.gserviceaccount.com"),
        "unverified email": google(estate, email_verified=False),
        "no token": None,
    }[case]
    before = stats(intake)
    body = firewall_inserted("op-refused", last=True, message="refused")
    assert client.post("/events/gcp", token, json=body).status_code == 401
    after = stats(intake)
    assert after["rejected"] == before["rejected"] + 1 and after["received"] == before["received"]


def test_malformed_deliveries_are_bad_requests(client: Api, estate: Sandbox) -> None:
    assert deliver_azure(client, [{"id": "x"}], entra(estate)).status_code == 400
    answer = client.post(
        "/events/gcp", google(estate), json={"message": {"messageId": "1", "data": "%%"}}
    )
    assert (
        answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
    )


def test_an_oversized_delivery_is_refused_before_it_is_read_whole(
    client: Api, intake: Service, estate: Sandbox
) -> None:
    before = stats(intake)
    huge = b"[" + b" " * (11 * 1024 * 1024) + b"]"
    answer = client.post(f"/events/azure?key={SECRET}", entra(estate), content=huge)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert stats(intake) == before


def _open_findings(intake: Service, resource: str) -> list[str]:
    return [
        r.finding.check
        for r in intake.store.findings(status=FindingStatus.OPEN)
        if r.finding.resource.lower() == resource.lower()
    ]


def test_an_nsg_rule_opened_to_the_internet_is_found_from_its_event(
    client: Api, intake: Service, estate: Sandbox
) -> None:
    assert "exposed-admin-port" not in _open_findings(intake, NSG)
    network = AzureClients(Settings(database_url="sqlite://", sandbox_url=estate.url)).network(SUB)
    rule = {
        "properties": {
            "protocol": "Tcp",
            "access": "Allow",
            "direction": "Inbound",
            "priority": 3900,
            "sourceAddressPrefix": "*",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "22",
        }
    }
    network.security_rules.begin_create_or_update(
        "clamp-demo", "internal-nsg", "open-ssh", rule
    ).result()
    before = stats(intake)
    event = rule_written("open-ssh", "grid-1")
    assert deliver_azure(client, event, entra(estate)).json()["accepted"] == 1
    assert intake.store.events.get("azure:grid-1") is not None  # stored before the 200
    assert deliver_azure(client, event, entra(estate)).json()["accepted"] == 0  # a replay
    intake.idle()
    assert "exposed-admin-port" in _open_findings(intake, NSG)
    after = stats(intake)
    assert after["received"] == before["received"] + 1
    assert after["duplicates"] == before["duplicates"] + 1
    assert after["processed"] == before["processed"] + 1


def test_a_firewall_opened_to_the_internet_is_found_from_its_audit_entries(
    client: Api, intake: Service, estate: Sandbox
) -> None:
    options: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": estate.url},
    }
    firewall = compute_v1.Firewall(
        name="opened-ssh",
        network="https://www.googleapis.com/compute/v1/projects/clamp-demo-dev/global/networks/default",
        source_ranges=["0.0.0.0/0"],
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])],
    )
    op = compute_v1.FirewallsClient(**options).insert_unary(
        project="clamp-demo-dev", firewall_resource=firewall
    )
    compute_v1.GlobalOperationsClient(**options).wait(project="clamp-demo-dev", operation=op.name)
    before = stats(intake)
    first = firewall_inserted("operation-1", last=False, message="m-first")
    assert client.post("/events/gcp", google(estate), json=first).json()["accepted"] == 1
    last = firewall_inserted("operation-1", last=True, message="m-last")
    assert client.post("/events/gcp", google(estate), json=last).json()["accepted"] == 1
    assert client.post("/events/gcp", google(estate), json=last).json()["accepted"] == 0
    intake.idle()
    assert _open_findings(intake, FIREWALL) == ["exposed-admin-port"]
    after = stats(intake)
    assert after["received"] == before["received"] + 1  # one operation, one event
    assert after["duplicates"] == before["duplicates"] + 2


def test_stats_are_served_to_any_signed_in_role(
    client: Api, intake: Service, estate: Sandbox
) -> None:
    assert deliver_azure(client, rule_written("allow-ssh-corp"), entra(estate)).status_code == 200
    intake.idle()
    token = intake.accounts.add("watcher", ["viewer"], actor="operator")
    answer = client.get("/api/v1/events/stats", token)
    assert answer.status_code == 200
    body = answer.json()
    assert {"received", "rejected", "duplicates", "processed"} <= set(body)
    assert set(body["latency_ms"]) == set(body["cloud_delay_ms"]) == {"p50", "p95", "p99"}
    assert body["processing_ms"]["p50"] is not None
    assert client.get("/api/v1/events/stats").status_code == 401


def test_events_stored_but_not_processed_are_processed_on_start(
    estate: Sandbox, tmp_path: Path
) -> None:
    service = make_service(estate, tmp_path)
    [event] = parse_azure(json.dumps(rule_written("open-ssh", "crash-1")).encode()).events
    service.store.events.record(event, datetime.now(UTC))  # acknowledged, then the crash
    assert [e.event.id for e in service.store.events.pending()] == ["azure:crash-1"]
    service.close()
    restarted = Service(service.settings)
    restarted.settle()
    restarted.idle()
    assert restarted.store.events.pending() == []
    stored = restarted.store.events.get("azure:crash-1")
    assert stored is not None and stored.result.startswith("re-read")
    restarted.close()


def test_a_pushed_flow_log_entry_is_kept_as_aggregates_once(
    client: Api, intake: Service, estate: Sandbox
) -> None:
    import base64

    from clamp.sandbox.flow_traffic import gcp_entries

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    entry = next(e for e in gcp_entries(estate.state, now, 1) if "vpc_flows" in str(e["logName"]))
    data = base64.b64encode(json.dumps(entry).encode()).decode()
    body = {"message": {"data": data, "messageId": "flow-1"}, "subscription": "s"}
    assert client.post("/events/gcp", json=body).status_code == 401  # proven first
    assert client.post("/events/gcp", google(estate), json=body).json()["flows"] == 1
    assert client.post("/events/gcp", google(estate), json=body).json()["flows"] == 0
    kept = intake.store.flows.observed(since=now, direction=None)
    assert sum(a.flows for a in kept) == 1

"""Security Command Center notifications through the Pub/Sub push intake: each makes
Clamp re-read the finding's resource and judge it with its own checks (trust, but
verify) — an exposure SCC reports that Clamp confirms is found; one it does not, is not."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

from clamp.api.app import create_app
from clamp.api.service import Service
from clamp.events.config import EventsConfig, GcpEvents
from clamp.events.gcp import parse_push
from clamp.model import FindingStatus
from clamp.sandbox.oidc import TENANT
from clamp.sandbox.server import Sandbox
from deliveries import PUSH_AUDIENCE, PUSHER, google
from service_client import Api, make_service

PROJECT = "clamp-demo-dev"
FIREWALLS = f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls/"


def notification(fid: str, resource: str, display: str, category: str) -> dict[str, Any]:
    """The push of one SCC notification (``NotificationMessage`` as JSON, the shape
    google-cloud-securitycenter's type gives it) on a notification config's topic."""
    source = "organizations/123456789012/sources/1234567890123456789"
    message = {
        "notificationConfigName": "organizations/123456789012/notificationConfigs/clamp",
        "finding": {
            "name": f"{source}/findings/{fid}",
            "parent": source,
            "resourceName": resource,
            "state": "ACTIVE",
            "category": category,
            "eventTime": "2026-12-02T06:00:00.123456Z",
            "createTime": "2026-12-02T06:00:00Z",
            "severity": "HIGH",
            "findingClass": "MISCONFIGURATION",
        },
        "resource": {"name": resource, "displayName": display, "projectDisplayName": PROJECT},
    }
    data = base64.b64encode(json.dumps(message).encode()).decode()
    return {
        "message": {"data": data, "messageId": f"scc-{fid}", "publishTime": "2026-12-02T06:00:01Z"},
        "subscription": f"projects/{PROJECT}/subscriptions/clamp-scc",
    }


@pytest.fixture(scope="module")
def intake(estate: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    keys = f"{estate.url}/oidc/{TENANT}/discovery/v2.0/keys"
    events = EventsConfig(gcp=GcpEvents(PUSH_AUDIENCE, PUSHER, keys))
    running = make_service(estate, tmp_path_factory.mktemp("scc"), events=events)
    yield running
    running.close()


@pytest.fixture(scope="module")
def client(intake: Service) -> Iterator[Api]:
    api = Api(create_app(intake))
    yield api
    api.close()


def _open_checks(intake: Service, resource: str) -> list[str]:
    return [
        r.finding.check
        for r in intake.store.findings(status=FindingStatus.OPEN)
        if r.finding.resource.lower() == resource.lower()
    ]


def test_a_notification_names_the_resource_as_clamp_does() -> None:
    push = notification("n0", FIREWALLS + "7000000000000000777", "opened-rdp", "OPEN_RDP_PORT")

    event, message_id = parse_push(json.dumps(push).encode())

    assert event is not None and message_id == "scc-n0"
    assert event.resource == FIREWALLS + "opened-rdp"
    assert event.type == "securitycenter:OPEN_RDP_PORT"


def test_an_exposure_scc_reports_is_found_once_clamp_confirms_it(
    client: Api, intake: Service, estate: Sandbox
) -> None:
    options: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": estate.url},
    }
    firewall = compute_v1.Firewall(
        name="opened-rdp",
        network=f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/default",
        source_ranges=["0.0.0.0/0"],
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["3389"])],
    )
    op = compute_v1.FirewallsClient(**options).insert_unary(
        project=PROJECT, firewall_resource=firewall
    )
    compute_v1.GlobalOperationsClient(**options).wait(project=PROJECT, operation=op.name)
    push = notification("n1", FIREWALLS + "7000000000000000777", "opened-rdp", "OPEN_RDP_PORT")

    assert client.post("/events/gcp", google(estate), json=push).json()["accepted"] == 1
    intake.idle()

    assert _open_checks(intake, FIREWALLS + "opened-rdp") == ["exposed-admin-port"]


def test_an_exposure_clamp_does_not_confirm_opens_nothing(
    client: Api, intake: Service, estate: Sandbox
) -> None:
    internal = FIREWALLS + "default-allow-internal"  # 10.128.0.0/9 only
    push = notification("n2", internal, "default-allow-internal", "OPEN_FIREWALL")
    processed = intake.store.events.counters()["processed"]

    assert client.post("/events/gcp", google(estate), json=push).json()["accepted"] == 1
    intake.idle()

    assert intake.store.events.counters()["processed"] == processed + 1  # it was re-read
    assert _open_checks(intake, internal) == []

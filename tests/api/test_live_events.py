"""End to end, live: the service listens on a real port; the cloud side is created on the
sandbox through the SDKs (an Event Grid subscription with azure-mgmt-eventgrid; a Pub/Sub
topic, a push subscription with an OIDC token and a log sink with Google's discovery
clients); a port is opened to the internet through the SDK, and the sandbox's own
deliveries — signed with its keys — make an event-triggered rule close it (non-production)
or queue it for approval (production). Duplicated deliveries act once; the events of
Clamp's own fix only re-verify."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import yaml
from azure.core.exceptions import HttpResponseError
from azure.mgmt.eventgrid import EventGridManagementClient
from azure.mgmt.eventgrid.models import (
    EventSubscription,
    EventSubscriptionFilter,
    WebHookEventSubscriptionDestination,
)
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1
from googleapiclient.discovery import build
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from clamp.api.service import Service
from clamp.cli.main import app
from clamp.config import Settings
from clamp.events.config import AzureEvents, EntraWebhook, EventsConfig, GcpEvents
from clamp.model import ActionStatus
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.deliveries import DeliveryOptions
from clamp.sandbox.oidc import TENANT
from clamp.sandbox.server import Sandbox
from clamp.selectors import Selector
from deliveries import AUDIENCE, PUSH_AUDIENCE, PUSHER, SECRET, SUB, entra, rule_written
from live_service import listening, until
from service_client import make_service

DEV, PROD = "clamp-demo-dev", "clamp-demo-prod"
CLOSE = {"match": {"check": ["exposed-admin-port"]}, "action": "restrict_ingress"}
RULES = {
    "rules": [
        {
            **CLOSE,
            "name": f"close-ssh-{stage}-{cloud}",
            "mode": "auto" if stage == "dev" else "approve",
            "trigger": "event",
            "match": {**CLOSE["match"], "scope": scope},
        }
        for stage, cloud, scope in [
            ("dev", "azure", {"tags": {"env": "dev"}}),
            ("dev", "gcp", {"projects": [DEV]}),
            ("prod", "azure", {"tags": {"env": "prod"}}),
            ("prod", "gcp", {"projects": [PROD]}),
        ]
    ]
}
STAGES = {
    "non-prod": (Selector(tags={"env": frozenset({"dev"})}), Selector(projects=frozenset({DEV}))),
    "prod": (Selector(tags={"env": frozenset({"prod"})}), Selector(projects=frozenset({PROD}))),
}
SSH: dict[str, Any] = {
    "properties": {
        "protocol": "Tcp",
        "access": "Allow",
        "direction": "Inbound",
        "sourceAddressPrefix": "*",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "destinationPortRange": "22",
    }
}


@pytest.fixture(scope="module")
def live(
    estate: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, str]]:
    """The service over the sandbox, verifying both clouds' tokens with the sandbox's keys,
    listening on a real port."""
    tmp = tmp_path_factory.mktemp("live-events")
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump(RULES))
    entra = EntraWebhook(TENANT, AUDIENCE, f"{estate.url}/oidc/{TENANT}/discovery/v2.0/keys")
    events = EventsConfig(
        azure=AzureEvents(SECRET, entra),
        gcp=GcpEvents(PUSH_AUDIENCE, PUSHER, f"{estate.url}/oauth2/v3/certs"),
    )
    service = make_service(estate, tmp, events=events, rules_file=rules, stages=STAGES)
    with listening(service) as url:
        yield service, url
    service.close()


@pytest.fixture(scope="module")
def azure(estate: Sandbox) -> AzureClients:
    return AzureClients(Settings(database_url="sqlite://", sandbox_url=estate.url))


def _grid(azure: AzureClients) -> EventGridManagementClient:
    return EventGridManagementClient(azure.credential, SUB, **azure.options)


def _subscribe(azure: AzureClients, name: str, endpoint: str) -> EventSubscription:
    """An Event Grid subscription on the Azure subscription, to an Entra-protected
    webhook with a key, through azure-mgmt-eventgrid."""
    info = EventSubscription(
        destination=WebHookEventSubscriptionDestination(
            endpoint_url=endpoint,
            azure_active_directory_tenant_id=TENANT,
            azure_active_directory_application_id_or_uri=AUDIENCE,
        ),
        filter=EventSubscriptionFilter(
            included_event_types=[
                "Microsoft.Resources.ResourceWriteSuccess",
                "Microsoft.Resources.ResourceDeleteSuccess",
            ]
        ),
    )
    poller = _grid(azure).event_subscriptions.begin_create_or_update(
        f"/subscriptions/{SUB}", name, info
    )
    result: EventSubscription = poller.result()
    return result


def _story(estate: Sandbox, service: Service) -> str:
    """What the deliveries and the events did, for a failure's message."""
    done = [
        f"{e.event.resource.rsplit('/', 1)[-1]}: {e.result}" for e in service.store.events.recent()
    ]
    return f"deliveries {estate.deliveries.stats()}; events {done}"


def _settled(estate: Sandbox, service: Service) -> None:
    """Every delivery made and every event processed (Clamp's fix emits events too)."""
    for _ in range(3):
        assert estate.deliveries.settled()
        service.idle()


def test_a_handshake_the_endpoint_fails_leaves_no_subscription(
    live: tuple[Service, str], azure: AzureClients, estate: Sandbox
) -> None:
    service, url = live
    rejected = service.store.events.counters()["rejected"]
    with pytest.raises(HttpResponseError, match="validation handshake failed"):
        _subscribe(azure, "wrong-key", f"{url}/events/azure?key=not-the-secret")
    assert service.store.events.counters()["rejected"] == rejected + 1
    assert [s.name for s in _grid(azure).event_subscriptions.list_global_by_subscription()] == []


def test_ssh_opened_on_azure_is_closed_in_dev_and_queued_in_prod(
    live: tuple[Service, str], azure: AzureClients, estate: Sandbox
) -> None:
    service, url = live
    created = _subscribe(azure, "clamp", f"{url}/events/azure?key={SECRET}")
    assert created.provisioning_state == "Succeeded"
    assert created.destination.endpoint_base_url == f"{url}/events/azure"  # no key shown
    network = azure.network(SUB)
    before = len(service.store.actions())
    estate.deliveries.options = DeliveryOptions(duplicate=True)  # at least once: twice
    try:
        # a dev NSG no scan has seen (its tags come from the event's re-read), made open
        ssh = {"name": "live-ssh", "properties": {**SSH["properties"], "priority": 3920}}
        dev = {
            "location": "westeurope",
            "tags": {"env": "dev"},
            "properties": {"securityRules": [ssh]},
        }
        network.network_security_groups.begin_create_or_update(
            "clamp-demo", "live-dev-nsg", dev
        ).result()
        # and a prod NSG that was scanned, given a rule that opens SSH
        rule = {"properties": {**SSH["properties"], "priority": 3921}}
        network.security_rules.begin_create_or_update(
            "clamp-demo", "db-nsg", "live-ssh", rule
        ).result()

        def closed() -> bool:
            got = network.security_rules.get("clamp-demo", "live-dev-nsg", "live-ssh")
            return bool(got.access == "Deny")  # its only source is the internet

        until(closed, "the dev NSG's SSH rule to be closed", lambda: _story(estate, service))
        _settled(estate, service)
    finally:
        estate.deliveries.options = DeliveryOptions()

    actions = service.store.actions()[: len(service.store.actions()) - before]
    assert [(a.actor, a.status) for a in actions] == [
        ("rule:close-ssh-dev-azure", ActionStatus.VERIFIED)
    ]
    queued = [a for a in service.store.incidents.approvals() if a.rule == "close-ssh-prod-azure"]
    assert len(queued) == 1 and "db-nsg" in queued[0].summary
    prod = network.security_rules.get("clamp-demo", "db-nsg", "live-ssh")
    assert prod.access == "Allow"  # nothing written before an approval
    stats = service.events.stats()
    assert isinstance(stats["duplicates"], int) and stats["duplicates"] >= 2
    assert service.store.events.counters()["rejected"] <= 1  # only the failed handshake


def test_ssh_opened_on_gcp_is_closed_in_dev_and_queued_in_prod(
    live: tuple[Service, str], estate: Sandbox
) -> None:
    service, url = live
    google: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "client_options": {"api_endpoint": estate.url},
        "static_discovery": True,
        "cache_discovery": False,
    }
    pubsub, logging = build("pubsub", "v1", **google), build("logging", "v2", **google)
    for project in (DEV, PROD):
        topic = f"projects/{project}/topics/clamp-events"
        pubsub.projects().topics().create(name=topic, body={}).execute()
        push = {
            "pushEndpoint": f"{url}/events/gcp",
            "oidcToken": {"serviceAccountEmail": PUSHER, "audience": PUSH_AUDIENCE},
        }
        pubsub.projects().subscriptions().create(
            name=f"projects/{project}/subscriptions/clamp-push",
            body={"topic": topic, "pushConfig": push},
        ).execute()
        sink = {
            "name": "clamp-audit",
            "destination": f"pubsub.googleapis.com/{topic}",
            "filter": 'logName:"cloudaudit.googleapis.com%2Factivity"',
        }
        made = logging.projects().sinks().create(parent=f"projects/{project}", body=sink).execute()
        assert made["writerIdentity"].startswith("serviceAccount:")

    options: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": estate.url},
    }
    firewalls = compute_v1.FirewallsClient(**options)
    before = len(service.store.actions())
    for project in (DEV, PROD):
        firewall = compute_v1.Firewall(
            name="live-ssh",
            network=f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/default",
            source_ranges=["0.0.0.0/0"],
            allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])],
        )
        op = firewalls.insert_unary(project=project, firewall_resource=firewall)
        compute_v1.GlobalOperationsClient(**options).wait(project=project, operation=op.name)

    disabled = lambda: firewalls.get(project=DEV, firewall="live-ssh").disabled  # noqa: E731
    until(disabled, "the dev firewall to be disabled", lambda: _story(estate, service))
    _settled(estate, service)
    actions = service.store.actions()[: len(service.store.actions()) - before]
    assert [(a.actor, a.status) for a in actions] == [
        ("rule:close-ssh-dev-gcp", ActionStatus.VERIFIED)
    ]
    queued = [a for a in service.store.incidents.approvals() if a.rule == "close-ssh-prod-gcp"]
    assert len(queued) == 1 and "live-ssh" in queued[0].summary
    assert not firewalls.get(project=PROD, firewall="live-ssh").disabled
    # the fix's own write was logged and pushed: re-verified, nothing opened, no action
    fixed = f"//compute.googleapis.com/projects/{DEV}/global/firewalls/live-ssh"
    fix_events = [
        e
        for e in service.store.events.recent()
        if e.event.type == "v1.compute.firewalls.update" and e.event.resource == fixed
    ]
    assert fix_events and all(e.acted is None and "0 opened" in e.result for e in fix_events)


def test_the_cli_and_prometheus_show_the_figures_the_api_serves(
    live: tuple[Service, str], estate: Sandbox
) -> None:
    service, url = live
    # one delivery of its own, so the figures are not all zero when this test runs on an
    # xdist worker that ran neither story above
    body = json.dumps(rule_written("live-stats"))
    headers = {"Authorization": f"Bearer {entra(estate)}", "Content-Type": "application/json"}
    posted = httpx.post(f"{url}/events/azure?key={SECRET}", content=body, headers=headers)
    assert posted.status_code == 200, posted.text
    _settled(estate, service)
    served = service.events.stats()
    env = {"CLAMP_DATABASE_URL": service.settings.database_url}
    shown = CliRunner().invoke(app, ["events", "stats", "--format", "json"], env=env)
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout) == served
    assert isinstance(served["processed"], int) and served["processed"] >= 1

    assert httpx.get(f"{url}/metrics").status_code == 401
    token = service.accounts.add("scraper", ["viewer"], actor="operator")
    scraped = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
    }
    assert samples["clamp_events_received_total"] == served["received"]
    assert samples["clamp_events_duplicates_total"] == served["duplicates"]
    assert samples["clamp_events_rejected_total"] == served["rejected"]
    by_rules = [a for a in service.store.actions() if a.actor.startswith("rule:")]
    assert samples["clamp_event_action_latency_seconds_count"] == len(by_rules)  # the dev fixes
    assert samples["clamp_event_cloud_delay_seconds_count"] == served["received"]

    opened = Service(replace(service.settings, metrics_public=True), store=service.store)
    with listening(opened) as public:
        assert httpx.get(f"{public}/metrics").status_code == 200

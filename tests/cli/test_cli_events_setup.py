"""``clamp events setup`` against the sandbox, through the SDKs: the plan alone changes
nothing; setup then setup again makes each object once; a 403 stops it with one line
naming the permission and nothing made; after setup, a write made through the SDK is
delivered to a listening Clamp service (the sandbox's own Event Grid and Pub/Sub push)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.mgmt.eventgrid import EventGridManagementClient
from google.cloud import compute_v1
from typer.testing import CliRunner

from clamp.api.service import Service
from clamp.cli.main import app
from clamp.config import Settings
from clamp.events.azure import KINDS
from clamp.events.config import AzureEvents, EntraWebhook, EventsConfig, GcpEvents
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.event_subscriptions import EVENT_TYPES
from clamp.providers.gcp.clients import GcpClients
from clamp.sandbox.oidc import TENANT
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.store import Store
from deliveries import AUDIENCE, PUSH_AUDIENCE, PUSHER, SECRET, SUB
from live_service import listening, until

DEV = "clamp-demo-dev"
ENDPOINT = "https://clamp.example.com"
AZURE = ["--provider", "azure", "--subscription", SUB, "--resource-group", "clamp-demo"]
GCP = ["--provider", "gcp", "--project", DEV]


@dataclass
class Cloud:
    """A fresh sandbox, the environment of a ``clamp`` configured for its events, and the
    ``[events]`` that config holds."""

    sandbox: Sandbox
    env: dict[str, str]
    events: EventsConfig

    def setup(self, *args: str, endpoint: str = ENDPOINT) -> Any:
        """``clamp events setup … --format json`` (its result)."""
        argv = ["events", "setup", *args, "--endpoint", endpoint, "--format", "json"]
        return CliRunner().invoke(app, argv, env=self.env)

    def grid(self) -> EventGridManagementClient:
        clients = AzureClients(Settings(database_url="sqlite://", sandbox_url=self.sandbox.url))
        return EventGridManagementClient(clients.credential, SUB, **clients.options)

    def audited(self) -> list[dict[str, Any]]:
        store = Store.open(self.env["CLAMP_DATABASE_URL"])
        return [e.payload for e in store.audit.entries() if e.event == "events.setup"]


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with Sandbox(load_state(None)) as sandbox:
        jwks = f"{sandbox.url}/oidc/{TENANT}/discovery/v2.0/keys"
        certs = f"{sandbox.url}/oauth2/v3/certs"
        config = tmp_path / "clamp.toml"
        config.write_text(
            f'[events.azure]\nwebhook_secret = "{SECRET}"\ntenant_id = "{TENANT}"\n'
            f'audience = "{AUDIENCE}"\njwks_url = "{jwks}"\n'
            f'[events.gcp]\naudience = "{PUSH_AUDIENCE}"\nservice_account = "{PUSHER}"\n'
            f'certs_url = "{certs}"\n'
        )
        env = {
            "CLAMP_DATABASE_URL": f"sqlite:///{tmp_path / 'clamp.db'}",
            "CLAMP_SANDBOX_URL": sandbox.url,
            "CLAMP_CONFIG": str(config),
            "CLAMP_ACTOR": "operator",
        }
        events = EventsConfig(
            azure=AzureEvents(SECRET, EntraWebhook(TENANT, AUDIENCE, jwks)),
            gcp=GcpEvents(PUSH_AUDIENCE, PUSHER, certs),
        )
        yield Cloud(sandbox, env, events)


def test_the_subscription_takes_every_event_type_clamp_handles_from_that_topic() -> None:
    assert set(EVENT_TYPES) <= set(KINDS)
    assert all(t.startswith("Microsoft.Resources.") for t in EVENT_TYPES)


def test_a_dry_run_prints_the_plan_and_changes_nothing(cloud: Cloud) -> None:
    for args in (AZURE, GCP):
        result = cloud.setup(*args, "--dry-run")
        assert result.exit_code == 0, result.stderr
        plan = json.loads(result.stdout)
        assert plan["applied"] is False and plan["created"] == []
        assert [s["exists"] for s in plan["steps"]] == [False] * len(plan["steps"])
        assert all(s["permission"] in plan["permissions"] for s in plan["steps"])
    assert list(cloud.grid().system_topics.list_by_subscription()) == []
    assert cloud.sandbox.pubsub.topics == {} and cloud.sandbox.audit_logs.sinks == {}
    assert cloud.audited() == []
    shown = CliRunner().invoke(
        app, ["events", "setup", *GCP, "--endpoint", ENDPOINT, "--dry-run"], env=cloud.env
    )
    assert shown.exit_code == 0
    assert "roles/pubsub.admin" in shown.stdout and "pubsub.topics.setIamPolicy" in shown.stdout


def test_a_403_names_the_permission_and_nothing_is_made(cloud: Cloud) -> None:
    faults = f"{cloud.sandbox.url}/_sandbox/faults"
    httpx.post(faults, json={"status": 403, "method": "PUT", "path": "systemTopics", "times": None})
    httpx.post(faults, json={"status": 403, "method": "PUT", "path": "/topics/", "times": None})
    for args, permission in (
        (AZURE, "Microsoft.EventGrid/systemTopics/write"),
        (GCP, "pubsub.topics.create"),
    ):
        result = cloud.setup(*args)
        assert result.exit_code == 1
        [line] = result.stderr.strip().splitlines()
        assert "denied permission" in line and permission in line
    httpx.delete(faults)
    assert list(cloud.grid().system_topics.list_by_subscription()) == []
    assert cloud.sandbox.pubsub.topics == {} and cloud.sandbox.audit_logs.sinks == {}
    assert cloud.audited() == []


def _service(cloud: Cloud) -> Service:
    settings = Settings(
        database_url=cloud.env["CLAMP_DATABASE_URL"],
        sandbox_url=cloud.sandbox.url,
        actor="operator",
        events=cloud.events,
    )
    service = Service(settings)
    service.settle()
    return service


def _delivered(service: Service, name: str) -> bool:
    return any(name in e.event.resource for e in service.store.events.recent())


def test_azure_setup_twice_makes_each_object_once_and_writes_are_delivered(cloud: Cloud) -> None:
    service = _service(cloud)
    try:
        with listening(service) as url:
            first = cloud.setup(*AZURE, endpoint=url)
            assert first.exit_code == 0, first.stderr
            assert [c.split()[0:2] for c in json.loads(first.stdout)["created"]] == [
                ["system", "topic"],
                ["event", "subscription"],
            ]
            again = cloud.setup(*AZURE, endpoint=url)
            assert again.exit_code == 0, again.stderr
            assert json.loads(again.stdout)["created"] == []
            assert all(s["exists"] for s in json.loads(again.stdout)["steps"])
            [topic] = list(cloud.grid().system_topics.list_by_subscription())
            subs = list(
                cloud.grid().system_topic_event_subscriptions.list_by_system_topic(
                    "clamp-demo", str(topic.name)
                )
            )
            assert [s.name for s in subs] == ["clamp"]
            assert subs[0].destination.endpoint_base_url == f"{url}/events/azure"
            assert subs[0].destination.max_events_per_batch == 100  # batched delivery

            rule = {
                "properties": {
                    "protocol": "Tcp",
                    "access": "Allow",
                    "direction": "Inbound",
                    "sourceAddressPrefix": "*",
                    "sourcePortRange": "*",
                    "destinationAddressPrefix": "*",
                    "destinationPortRange": "22",
                    "priority": 3930,
                }
            }
            network = AzureClients(service.settings).network(SUB)
            network.security_rules.begin_create_or_update(
                "clamp-demo", "internal-nsg", "setup-ssh", rule
            ).result()
            until(lambda: _delivered(service, "setup-ssh"), "the write's event to be processed")
    finally:
        service.close()
    [audited] = cloud.audited()
    assert audited["provider"] == "azure" and len(audited["created"]) == 2


def test_gcp_setup_twice_makes_each_object_once_and_writes_are_delivered(cloud: Cloud) -> None:
    service = _service(cloud)
    try:
        with listening(service) as url:
            first = cloud.setup(*GCP, endpoint=url)
            assert first.exit_code == 0, first.stderr
            assert len(json.loads(first.stdout)["created"]) == 4
            again = cloud.setup(*GCP, endpoint=url)
            assert again.exit_code == 0, again.stderr
            assert json.loads(again.stdout)["created"] == []
            topic = f"projects/{DEV}/topics/clamp-events"
            [writer] = [s["writerIdentity"] for s in cloud.sandbox.audit_logs.sinks.values()]
            [binding] = cloud.sandbox.pubsub.policies[topic]["bindings"]
            assert binding == {"role": "roles/pubsub.publisher", "members": [writer]}

            options: dict[str, Any] = GcpClients(service.settings).options
            firewalls = compute_v1.FirewallsClient(**options)
            firewall = compute_v1.Firewall(
                name="setup-ssh",
                network=f"https://www.googleapis.com/compute/v1/projects/{DEV}/global/networks/default",
                source_ranges=["0.0.0.0/0"],
                allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])],
            )
            op = firewalls.insert_unary(project=DEV, firewall_resource=firewall)
            compute_v1.GlobalOperationsClient(**options).wait(project=DEV, operation=op.name)
            until(lambda: _delivered(service, "setup-ssh"), "the write's audit entry to be pushed")
    finally:
        service.close()
    [audited] = cloud.audited()
    assert audited["provider"] == "gcp" and len(audited["created"]) == 4


def test_a_403_part_way_keeps_and_audits_what_was_made_and_a_rerun_carries_on(
    cloud: Cloud,
) -> None:
    faults = f"{cloud.sandbox.url}/_sandbox/faults"
    httpx.post(faults, json={"status": 403, "path": ":setIamPolicy", "times": None})
    stopped = cloud.setup(*GCP)
    assert stopped.exit_code == 1 and "pubsub.topics.setIamPolicy" in stopped.stderr
    [audited] = cloud.audited()
    assert len(audited["created"]) == 2 and "pubsub.topics.setIamPolicy" in audited["failed"]
    httpx.delete(faults)
    resumed = cloud.setup(*GCP)
    assert resumed.exit_code == 0, resumed.stderr
    assert [c.split(" projects/")[0] for c in json.loads(resumed.stdout)["created"]] == [
        "topic grant roles/pubsub.publisher on",
        "push subscription",
    ]
    assert len(cloud.audited()) == 2

"""Event-triggered rules through the service in-process: a port opened with the SDK, its
real-format event delivered (signed with the sandbox's keys), and the rule that says
``trigger: event`` acting on the finding it opened — applied in non-production, queued in
production, once for duplicates, never again for the events of Clamp's own fix."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

from clamp.api.app import create_app
from clamp.api.service import Service
from clamp.config import Settings
from clamp.events.config import AzureEvents, EventsConfig, GcpEvents
from clamp.model import ActionStatus, FindingStatus, Provider
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.oidc import TENANT
from clamp.sandbox.server import Sandbox
from clamp.scanning import scan_clouds
from clamp.selectors import Selector
from deliveries import (
    PUSH_AUDIENCE,
    PUSHER,
    SECRET,
    SUB,
    deliver_azure,
    firewall_inserted,
    google,
    rule_written,
)
from service_client import Api, make_service

PROJECT = "clamp-demo-dev"
LATER = "clamp-demo-prod"
STAGES = {
    "non-prod": (Selector(projects=frozenset({PROJECT})),),
    "prod": (Selector(subscriptions=frozenset({SUB})),),
}
CLOSE = {
    "match": {"check": ["exposed-admin-port"]},
    "action": "restrict_ingress",
    "trigger": "event",
}
RULES = {
    "rules": [
        {
            **CLOSE,
            "name": "close-ssh-non-prod",
            "mode": "auto",
            "backlog": True,  # the in-flight test scans first
            "match": {**CLOSE["match"], "scope": {"projects": [PROJECT]}},
        },
        {
            **CLOSE,
            "name": "close-ssh-prod",
            "mode": "approve",
            "match": {**CLOSE["match"], "scope": {"subscriptions": [SUB]}},
        },
        {
            **CLOSE,
            "name": "close-ssh-after-deploy",
            "mode": "auto",
            "enforcement_delay": "30s",
            "match": {**CLOSE["match"], "scope": {"projects": [LATER]}},
        },
        {**CLOSE, "name": "on-demand-only", "mode": "auto", "trigger": "demand"},
    ]
}


@pytest.fixture(scope="module")
def reacting(estate: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("event-rules")
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump(RULES))
    keys = f"{estate.url}/oidc/{TENANT}/discovery/v2.0/keys"
    events = EventsConfig(azure=AzureEvents(SECRET), gcp=GcpEvents(PUSH_AUDIENCE, PUSHER, keys))
    running = make_service(estate, tmp, events=events, rules_file=rules, stages=STAGES)
    yield running
    running.close()


@pytest.fixture(scope="module")
def client(reacting: Service) -> Iterator[Api]:
    api = Api(create_app(reacting))
    yield api
    api.close()


def _compute(estate: Sandbox) -> dict[str, Any]:
    return {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": estate.url},
    }


def _audit(
    method: str,
    operation: str,
    message: str,
    project: str = PROJECT,
    firewall: str = "event-ssh",
) -> dict[str, Any]:
    push = firewall_inserted(operation, last=True, message=message, method=method)
    entry = json.loads(base64.b64decode(push["message"]["data"]))
    entry["protoPayload"]["resourceName"] = f"projects/{project}/global/firewalls/{firewall}"
    data = base64.b64encode(json.dumps(entry).encode()).decode()
    return {**push, "message": {**push["message"], "data": data}}


def _open_ssh(estate: Sandbox, project: str, name: str = "event-ssh") -> compute_v1.FirewallsClient:
    """Insert a firewall letting the internet reach SSH, through the SDK."""
    options = _compute(estate)
    firewalls = compute_v1.FirewallsClient(**options)
    firewall = compute_v1.Firewall(
        name=name,
        network=f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/default",
        source_ranges=["0.0.0.0/0"],
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])],
    )
    op = firewalls.insert_unary(project=project, firewall_resource=firewall)
    compute_v1.GlobalOperationsClient(**options).wait(project=project, operation=op.name)
    return firewalls


def test_an_event_rule_closes_ssh_opened_in_non_production_once(
    client: Api, reacting: Service, estate: Sandbox
) -> None:
    firewalls = _open_ssh(estate, PROJECT)
    before = len(reacting.store.actions())

    inserted = _audit("v1.compute.firewalls.insert", "op-event-ssh", "m-1")
    assert client.post("/events/gcp", google(estate), json=inserted).json()["accepted"] == 1
    assert client.post("/events/gcp", google(estate), json=inserted).json()["accepted"] == 0
    reacting.idle()

    # its only source is the internet: closed by disabling it, never deleted
    assert firewalls.get(project=PROJECT, firewall="event-ssh").disabled
    actions = reacting.store.actions()
    assert len(actions) == before + 1  # the duplicate acted on nothing
    [fix] = actions[:1]
    assert fix.actor == "rule:close-ssh-non-prod" and fix.status == ActionStatus.VERIFIED
    stored = reacting.store.events.get("gcp:operation:op-event-ssh")
    assert stored is not None and stored.acted is not None
    assert stored.received <= fix.created == stored.acted
    latency = reacting.events.stats()["latency_ms"]
    assert isinstance(latency, dict) and latency["p50"] is not None

    # Clamp's own write is an audit entry too: its re-read finds the fix holding
    own = _audit("v1.compute.firewalls.patch", "op-clamp-fix", "m-2")
    assert client.post("/events/gcp", google(estate), json=own).json()["accepted"] == 1
    reacting.idle()
    assert len(reacting.store.actions()) == before + 1
    echoed = reacting.store.events.get("gcp:operation:op-clamp-fix")
    assert echoed is not None and echoed.acted is None and "0 opened" in echoed.result


def test_an_event_rule_queues_ssh_opened_in_production_for_approval(
    client: Api, reacting: Service, estate: Sandbox
) -> None:
    network = AzureClients(Settings(database_url="sqlite://", sandbox_url=estate.url)).network(SUB)
    rule = {
        "properties": {
            "protocol": "Tcp",
            "access": "Allow",
            "direction": "Inbound",
            "priority": 3910,
            "sourceAddressPrefix": "*",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "22",
        }
    }
    network.security_rules.begin_create_or_update(
        "clamp-demo", "internal-nsg", "event-ssh", rule
    ).result()
    before = len(reacting.store.actions())
    event = rule_written("event-ssh", "grid-event-ssh")
    assert deliver_azure(client, event, None).json()["accepted"] == 1
    assert deliver_azure(client, event, None).json()["accepted"] == 0
    reacting.idle()

    queued = [a for a in reacting.store.incidents.approvals() if a.rule == "close-ssh-prod"]
    assert len(queued) == 1 and "event-ssh" in queued[0].summary
    assert len(reacting.store.actions()) == before  # nothing written before an approval
    still = network.security_rules.get("clamp-demo", "internal-nsg", "event-ssh")
    assert still.source_address_prefix == "*"
    stored = reacting.store.events.get("azure:grid-event-ssh")
    assert stored is not None and stored.acted is None and "1 queued" in stored.result


def test_a_rule_with_an_enforcement_delay_acts_once_the_delay_has_passed(
    client: Api, reacting: Service, estate: Sandbox
) -> None:
    firewalls = _open_ssh(estate, LATER)
    before = len(reacting.store.actions())
    push = _audit("v1.compute.firewalls.insert", "op-later-ssh", "m-later", LATER)
    assert client.post("/events/gcp", google(estate), json=push).json()["accepted"] == 1
    reacting.idle()
    stored = reacting.store.events.get("gcp:operation:op-later-ssh")
    assert stored is not None and stored.due == stored.received + timedelta(seconds=30)

    assert stored.event.id not in reacting.run_delayed(stored.received + timedelta(seconds=29))
    reacting.idle()
    assert not firewalls.get(project=LATER, firewall="event-ssh").disabled  # still waiting

    # the due time is in the store: another service over it (a restart) runs the rule
    other = Service(reacting.settings)
    try:
        assert other.run_delayed(stored.received + timedelta(seconds=31)) == [stored.event.id]
        other.idle()
        assert other.run_delayed(stored.received + timedelta(minutes=5)) == []  # once
    finally:
        other.close()
    assert firewalls.get(project=LATER, firewall="event-ssh").disabled
    [fix] = reacting.store.actions()[:1]
    assert (
        fix.actor == "rule:close-ssh-after-deploy" and len(reacting.store.actions()) == before + 1
    )
    done = reacting.store.events.get(stored.event.id)
    assert done is not None and done.due is None and done.acted == fix.created


def test_an_event_on_a_resource_clamp_is_changing_leaves_it_to_that_action(
    client: Api, reacting: Service, estate: Sandbox
) -> None:
    _open_ssh(estate, PROJECT, "busy-ssh")
    scan_clouds(reacting.settings, reacting.store, reacting.drivers, [Provider.GCP], {})
    busy = f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls/busy-ssh"
    [finding] = [
        f for f in reacting.store.findings(status=FindingStatus.OPEN) if f.resource == busy
    ]
    engine = reacting.engine("events")
    journaled = engine.start(engine.plan(finding.id), actor="events")  # in flight, not written
    reacting.store.record_findings([busy], [])  # as if a re-read had seen it fixed
    before = len(reacting.store.actions())

    push = _audit("v1.compute.firewalls.patch", "op-busy", "m-busy", firewall="busy-ssh")
    assert client.post("/events/gcp", google(estate), json=push).json()["accepted"] == 1
    reacting.idle()
    stored = reacting.store.events.get("gcp:operation:op-busy")
    assert stored is not None and "1 opened" in stored.result and stored.acted is None
    assert "nothing to do" in stored.result  # the finding was left to the action in flight
    assert len(reacting.store.actions()) == before  # no second action
    assert engine.finish(journaled).status == ActionStatus.VERIFIED

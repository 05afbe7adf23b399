"""A Pub/Sub topic's IAM policy on the sandbox, through the pubsub v1 discovery client:
read-modify-write with the policy's etag, a stale etag refused (409 ABORTED) and the
policy left as it was; and Event Grid system topics listed by subscription."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.mgmt.eventgrid import EventGridManagementClient
from azure.mgmt.eventgrid.models import SystemTopic
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from clamp.config import Settings
from clamp.providers.azure.clients import AzureClients
from clamp.sandbox.server import Sandbox

SUB = "00000000-0000-4000-8000-000000000001"
TOPIC = "projects/clamp-demo-dev/topics/guarded"
PUBLISHER = "serviceAccount:writer@example.iam.gserviceaccount.com"


def _pubsub(sandbox: Sandbox) -> Any:
    return build(
        "pubsub",
        "v1",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": sandbox.url},
        static_discovery=True,
        cache_discovery=False,
    ).projects()


def test_a_topic_policy_is_written_with_its_etag_and_a_stale_one_is_refused(
    sandbox: Sandbox,
) -> None:
    topics = _pubsub(sandbox).topics()
    topics.create(name=TOPIC, body={}).execute()
    empty = topics.getIamPolicy(resource=TOPIC).execute()
    assert "bindings" not in empty and empty["etag"]
    grant = {"role": "roles/pubsub.publisher", "members": [PUBLISHER]}
    policy = {"policy": {"etag": empty["etag"], "bindings": [grant]}}
    written = topics.setIamPolicy(resource=TOPIC, body=policy).execute()
    assert written["bindings"] == [grant] and written["etag"] != empty["etag"]
    with pytest.raises(HttpError) as stale:
        topics.setIamPolicy(
            resource=TOPIC, body={"policy": {"etag": empty["etag"], "bindings": []}}
        ).execute()
    assert stale.value.status_code == 409
    assert json.loads(stale.value.content)["error"]["status"] == "ABORTED"
    assert topics.getIamPolicy(resource=TOPIC).execute() == written
    with pytest.raises(HttpError) as missing:
        topics.getIamPolicy(resource="projects/clamp-demo-dev/topics/none").execute()
    assert missing.value.status_code == 404


def test_system_topics_are_listed_by_subscription_and_resource_group(sandbox: Sandbox) -> None:
    clients = AzureClients(Settings(database_url="sqlite://", sandbox_url=sandbox.url))
    grid = EventGridManagementClient(clients.credential, SUB, **clients.options)
    assert list(grid.system_topics.list_by_subscription()) == []
    source = f"/subscriptions/{SUB}"
    topic = SystemTopic(
        location="global", source=source, topic_type="Microsoft.Resources.Subscriptions"
    )
    grid.system_topics.begin_create_or_update("clamp-demo", "events", topic).result()
    [listed] = list(grid.system_topics.list_by_subscription())
    assert (listed.name, listed.source) == ("events", source)
    assert [t.name for t in grid.system_topics.list_by_resource_group("clamp-demo")] == ["events"]
    assert list(grid.system_topics.list_by_resource_group("other")) == []

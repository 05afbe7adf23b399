"""``clamp events setup`` on Azure: an Event Grid event subscription on the Azure
subscription's system topic (``topicType`` ``Microsoft.Resources.Subscriptions``), to
Clamp's webhook, through ``azure-mgmt-eventgrid``.

Calls (azure-mgmt-eventgrid's ``EventGridManagementClient``): ``system_topics.
list_by_subscription`` to find the subscription's system topic (Azure keeps one per
source), ``system_topics.begin_create_or_update`` when there is none (``location``
``global``, "Azure subscription as an Event Grid source"), ``system_topic_event_
subscriptions.get`` and ``begin_create_or_update`` (a ``WebHookEventSubscriptionDestination``
with ``?key=`` and/or the Entra tenant and app; Event Grid's validation handshake runs
against the endpoint before the operation succeeds, so Clamp's service must be listening).
"""

from __future__ import annotations

from dataclasses import dataclass

from azure.mgmt.eventgrid import EventGridManagementClient
from azure.mgmt.eventgrid.models import (
    EventSubscription,
    EventSubscriptionFilter,
    SystemTopic,
    WebHookEventSubscriptionDestination,
)

from clamp.errors import InputError, ResourceNotFound
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated
from clamp.providers.azure.permissions import EVENTS_SETUP_PERMISSIONS, EVENTS_SETUP_ROLES
from clamp.providers.event_setup import SetupPlan, SetupStep

SOURCE_TYPE = "Microsoft.Resources.Subscriptions"
TOPIC_NAME = "clamp-subscription-events"
SUBSCRIPTION_NAME = "clamp"
EVENT_TYPES = (
    "Microsoft.Resources.ResourceWriteSuccess",
    "Microsoft.Resources.ResourceDeleteSuccess",
    "Microsoft.Resources.ResourceActionSuccess",
)
"""What a subscription's system topic emits that Clamp handles (``clamp.events.azure``)."""
EVENTS_PER_BATCH = 100
BATCH_KILOBYTES = 64
"""Event Grid's batched delivery (``maxEventsPerBatch`` 1 to 5000, ``preferredBatchSizeIn
Kilobytes`` 1 to 1024, "Event Grid batch delivery"): a delivery holds up to 100 events, or
about 64 KB of them. Batching is optimistic — Event Grid never holds an event back to fill
a batch — so it costs no latency; under a burst one POST, one TLS read and one commit
serve many events. Clamp stores a delivery before its ``200`` (a batch is acknowledged
whole, as Event Grid retries it whole), well inside Event Grid's 30 s."""
TOPIC_WRITE = "Microsoft.EventGrid/systemTopics/write"
SUBSCRIPTION_READ = "Microsoft.EventGrid/systemTopics/eventSubscriptions/read"
SUBSCRIPTION_WRITE = "Microsoft.EventGrid/systemTopics/eventSubscriptions/write"


@dataclass(frozen=True)
class Webhook:
    """How Clamp's webhook proves deliveries (``[events.azure]``): a shared secret in the
    query, and/or a Microsoft Entra tenant and the webhook app's id or URI."""

    secret: str | None = None
    tenant_id: str | None = None
    app: str | None = None

    def url(self, endpoint: str) -> str:
        """Clamp's Event Grid webhook under the service URL ``endpoint`` (with ``?key=``
        when a shared secret is configured)."""
        base = endpoint.rstrip("/") + "/events/azure"
        return f"{base}?key={self.secret}" if self.secret else base


class EventSubscriptionSetup:
    """The Event Grid side of one Azure subscription."""

    def __init__(
        self,
        clients: AzureClients,
        subscription: str,
        endpoint: str,
        webhook: Webhook,
        resource_group: str | None = None,
    ) -> None:
        self.subscription = subscription
        self.url = webhook.url(endpoint)
        self.base_url = self.url.split("?", 1)[0]
        self.webhook = webhook
        self.resource_group = resource_group
        self._grid = EventGridManagementClient(clients.credential, subscription, **clients.options)
        self._topic: tuple[str, str] | None = None

    def plan(self) -> SetupPlan:
        """Find the system topic and Clamp's subscription on it (reads only)."""
        source = f"/subscriptions/{self.subscription}"
        with translated(
            f"list the system topics of {source}", "Microsoft.EventGrid/systemTopics/read"
        ):
            topics = list(self._grid.system_topics.list_by_subscription())
        found = next(
            (
                t
                for t in topics
                if (t.source or "").lower() == source.lower()
                and (t.topic_type or "").lower() == SOURCE_TYPE.lower()
            ),
            None,
        )
        if found is not None and found.id:
            group, name = _group_and_name(found.id)
        elif self.resource_group:
            group, name = self.resource_group, TOPIC_NAME
        else:
            raise InputError(
                f"{source} has no Event Grid system topic yet: name the resource group "
                "to create it in with --resource-group"
            )
        self._topic = (group, name)
        topic_id = (
            f"{source}/resourceGroups/{group}/providers/Microsoft.EventGrid/systemTopics/{name}"
        )
        steps = [
            SetupStep(
                "system topic",
                topic_id,
                "system_topics.begin_create_or_update",
                TOPIC_WRITE,
                exists=found is not None,
                detail=f"of {source} ({SOURCE_TYPE}), location global",
            )
        ]
        exists, detail = False, self._destination_detail()
        if found is not None:
            exists, detail = self._subscription_state(group, name, detail)
        steps.append(
            SetupStep(
                "event subscription",
                f"{topic_id}/eventSubscriptions/{SUBSCRIPTION_NAME}",
                "system_topic_event_subscriptions.begin_create_or_update",
                SUBSCRIPTION_WRITE,
                exists=exists,
                detail=detail,
            )
        )
        return SetupPlan(
            "azure",
            source,
            tuple(steps),
            EVENTS_SETUP_PERMISSIONS,
            EVENTS_SETUP_ROLES,
            notes=(
                "Event Grid validates the webhook before the subscription is made: "
                "`clamp serve` must be listening at the endpoint",
            ),
        )

    def _destination_detail(self) -> str:
        auth = []
        if self.webhook.secret:
            auth.append("?key= secret")
        if self.webhook.app:
            auth.append(f"Entra tenant {self.webhook.tenant_id}, app {self.webhook.app}")
        return (
            f"to {self.base_url} ({'; '.join(auth)}), events {', '.join(EVENT_TYPES)}, "
            f"batches of up to {EVENTS_PER_BATCH} events or {BATCH_KILOBYTES} KB"
        )

    def _subscription_state(self, group: str, topic: str, detail: str) -> tuple[bool, str]:
        """Whether Clamp's subscription is there as wanted (same endpoint, types and
        batching)."""
        try:
            with translated(f"read event subscription {SUBSCRIPTION_NAME}", SUBSCRIPTION_READ):
                got = self._grid.system_topic_event_subscriptions.get(
                    group, topic, SUBSCRIPTION_NAME
                )
        except ResourceNotFound:
            return False, detail
        base = getattr(got.destination, "endpoint_base_url", None) or ""
        batch = getattr(got.destination, "max_events_per_batch", None) or 1
        types = set((got.filter.included_event_types or []) if got.filter else [])
        wanted = types >= set(EVENT_TYPES) and batch == EVENTS_PER_BATCH
        if base.rstrip("/") == self.base_url and wanted:
            return True, detail
        now = f"now to {base or '?'}, events {sorted(types)}, batches of {batch}"
        return False, f"update ({now}): {detail}"

    def apply(self, plan: SetupPlan, made: list[SetupStep]) -> None:
        """Create the system topic and the subscription the plan lacks."""
        if self._topic is None:
            raise InputError("plan the setup before applying it")
        group, topic = self._topic
        for step in plan.missing:
            what = f"create {step.kind} {step.name}"
            with translated(what, step.permission):
                if step.kind == "system topic":
                    self._grid.system_topics.begin_create_or_update(
                        group,
                        topic,
                        SystemTopic(
                            location="global",
                            source=f"/subscriptions/{self.subscription}",
                            topic_type=SOURCE_TYPE,
                        ),
                    ).result()
                else:
                    self._grid.system_topic_event_subscriptions.begin_create_or_update(
                        group, topic, SUBSCRIPTION_NAME, self._subscription()
                    ).result()
            made.append(step)

    def _subscription(self) -> EventSubscription:
        return EventSubscription(
            destination=WebHookEventSubscriptionDestination(
                endpoint_url=self.url,
                azure_active_directory_tenant_id=self.webhook.tenant_id,
                azure_active_directory_application_id_or_uri=self.webhook.app,
                max_events_per_batch=EVENTS_PER_BATCH,
                preferred_batch_size_in_kilobytes=BATCH_KILOBYTES,
            ),
            filter=EventSubscriptionFilter(included_event_types=list(EVENT_TYPES)),
        )


def _group_and_name(topic_id: str) -> tuple[str, str]:
    """The resource group and name in a system topic's ARM id."""
    parts = topic_id.strip("/").split("/")
    lower = [p.lower() for p in parts]
    group = parts[lower.index("resourcegroups") + 1] if "resourcegroups" in lower else ""
    return group, parts[-1]

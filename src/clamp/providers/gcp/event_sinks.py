"""``clamp events setup`` on Google Cloud: a Pub/Sub topic, a log sink routing the
project's Admin Activity audit entries to it, the sink's writer identity granted
``roles/pubsub.publisher`` on the topic, and a push subscription to Clamp's endpoint
with an OIDC token — through google-api-python-client's pubsub v1 and logging v2
discovery clients (the ones ``clamp events pull`` and the sandbox already serve).

Calls (discovery documents pubsub v1, logging v2): ``projects.topics.get|create``,
``projects.sinks.get|create`` (``uniqueWriterIdentity``: the sink gets its own writer
service account), ``projects.topics.getIamPolicy|setIamPolicy`` (read-modify-write with
the policy's ``etag``), ``projects.subscriptions.get|create`` (``pushConfig.oidcToken``:
``serviceAccountEmail`` and ``audience``; Pub/Sub "Authentication for push
subscriptions": the caller needs ``iam.serviceAccounts.actAs`` on that account).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clamp.errors import InputError, ResourceNotFound
from clamp.providers.event_setup import SetupPlan, SetupStep
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import translated
from clamp.providers.gcp.permissions import EVENTS_SETUP_PERMISSIONS, EVENTS_SETUP_ROLES

TOPIC = "clamp-events"
SINK = "clamp-audit"
SUBSCRIPTION = "clamp-push"
AUDIT_FILTER = 'logName:"cloudaudit.googleapis.com%2Factivity"'
"""The project's Admin Activity audit log: the entries ``clamp.events.gcp`` parses."""
PUBLISHER = "roles/pubsub.publisher"
ACK_DEADLINE = 10


@dataclass(frozen=True)
class PushAuth:
    """The OIDC token Pub/Sub signs for each push (``[events.gcp]``)."""

    service_account: str
    audience: str


class EventSinkSetup:
    """The log sink, topic, grant and push subscription of one project."""

    def __init__(self, clients: GcpClients, project: str, endpoint: str, auth: PushAuth) -> None:
        if not project or "/" in project:
            raise InputError(f"{project!r} is not a project id")
        self.project = project
        self.endpoint = endpoint.rstrip("/") + "/events/gcp"
        self.auth = auth
        self.topic = f"projects/{project}/topics/{TOPIC}"
        self.sink = f"projects/{project}/sinks/{SINK}"
        self.subscription = f"projects/{project}/subscriptions/{SUBSCRIPTION}"
        self._pubsub = clients.pubsub.projects()
        self._logging = clients.logging.projects()
        self._writer: str | None = None

    def plan(self) -> SetupPlan:
        """What exists of the four (reads only)."""
        topic = self._get("pubsub.topics.get", lambda: self._pubsub.topics().get(topic=self.topic))
        sink = self._get("logging.sinks.get", lambda: self._logging.sinks().get(sinkName=self.sink))
        self._writer = str(sink["writerIdentity"]) if sink else None
        granted = False
        if topic is not None and self._writer:
            granted = self._writer in _members(self._policy(), PUBLISHER)
        sub = self._get(
            "pubsub.subscriptions.get",
            lambda: self._pubsub.subscriptions().get(subscription=self.subscription),
        )
        push_detail = (
            f"push to {self.endpoint}, OIDC token as {self.auth.service_account} "
            f"for audience {self.auth.audience}"
        )
        if sub is not None:
            config = sub.get("pushConfig") or {}
            oidc = config.get("oidcToken") or {}
            if (
                config.get("pushEndpoint") != self.endpoint
                or oidc.get("serviceAccountEmail") != self.auth.service_account
            ):
                push_detail = (
                    f"exists but pushes to {config.get('pushEndpoint') or '(pull)'}: "
                    "left as it is (change it with modifyPushConfig, or delete it and re-run)"
                )
        steps = (
            SetupStep(
                "Pub/Sub topic",
                self.topic,
                "projects.topics.create",
                "pubsub.topics.create",
                topic is not None,
            ),
            SetupStep(
                "log sink",
                self.sink,
                "projects.sinks.create",
                "logging.sinks.create",
                sink is not None,
                detail=f"{AUDIT_FILTER} → {self.topic}",
            ),
            SetupStep(
                "topic grant",
                f"{PUBLISHER} on {self.topic}",
                "projects.topics.setIamPolicy",
                "pubsub.topics.setIamPolicy",
                granted,
                detail=f"to the sink's writer identity {self._writer or '(made with the sink)'}",
            ),
            SetupStep(
                "push subscription",
                self.subscription,
                "projects.subscriptions.create",
                "pubsub.subscriptions.create",
                sub is not None,
                detail=push_detail,
            ),
        )
        return SetupPlan(
            "gcp",
            f"projects/{self.project}",
            steps,
            EVENTS_SETUP_PERMISSIONS,
            EVENTS_SETUP_ROLES,
            notes=(
                f"the push subscription's OIDC token needs iam.serviceAccounts.actAs on "
                f"{self.auth.service_account} (roles/iam.serviceAccountUser on it)",
            ),
        )

    def apply(self, plan: SetupPlan, made: list[SetupStep]) -> None:
        """Make the plan's missing objects in order."""
        for step in plan.missing:
            with translated(f"create {step.kind} {step.name}", step.permission):
                match step.kind:
                    case "Pub/Sub topic":
                        self._pubsub.topics().create(name=self.topic, body={}).execute()
                    case "log sink":
                        body = {
                            "name": SINK,
                            "destination": f"pubsub.googleapis.com/{self.topic}",
                            "filter": AUDIT_FILTER,
                        }
                        sink = (
                            self._logging.sinks()
                            .create(
                                parent=f"projects/{self.project}",
                                body=body,
                                uniqueWriterIdentity=True,
                            )
                            .execute()
                        )
                        self._writer = str(sink["writerIdentity"])
                    case "topic grant":
                        self._grant()
                    case _:
                        self._push_subscription()
            made.append(step)

    def _grant(self) -> None:
        if not self._writer:
            raise InputError(f"{self.sink} has no writer identity to grant {PUBLISHER} to")
        policy = self._policy()
        bindings: list[dict[str, Any]] = list(policy.get("bindings") or [])
        for binding in bindings:
            if binding.get("role") == PUBLISHER and not binding.get("condition"):
                binding["members"] = [*binding.get("members", []), self._writer]
                break
        else:
            bindings.append({"role": PUBLISHER, "members": [self._writer]})
        body = {"policy": {**policy, "bindings": bindings}}
        self._pubsub.topics().setIamPolicy(resource=self.topic, body=body).execute()

    def _push_subscription(self) -> None:
        push = {
            "pushEndpoint": self.endpoint,
            "oidcToken": {
                "serviceAccountEmail": self.auth.service_account,
                "audience": self.auth.audience,
            },
        }
        body = {"topic": self.topic, "pushConfig": push, "ackDeadlineSeconds": ACK_DEADLINE}
        self._pubsub.subscriptions().create(name=self.subscription, body=body).execute()

    def _policy(self) -> dict[str, Any]:
        with translated(f"read the IAM policy of {self.topic}", "pubsub.topics.getIamPolicy"):
            policy: dict[str, Any] = (
                self._pubsub.topics().getIamPolicy(resource=self.topic).execute()
            )
        return policy

    def _get(self, permission: str, request: Any) -> dict[str, Any] | None:
        """The object a get request returns; None when there is none (404)."""
        try:
            with translated(f"read {permission.split('.')[1]} in {self.project}", permission):
                found: dict[str, Any] = request().execute()
        except ResourceNotFound:
            return None
        return found


def _members(policy: dict[str, Any], role: str) -> set[str]:
    return {
        str(m)
        for b in policy.get("bindings") or []
        if b.get("role") == role and not b.get("condition")
        for m in b.get("members") or []
    }

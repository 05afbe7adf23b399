"""Microsoft.EventGrid event subscriptions on an Azure subscription (its system topic), as
``azure-mgmt-eventgrid``'s ``EventGridManagementClient.event_subscriptions`` speaks to ARM,
and the events they deliver for every ARM write the sandbox serves.

Wire shapes from azure-mgmt-eventgrid 10.4 (api-version 2025-02-15: ``PUT|GET|PATCH|DELETE
/{scope}/providers/Microsoft.EventGrid/eventSubscriptions/{name}``, ``POST …/getFullUrl``,
``GET /subscriptions/{id}/providers/Microsoft.EventGrid/eventSubscriptions``; system topics
``…/resourceGroups/{g}/providers/Microsoft.EventGrid/systemTopics/{t}`` of ``topicType``
``Microsoft.Resources.Subscriptions``, listed by ``GET /subscriptions/{id}[/resourceGroups/
{g}]/providers/Microsoft.EventGrid/systemTopics``, and their ``eventSubscriptions``; the
``EventSubscription`` and ``WebHookEventSubscriptionDestination`` models: ``endpointUrl``
is written, ``endpointBaseUrl`` read back, the full URL only from ``getFullUrl``) and the
Event Grid documentation: "Webhook event delivery" (a PUT answers 201 ``Creating`` with an
``Azure-AsyncOperation``; Event Grid then POSTs a ``SubscriptionValidationEvent`` with
``aeg-event-type: SubscriptionValidation`` and expects ``{"validationResponse": code}``;
for the CloudEvents schema, the ``OPTIONS`` abuse-protection handshake with
``WebHook-Request-Origin: eventgrid.azure.net``), "Delivery and retry" (the ``aeg-*``
headers), "Azure subscription as an Event Grid source" (the event's ``data``) and "Deliver
events to Microsoft Entra protected endpoints" (a bearer token of the destination's tenant
for its application, requested by Event Grid's own app).

Where Azure's behaviour is not documented the sandbox picks the simplest: a subscription
whose handshake fails is removed and its operation reports ``Failed``; a write's event is
sent when the write is answered (Azure sends it when the operation has finished); writes of
Event Grid's own resources emit none (a new subscription never hears of its own creation).
"""

from __future__ import annotations

import json
import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from clamp.sandbox.arm import ArmPath, Json, arm_error, not_found
from clamp.sandbox.deliveries import Deliveries
from clamp.sandbox.eventgrid_events import (
    KINDS,
    delivery,
    entra_headers,
    event_time,
    wanted,
    write_event,
)
from clamp.sandbox.oidc import SandboxIdentities
from clamp.sandbox.state import SandboxState
from clamp.sandbox.write_events import ServedWrite

PROVIDER = "/providers/microsoft.eventgrid/"
TYPE = "Microsoft.EventGrid/eventSubscriptions"
TOPIC_TYPE = "Microsoft.EventGrid/systemTopics"
SUBSCRIPTION_TOPIC = "Microsoft.Resources.Subscriptions"
API_VERSION = "2025-02-15"
SCHEMAS = ("EventGridSchema", "CloudEventSchemaV1_0")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class EventGrid:
    """The event subscriptions of the sandbox's Azure subscriptions, and their deliveries."""

    def __init__(
        self, state: SandboxState, deliveries: Deliveries, identities: SandboxIdentities
    ) -> None:
        self.state = state
        self.deliveries = deliveries
        self.identities = identities
        self.subscriptions: dict[str, Json] = {}
        """Lower-cased id → the object GET returns."""
        self._urls: dict[str, str] = {}
        """Lower-cased id → the full endpoint URL (never returned by GET)."""
        self._sources: dict[str, str] = {}
        """Lower-cased id → the scope whose events it takes."""
        self.topics: dict[str, Json] = {}
        """System topics, by lower-cased id."""
        self._operations: dict[str, Json] = {}
        self._lock = threading.Lock()

    # -- ARM ------------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """One ARM request under ``/providers/Microsoft.EventGrid/``."""
        path = ArmPath.parse(request.url.path).path
        at = path.lower().index(PROVIDER)
        scope, rest = path[:at], path[at + len(PROVIDER) :].split("/")
        lower = [r.lower() for r in rest]
        if lower[:1] == ["locations"] and len(lower) == 4 and lower[2] == "operationsstatus":
            with self._lock:
                status = self._operations.get(rest[3].lower())
            return JSONResponse(status) if status else not_found(path)
        if lower == ["systemtopics"]:  # systemTopics.list_by_subscription|resource_group
            if request.method != "GET":
                return arm_error(405, "MethodNotAllowed", request.method)
            under = f"{scope}/".lower()
            with self._lock:
                listed = [t for key, t in self.topics.items() if key.startswith(under)]
            return JSONResponse({"value": listed})
        if lower[:1] == ["systemtopics"] and len(rest) >= 2:
            topic_id = f"{scope}/providers/{TOPIC_TYPE}/{rest[1]}"
            if len(rest) == 2:
                return self._system_topic(request.method, topic_id, await request.body())
            with self._lock:
                topic = self.topics.get(topic_id.lower())
            if topic is None:
                return not_found(topic_id)
            source = str(topic["properties"]["source"])
            return await self._subscriptions(request, topic_id, rest[2:], source, topic_id)
        return await self._subscriptions(
            request, f"{scope}/providers/Microsoft.EventGrid", rest, scope, scope
        )

    async def _subscriptions(
        self, request: Request, parent: str, rest: list[str], source: str, topic: str
    ) -> Response:
        """``eventSubscriptions`` under ``parent`` (a scope's provider, or a system topic)
        for the events of ``source``."""
        lower = [r.lower() for r in rest]
        if lower[:1] != ["eventsubscriptions"] or len(rest) > 3:
            return arm_error(400, "InvalidRequestUri", f"unsupported path {request.url.path}")
        if len(rest) == 1:
            if request.method != "GET":
                return arm_error(405, "MethodNotAllowed", request.method)
            return JSONResponse({"value": self._under(parent + "/eventsubscriptions")})
        sub_id = f"{parent}/eventSubscriptions/{rest[1]}"
        if len(rest) == 3:
            if lower[2] != "getfullurl" or request.method != "POST":
                return arm_error(400, "InvalidRequestUri", f"unsupported path {request.url.path}")
            with self._lock:
                url = self._urls.get(sub_id.lower())
            return JSONResponse({"endpointUrl": url}) if url else not_found(sub_id)
        match request.method:
            case "GET":
                with self._lock:
                    found = self.subscriptions.get(sub_id.lower())
                return JSONResponse(found) if found else not_found(sub_id)
            case "DELETE":
                with self._lock:
                    gone = self.subscriptions.pop(sub_id.lower(), None)
                    self._urls.pop(sub_id.lower(), None)
                return Response(status_code=200 if gone else 204)
            case "PUT":
                return self._create(request, source, topic, sub_id, await request.body())
        return arm_error(405, "MethodNotAllowed", request.method)

    def _system_topic(self, method: str, topic_id: str, content: bytes) -> Response:
        """A system topic: of an Azure subscription's resource events only."""
        with self._lock:
            found = self.topics.get(topic_id.lower())
        if method == "GET":
            return JSONResponse(found) if found else not_found(topic_id)
        if method == "DELETE":
            with self._lock:
                self.topics.pop(topic_id.lower(), None)
            return Response(status_code=200 if found else 204)
        if method != "PUT":
            return arm_error(405, "MethodNotAllowed", method)
        try:
            body = json.loads(content or b"{}")
            props = body["properties"]
            source, kind = str(props["source"]), str(props["topicType"])
        except (ValueError, KeyError, TypeError):
            return arm_error(400, "InvalidRequestContent", "properties.source and topicType")
        if kind.lower() != SUBSCRIPTION_TOPIC.lower():
            return arm_error(400, "InvalidRequest", f"the sandbox serves {SUBSCRIPTION_TOPIC} only")
        if problem := self._scope_problem(source):
            return problem
        topic = {
            "id": topic_id,
            "name": topic_id.rsplit("/", 1)[1],
            "type": TOPIC_TYPE,
            "location": body.get("location") or "global",
            "properties": {
                "source": source,
                "topicType": SUBSCRIPTION_TOPIC,
                "metricResourceId": str(uuid.uuid5(uuid.NAMESPACE_URL, topic_id)),
                "provisioningState": "Succeeded",
            },
        }
        with self._lock:
            self.topics[topic_id.lower()] = topic
        return JSONResponse(topic, status_code=200 if found else 201)

    def _under(self, collection: str) -> list[Json]:
        with self._lock:
            return [
                s
                for key, s in self.subscriptions.items()
                if key.startswith(collection.lower() + "/")
            ]

    def _create(
        self, request: Request, scope: str, topic: str, sub_id: str, content: bytes
    ) -> Response:
        try:
            body = json.loads(content or b"{}")
        except ValueError:
            return arm_error(400, "InvalidRequestContent", "The request content is not JSON.")
        problem = self._scope_problem(scope)
        if problem is not None:
            return problem
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            return arm_error(400, "InvalidRequestContent", "properties is missing")
        destination = props.get("destination")
        if not isinstance(destination, dict) or destination.get("endpointType") != "WebHook":
            return arm_error(
                400, "InvalidRequest", "the sandbox delivers to WebHook destinations only"
            )
        target = destination.get("properties") or {}
        url = str(target.get("endpointUrl") or "")
        parts = urlsplit(url)
        # Azure takes https endpoints only; the sandbox also takes http on loopback.
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
            return arm_error(400, "InvalidRequest", f"endpointUrl {url!r} is not an https URL")
        schema = str(props.get("eventDeliverySchema") or "EventGridSchema")
        if schema not in SCHEMAS:
            return arm_error(400, "InvalidRequest", f"eventDeliverySchema must be one of {SCHEMAS}")
        name = sub_id.rsplit("/", 1)[1]
        created: Json = {
            "id": sub_id,
            "name": name,
            "type": TYPE,
            "properties": {
                "topic": topic,
                "provisioningState": "Creating",
                "destination": {
                    "endpointType": "WebHook",
                    "properties": {
                        "endpointBaseUrl": urlunsplit((*parts[:3], "", "")),
                        "maxEventsPerBatch": int(target.get("maxEventsPerBatch") or 1),
                        "preferredBatchSizeInKilobytes": int(
                            target.get("preferredBatchSizeInKilobytes") or 64
                        ),
                        **{
                            k: target[k]
                            for k in (
                                "azureActiveDirectoryTenantId",
                                "azureActiveDirectoryApplicationIdOrUri",
                            )
                            if target.get(k)
                        },
                    },
                },
                "filter": {
                    "subjectBeginsWith": "",
                    "subjectEndsWith": "",
                    "isSubjectCaseSensitive": False,
                    **(props.get("filter") or {}),
                },
                "labels": props.get("labels") or [],
                "eventDeliverySchema": schema,
                "retryPolicy": props.get("retryPolicy")
                or {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
            },
        }
        op = uuid.uuid4().hex
        with self._lock:
            self.subscriptions[sub_id.lower()] = created
            self._urls[sub_id.lower()] = url
            self._sources[sub_id.lower()] = scope
            self._operations[op] = {"id": op, "name": op, "status": "InProgress"}
        threading.Thread(
            target=self._validate, args=(sub_id, op), daemon=True, name="clamp-sandbox-grid"
        ).start()
        subscription = sub_id.split("/")[2]
        status_url = (
            f"{request.base_url}subscriptions/{subscription}/providers/Microsoft.EventGrid/"
            f"locations/global/operationsStatus/{op}?api-version={API_VERSION}"
        )
        return JSONResponse(created, status_code=201, headers={"Azure-AsyncOperation": status_url})

    def _scope_problem(self, scope: str) -> Response | None:
        segments = scope.strip("/").split("/")
        with self.state.lock:
            known = {s.lower() for s in self.state.azure}
        if len(segments) < 2 or segments[0].lower() != "subscriptions":
            return arm_error(400, "InvalidRequestUri", f"{scope} is not a subscription scope")
        if segments[1].lower() not in known:
            return not_found(scope)
        return None

    # -- the handshake --------------------------------------------------------------------
    def _validate(self, sub_id: str, op: str) -> None:
        """Event Grid's handshake with the new endpoint; the subscription is usable (and
        its operation ``Succeeded``) only once the endpoint has answered it."""
        with self._lock:
            sub = self.subscriptions.get(sub_id.lower())
            url = self._urls.get(sub_id.lower(), "")
        if sub is None:
            return
        problem = self._handshake(sub, url)
        with self._lock:
            if problem is None:
                sub["properties"]["provisioningState"] = "Succeeded"
                self._operations[op] = {"id": op, "name": op, "status": "Succeeded"}
                return
            self.subscriptions.pop(sub_id.lower(), None)
            self._urls.pop(sub_id.lower(), None)
            message = f"Webhook validation handshake failed for {urlsplit(url).netloc}: {problem}"
            self._operations[op] = {
                "id": op,
                "name": op,
                "status": "Failed",
                "error": {"code": "Url validation", "message": message},
            }

    def _handshake(self, sub: Json, url: str) -> str | None:
        """What was wrong with the endpoint's answer, or None when it passed."""
        headers = entra_headers(self.identities, sub)
        try:
            if sub["properties"]["eventDeliverySchema"] == "CloudEventSchemaV1_0":
                origin = "eventgrid.azure.net"
                answer = self.deliveries.call(
                    "OPTIONS", url, b"", {**headers, "WebHook-Request-Origin": origin}
                )
                allowed = answer.headers.get("webhook-allowed-origin")
                if answer.status_code == 200 and allowed in (origin, "*"):
                    return None
                return f"OPTIONS answered {answer.status_code}, allowed origin {allowed!r}"
            code = str(uuid.uuid4()).upper()
            topic = sub["properties"]["topic"]
            event = {
                "id": str(uuid.uuid4()),
                "topic": topic,
                "subject": "",
                "data": {"validationCode": code},
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "eventTime": event_time(),
                "metadataVersion": "1",
                "dataVersion": "1",
            }
            validation = {
                **headers,
                "Content-Type": "application/json",
                "aeg-event-type": "SubscriptionValidation",
                "aeg-subscription-name": sub["name"].upper(),
            }
            answer = self.deliveries.call("POST", url, json.dumps([event]).encode(), validation)
        except httpx.HTTPError as exc:
            return f"the endpoint did not answer: {type(exc).__name__}"
        try:
            echoed = answer.json().get("validationResponse")
        except (ValueError, AttributeError):
            echoed = None
        if answer.status_code == 200 and echoed == code:
            return None
        return f"Http POST request returned {answer.status_code} without the validation code"

    # -- events ---------------------------------------------------------------------------
    def publish(self, write: ServedWrite) -> None:
        """Deliver the event of one ARM write to every subscription that wants it."""
        path = ArmPath.parse(write.path)
        segments = path.path.strip("/").split("/")
        if len(segments) < 2 or segments[0].lower() != "subscriptions" or not path.type:
            return
        event_type, verb = KINDS[write.method]
        resource, operation = path.path, f"{path.type}/{verb}"
        if write.method == "POST":  # an action on the resource above: …/listKeys/action
            resource, operation = path.parent, f"{path.type}/action"
        with self._lock:
            targets = [
                (s, self._urls[k])
                for k, s in self.subscriptions.items()
                if s["properties"]["provisioningState"] == "Succeeded"
                and wanted(s, self._sources[k], resource, event_type)
            ]
        if not targets:
            return
        event = write_event(write, segments[1], resource, operation, event_type)
        for sub, url in targets:
            self.deliveries.send(delivery(self.identities, sub, url, event))


class EventGridArm:
    """ASGI: ``/providers/Microsoft.EventGrid/`` paths to ``EventGrid``, the rest to ARM."""

    def __init__(self, app: ASGIApp, grid: EventGrid) -> None:
        self.app, self.grid = app, grid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and PROVIDER in scope.get("path", "").lower():
            response = await self.grid.handle(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

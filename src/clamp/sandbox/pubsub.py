"""Cloud Pub/Sub v1 topics and push subscriptions, as google-api-python-client's pubsub
v1 discovery client sends them (``projects.topics.create|get|delete`` = ``PUT|GET|DELETE
v1/{+name}``, ``projects.subscriptions.create|get|delete`` likewise), and the pushes a
published message makes; a subscription without a push endpoint keeps its messages to be
pulled (``clamp.sandbox.pubsub_pull``).

Shapes: the ``Topic``, ``Subscription``, ``PushConfig`` and ``OidcToken`` schemas of the
pubsub v1 discovery document (defaults as the API documents them: ``ackDeadlineSeconds``
10, ``messageRetentionDuration`` "604800s", ``state`` ACTIVE; an ``oidcToken`` without an
``audience`` is issued for the push endpoint URL); "Push subscriptions" (the wrapped push
body ``{"message": {"attributes", "data", "messageId", "message_id", "publishTime",
"publish_time"}, "subscription"}``; 102, 200, 201, 202 and 204 acknowledge) and
"Authentication for push subscriptions" (a Google-signed OIDC token with ``aud``,
``azp``, ``email``, ``email_verified``, ``iss`` https://accounts.google.com, ``sub``,
``iat``, ``exp``). A topic's IAM policy: ``projects.topics.getIamPolicy`` (``GET
v1/{+resource}:getIamPolicy``) and ``setIamPolicy`` (``POST v1/{+resource}:setIamPolicy``,
body ``SetIamPolicyRequest``) with the ``Policy`` schema (``bindings`` of ``role`` and
``members``, ``etag`` for read-modify-write, ``version``); a set whose ``etag`` is not the
current one is refused 409 ``ABORTED`` ("IAM Policies: concurrency control"). Errors are
the one-platform ``{"error": {"code", "message", "status"}}``. The sandbox signs push tokens with its own key (served at
``/oauth2/v3/certs``, like Google's), checks no IAM (who may publish, act as the push
service account) and pushes wrapped messages only.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.deliveries import Deliveries, Delivery
from clamp.sandbox.oidc import SandboxIdentities
from clamp.sandbox.pubsub_pull import PullQueues
from clamp.sandbox.state import Json, SandboxState

ACKS = frozenset({102, 200, 201, 202, 204})
STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "ALREADY_EXISTS"}
EMPTY_POLICY_ETAG = "ACAB"
"""The etag of a policy never set (what Google's IAM answers for one, as seen in its docs'
examples; the sandbox is unsure every service uses it)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def platform_error(code: int, message: str, status: str | None = None) -> JSONResponse:
    """Google's one-platform error body."""
    status = status or STATUS.get(code, "UNKNOWN")
    return JSONResponse(
        {"error": {"code": code, "message": message, "status": status}},
        status_code=code,
    )


class PubSub:
    """Topics and subscriptions of the sandbox's projects, and the pushes they make."""

    def __init__(
        self, state: SandboxState, deliveries: Deliveries, identities: SandboxIdentities
    ) -> None:
        self.state = state
        self.deliveries = deliveries
        self.identities = identities
        self.topics: dict[str, Json] = {}
        self.subscriptions: dict[str, Json] = {}
        self.policies: dict[str, Json] = {}
        """Topic name → its IAM policy (``bindings``, ``etag``, ``version``)."""
        self._ids = itertools.count(int(time.time()) * 1000)
        self._lock = threading.Lock()
        self.pulls = PullQueues(self._ack_deadline, platform_error)
        """What pull subscriptions keep (``clamp.sandbox.pubsub_pull``)."""

    def _ack_deadline(self, name: str) -> int | None:
        with self._lock:
            found = self.subscriptions.get(name)
        return None if found is None else int(found["ackDeadlineSeconds"])

    def routes(self) -> list[Route]:
        """The API's routes, for the sandbox's Google listener."""
        base = "/v1/projects/{project}"
        methods = ["PUT", "GET", "DELETE"]
        return [
            *self.pulls.routes(),
            # before the topic route, whose {topic} would take ``T:getIamPolicy`` too
            Route(base + "/topics/{topic}:getIamPolicy", self.topic_policy, methods=["GET"]),
            Route(base + "/topics/{topic}:setIamPolicy", self.topic_policy, methods=["POST"]),
            Route(base + "/topics/{topic}", self.topic, methods=methods),
            Route(base + "/subscriptions/{sub}", self.subscription, methods=methods),
        ]

    def _project_problem(self, project: str) -> Response | None:
        with self.state.lock:
            known = project in self.state.gcp
        return None if known else platform_error(404, f"Requested project not found: {project}")

    def _existing(self, held: dict[str, Json], name: str, method: str) -> Response | None:
        """The answer to a get or delete of ``name`` in ``held`` (topics or subscriptions),
        or to a create of one that exists (409); None when a create may go ahead."""
        with self._lock:
            found = held.get(name)
            match method:
                case "GET":
                    return JSONResponse(found) if found else _missing(name)
                case "DELETE":
                    if found is None:
                        return _missing(name)
                    del held[name]
                    self.pulls.forget(name)
                    return JSONResponse({})
        if found is None:
            return None
        short = name.rsplit("/", 1)[-1]
        return platform_error(409, f"Resource already exists in the project (resource={short}).")

    async def topic(self, request: Request) -> Response:
        """``projects.topics.create|get|delete``."""
        project, topic = request.path_params["project"], request.path_params["topic"]
        name = f"projects/{project}/topics/{topic}"
        if answer := self._project_problem(project) or self._existing(
            self.topics, name, request.method
        ):
            return answer
        body = await _json(request)
        created = {"name": name, **({"labels": body["labels"]} if body.get("labels") else {})}
        with self._lock:
            self.topics[name] = created
        return JSONResponse(created)

    async def topic_policy(self, request: Request) -> Response:
        """``projects.topics.getIamPolicy`` and ``projects.topics.setIamPolicy``."""
        project, topic = request.path_params["project"], request.path_params["topic"]
        name = f"projects/{project}/topics/{topic}"
        if answer := self._project_problem(project):
            return answer
        body = await _json(request) if request.method == "POST" else {}
        with self._lock:
            if name not in self.topics:
                return _missing(name)
            current = self.policies.get(name) or {"version": 1, "etag": EMPTY_POLICY_ETAG}
            if request.method == "GET":
                return JSONResponse(current)
            policy = body.get("policy")
            if not isinstance(policy, dict):
                return platform_error(400, "policy is required")
            if policy.get("etag") and policy["etag"] != current["etag"]:
                return platform_error(409, "There were concurrent policy changes.", "ABORTED")
            bindings = [
                {"role": str(b.get("role")), "members": sorted({str(m) for m in b["members"]})}
                for b in policy.get("bindings") or []
                if isinstance(b, dict) and b.get("members")
            ]
            digest = hashlib.sha256(json.dumps(bindings, sort_keys=True).encode()).digest()
            stored = {
                "version": 1,
                "etag": base64.b64encode(digest[:8]).decode(),
                **({"bindings": bindings} if bindings else {}),
            }
            self.policies[name] = stored
        return JSONResponse(stored)

    async def subscription(self, request: Request) -> Response:
        """``projects.subscriptions.create|get|delete``."""
        project, sub = request.path_params["project"], request.path_params["sub"]
        name = f"projects/{project}/subscriptions/{sub}"
        if answer := self._project_problem(project) or self._existing(
            self.subscriptions, name, request.method
        ):
            return answer
        body = await _json(request)
        topic = str(body.get("topic") or "")
        with self._lock:
            known = topic in self.topics
        if not known:
            return platform_error(404, f"Resource not found (resource={topic.rsplit('/', 1)[-1]}).")
        push = copy.deepcopy(body.get("pushConfig") or {})
        if push.get("noWrapper"):
            return platform_error(400, "the sandbox pushes wrapped messages only (no noWrapper)")
        if push and not str(push.get("pushEndpoint", "")).startswith(("https://", "http://")):
            endpoint = push.get("pushEndpoint")
            return platform_error(400, f"Invalid push endpoint given (endpoint={endpoint}).")
        oidc = push.get("oidcToken")
        if isinstance(oidc, dict) and not oidc.get("serviceAccountEmail"):
            return platform_error(400, "oidcToken.serviceAccountEmail is required")
        created = {
            "name": name,
            "topic": topic,
            "pushConfig": push,
            "ackDeadlineSeconds": int(body.get("ackDeadlineSeconds") or 10),
            "messageRetentionDuration": body.get("messageRetentionDuration") or "604800s",
            "expirationPolicy": body.get("expirationPolicy") or {"ttl": "2678400s"},
            "state": "ACTIVE",
            **({"labels": body["labels"]} if body.get("labels") else {}),
        }
        with self._lock:
            self.subscriptions[name] = created
        return JSONResponse(created)

    # -- publishing -----------------------------------------------------------------------
    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str | None:
        """Publish one message to ``topic``: a push to each of its push subscriptions. Its
        message id (None when there is no such topic)."""
        with self._lock:
            if topic not in self.topics:
                return None
            pushes = [s for s in self.subscriptions.values() if s["topic"] == topic]
            message_id = str(next(self._ids))
        published = _now()
        message = {
            "attributes": attributes,
            "data": base64.b64encode(data).decode(),
            "messageId": message_id,
            "publishTime": published,
        }
        for sub in pushes:
            config = sub["pushConfig"]
            if not config.get("pushEndpoint"):
                self.pulls.keep(sub["name"], message)  # a pull subscription keeps it
                continue
            wrapped = {**message, "message_id": message_id, "publish_time": published}
            body = {"message": wrapped, "subscription": sub["name"]}
            self.deliveries.send(
                Delivery(
                    config["pushEndpoint"],
                    json.dumps(body).encode(),
                    self._headers(config),
                    acknowledged=lambda status: status in ACKS,
                )
            )
        return message_id

    def _headers(self, config: Json) -> Callable[[int], dict[str, str]]:
        oidc = config.get("oidcToken")

        def headers(_attempt: int) -> dict[str, str]:
            out = {"Content-Type": "application/json"}
            if isinstance(oidc, dict):
                email = oidc["serviceAccountEmail"]
                now = int(time.time())
                unique = str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16))
                token = self.identities.sign(
                    {
                        "aud": oidc.get("audience") or config["pushEndpoint"],
                        "azp": unique,
                        "email": email,
                        "email_verified": True,
                        "iss": "https://accounts.google.com",
                        "sub": unique,
                        "iat": now,
                        "exp": now + 3600,
                    }
                )
                out["Authorization"] = f"Bearer {token}"
            return out

        return headers


def _missing(name: str) -> JSONResponse:
    return platform_error(404, f"Resource not found (resource={name.rsplit('/', 1)[-1]}).")


async def _json(request: Request) -> Json:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}

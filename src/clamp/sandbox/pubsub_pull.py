"""Pull subscriptions: the messages a subscription without a ``pushConfig`` keeps, served
as google-api-python-client's pubsub v1 discovery client asks for them.

Shapes and behaviour from the pubsub v1 discovery document shipped in
google-api-python-client (``discovery_cache/documents/pubsub.v1.json``):
``projects.subscriptions.pull`` = ``POST v1/{+subscription}:pull`` with a ``PullRequest``
(``maxMessages``: "Required ... Must be a positive integer"), answered by a
``PullResponse`` (``receivedMessages``: ``ReceivedMessage`` = ``ackId``, ``message``
(``PubsubMessage``: ``data``, ``messageId``, ``publishTime``, ``attributes``); no
``deliveryAttempt``, which is 0 — left out — without a dead-letter policy, and the sandbox
models none); ``projects.subscriptions.acknowledge`` = ``POST
v1/{+subscription}:acknowledge`` with ``ackIds``, answered by ``Empty``. The
``Subscription.ackDeadlineSeconds`` text: an outstanding message is not redelivered until
its ack deadline passes, then it is (with a new ``ackId``). The sandbox never expires
messages (the retention period is a week) and ignores ``returnImmediately``; an ack of an
unknown or expired ``ackId`` is ignored, as acks are best effort. ``clock`` is
``time.monotonic`` unless a test moves it on.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.state import Json

MAX_PULL = 1000
"""Pub/Sub returns at most 1,000 messages per pull (Pub/Sub quotas and limits)."""


@dataclass
class _Kept:
    message: Json
    due: float = 0.0
    """When it may be delivered (again): now, or its ack deadline."""
    ack_id: str = ""


class PullQueues:
    """The messages each pull subscription keeps until they are acknowledged."""

    def __init__(
        self, deadline: Callable[[str], int | None], error: Callable[[int, str], Response]
    ) -> None:
        self.deadline = deadline
        """A subscription's ``ackDeadlineSeconds`` (None when there is no such subscription)."""
        self.error = error
        """Google's one-platform error answer (``clamp.sandbox.pubsub.platform_error``)."""
        self.clock: Callable[[], float] = time.monotonic
        self._kept: dict[str, list[_Kept]] = {}
        self._ack_ids = itertools.count(1)
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        """``:pull`` and ``:acknowledge`` (listed before the subscription's own route)."""
        base = "/v1/projects/{project}/subscriptions/{sub}"
        return [
            Route(base + ":pull", self.pull, methods=["POST"]),
            Route(base + ":acknowledge", self.acknowledge, methods=["POST"]),
        ]

    def keep(self, subscription: str, message: Json) -> None:
        """Keep a message published to the subscription's topic."""
        with self._lock:
            self._kept.setdefault(subscription, []).append(_Kept(message))

    def forget(self, subscription: str) -> None:
        """Drop what a deleted subscription kept."""
        with self._lock:
            self._kept.pop(subscription, None)

    async def pull(self, request: Request) -> Response:
        """``projects.subscriptions.pull``."""
        name = _name(request)
        deadline = self.deadline(name)
        if deadline is None:
            return self.error(404, f"Resource not found (resource={name.rsplit('/', 1)[-1]}).")
        body = await _body(request)
        wanted = body.get("maxMessages")
        if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 1:
            return self.error(400, "maxMessages must be a positive integer")
        now = self.clock()
        received: list[Json] = []
        with self._lock:
            for kept in self._kept.get(name, []):
                if len(received) >= min(wanted, MAX_PULL):
                    break
                if kept.due > now:
                    continue  # outstanding: its ack deadline has not passed
                kept.ack_id = f"{name.rsplit('/', 1)[-1]}-ack-{next(self._ack_ids)}"
                kept.due = now + deadline
                received.append({"ackId": kept.ack_id, "message": kept.message})
        return JSONResponse({"receivedMessages": received} if received else {})

    async def acknowledge(self, request: Request) -> Response:
        """``projects.subscriptions.acknowledge``: acknowledged messages are gone."""
        name = _name(request)
        if self.deadline(name) is None:
            return self.error(404, f"Resource not found (resource={name.rsplit('/', 1)[-1]}).")
        ack_ids = (await _body(request)).get("ackIds")
        if not isinstance(ack_ids, list) or not ack_ids:
            return self.error(400, "ackIds must be a non-empty list")
        now = self.clock()
        with self._lock:
            kept = self._kept.get(name, [])
            self._kept[name] = [k for k in kept if k.ack_id not in ack_ids or k.due <= now]
        return JSONResponse({})


def _name(request: Request) -> str:
    return f"projects/{request.path_params['project']}/subscriptions/{request.path_params['sub']}"


async def _body(request: Request) -> Json:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}

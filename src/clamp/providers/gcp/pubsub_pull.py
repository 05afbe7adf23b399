"""Pulling a Pub/Sub subscription through google-api-python-client's pubsub v1 discovery
client: ``projects.subscriptions.pull`` (``maxMessages``) and
``projects.subscriptions.acknowledge`` (``ackIds``), shapes from the pubsub v1 discovery
document (``PullResponse.receivedMessages``: ``ackId`` and ``message``, a
``PubsubMessage``). Both need ``pubsub.subscriptions.consume`` on the subscription
(Pub/Sub "Access control": the Pub/Sub Subscriber role); the subscription's IAM is what
protects a pull — there is no push token to verify.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clamp.errors import InputError
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import translated

SUBSCRIPTION = re.compile(r"projects/[^/\s]+/subscriptions/[^/\s]+")
CONSUME = "pubsub.subscriptions.consume"


def subscription_name(text: str) -> str:
    """``text`` when it is a full subscription name (``projects/P/subscriptions/S``)."""
    if not SUBSCRIPTION.fullmatch(text):
        raise InputError(f"{text!r} is not a subscription name (projects/P/subscriptions/S)")
    return text


@dataclass(frozen=True)
class Pulled:
    """One received message: its ack id and the push body it would have come in
    (``{"message", "subscription"}``), so it takes the push path's parser."""

    ack_id: str
    body: bytes


class SubscriptionPuller:
    """Pulls and acknowledges one subscription."""

    def __init__(self, clients: GcpClients, subscription: str) -> None:
        self.subscription = subscription_name(subscription)
        self._subscriptions = clients.pubsub.projects().subscriptions()

    def pull(self, max_messages: int) -> list[Pulled]:
        """Up to ``max_messages`` messages (Pub/Sub may return fewer, or none)."""
        request = self._subscriptions.pull(
            subscription=self.subscription, body={"maxMessages": max_messages}
        )
        with translated(f"pull {self.subscription}", CONSUME):
            answer: dict[str, Any] = request.execute()
        return [
            Pulled(
                str(r["ackId"]),
                json.dumps(
                    {"message": r.get("message"), "subscription": self.subscription}
                ).encode(),
            )
            for r in answer.get("receivedMessages", [])
        ]

    def acknowledge(self, ack_ids: Sequence[str]) -> None:
        """Acknowledge received messages: Pub/Sub delivers them no more."""
        if not ack_ids:
            return
        request = self._subscriptions.acknowledge(
            subscription=self.subscription, body={"ackIds": list(ack_ids)}
        )
        with translated(f"acknowledge on {self.subscription}", CONSUME):
            request.execute()

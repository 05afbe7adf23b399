"""A generic webhook signed the Standard Webhooks way (standardwebhooks.com, spec v1):

    webhook-id: <the notice's id, the same on every retry, so receivers can de-duplicate>
    webhook-timestamp: <seconds since the epoch>
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

The key is the secret's base64 after its ``whsec_`` prefix (the spec's format); a secret
without the prefix is taken as raw bytes. The body is the notice's JSON event
(``Message.document``: ``type``, ``timestamp``, ``data`` with the OCSF event).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from clamp.notify.http import post
from clamp.notify.message import Message
from clamp.notify.signing import sign, signing_key


class WebhookSink:
    """POSTs each notice's JSON event, signed."""

    def __init__(
        self,
        name: str,
        url: str,
        secret: str,
        client: httpx.Client,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name, self.url, self._key = name, url, signing_key(secret)
        self._client, self._clock = client, clock

    def deliver(self, message: Message) -> None:
        """Sign and send one notice."""
        body = json.dumps(message.document(), separators=(",", ":")).encode()
        timestamp = int(self._clock())
        msg_id = message.notice.id
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._key, msg_id, timestamp, body),
        }
        post(self._client, self.url, content=body, headers=headers, sink=self.name)

"""A generic webhook signed the Standard Webhooks way (standardwebhooks.com, spec v1):

    webhook-id: <the notice's id, the same on every retry, so receivers can de-duplicate>
    webhook-timestamp: <seconds since the epoch>
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

The key is the secret's base64 after its ``whsec_`` prefix (the spec's format); a secret
without the prefix is taken as raw bytes. The body is the notice's JSON event
(``Message.document``: ``type``, ``timestamp``, ``data`` with the OCSF event).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx

from clamp.errors import ConfigError
from clamp.notify.http import post
from clamp.notify.message import Message

PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key a Standard Webhooks secret stands for."""
    if not secret.startswith(PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"webhook secret {PREFIX}…: not valid base64 after the prefix") from exc


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header's value for one message."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


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

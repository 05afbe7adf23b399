"""Standard Webhooks signing (standardwebhooks.com, spec v1): the key a ``whsec_`` secret
stands for, and the ``webhook-signature`` of one message. No HTTP here, so the config can
check a secret when it is read."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from clamp.errors import ConfigError

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

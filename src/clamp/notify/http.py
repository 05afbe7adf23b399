"""The HTTP side the plain sinks share (generic webhook, Slack, Teams, Splunk HEC): one
POST with httpx, its answer turned into delivered / try again / refused.

408, 425, 429 and 5xx are worth another try (429 and 503 with the ``Retry-After`` they
send, RFC 9110 §10.2.3: seconds or an HTTP date); any other 4xx is refused as sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from clamp.notify.interface import DeliveryFailed, DeliveryRefused

RETRYABLE = frozenset({408, 425, 429})


def post(
    client: httpx.Client,
    url: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    sink: str,
) -> httpx.Response:
    """POST, or raise ``DeliveryFailed`` / ``DeliveryRefused`` saying why not."""
    try:
        response = client.post(url, json=json, content=content, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{sink}: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if status < 300:
        return response
    why = f"{sink}: HTTP {status} {response.reason_phrase}: {response.text[:200].strip()}"
    if status in RETRYABLE or status >= 500:
        raise DeliveryFailed(why, retry_after=retry_after(response.headers.get("retry-after")))
    raise DeliveryRefused(why)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

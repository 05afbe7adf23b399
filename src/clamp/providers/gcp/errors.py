"""Google API exceptions → Clamp's errors: one table for every Google service Clamp calls,
with bounded retries.

Compute, Resource Manager and Storage (google-api-core / google.cloud.exceptions), Cloud
Identity (google-api-python-client's ``HttpError``, over httplib2) and the credentials
(google.auth) all go through ``call()`` or ``translated()``; the HTTP status picks the row
of ``STATUS``. ``call()`` retries 429, 5xx answers and dropped connections a few times,
honouring the ``Retry-After`` header when the server sends one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httplib2  # type: ignore[import-untyped]
from google.api_core import exceptions as gexc
from google.auth.exceptions import GoogleAuthError
from google.auth.exceptions import TransportError as AuthTransportError
from google.cloud import compute_v1
from googleapiclient.errors import HttpError

from clamp.errors import (
    AuthenticationError,
    CloudError,
    CloudUnavailable,
    ConflictError,
    PermissionDenied,
    RateLimited,
    ResourceNotFound,
)

T = TypeVar("T")
ATTEMPTS = 4
MAX_DELAY = 30.0
BACKOFF = 0.25  # seconds before the first retry when the server gives no Retry-After
LOGIN_HINT = "run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"


def _retry_after(exc: Exception, attempt: int) -> float:
    """Seconds to wait: the response's ``Retry-After`` (seconds or HTTP date), else backoff."""
    if isinstance(exc, HttpError):  # httplib2's response is the headers, lower-cased
        header = exc.resp.get("retry-after")
    else:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        header = headers.get("Retry-After") if headers is not None else None
    delay = _seconds(header) if header is not None else None
    return min(max(delay if delay is not None else BACKOFF * 2**attempt, 0.0), MAX_DELAY)


def _seconds(header: str) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date); None if unreadable."""
    try:
        return float(header)
    except ValueError:
        try:
            return (parsedate_to_datetime(header) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None


# HTTP status → (Clamp error, message, hint); ``{what}``, ``{permission}`` and ``{detail}``
# are filled in. Any other status: 5xx → CloudUnavailable, else CloudError.
STATUS: Mapping[int, tuple[type[CloudError], str, str | None]] = {
    401: (
        AuthenticationError,
        "Google Cloud rejected the credentials while trying to {what}",
        LOGIN_HINT,
    ),
    403: (
        PermissionDenied,
        "Google Cloud denied permission to {what}: grant {permission}",
        "e.g. roles/compute.securityAdmin, or `clamp permissions --format gcp-role` (see README)",
    ),
    404: (ResourceNotFound, "not found while trying to {what}", None),
    409: (ConflictError, "Google Cloud refused to {what}: {detail}", "re-read and plan again"),
    412: (ConflictError, "Google Cloud refused to {what}: {detail}", "re-read and plan again"),
    429: (
        RateLimited,
        "Google Cloud kept throttling (429) while trying to {what}",
        "retry later",
    ),
}


def from_status(code: int, what: str, permission: str, detail: str = "") -> CloudError:
    """Clamp's error for an HTTP ``code`` from a Google API (the row of ``STATUS``)."""
    row = STATUS.get(code)
    if row is not None:
        kind, message, hint = row
        text = message.format(what=what, permission=permission, detail=detail)
        return kind(text, hint=hint, status=code)
    if code >= 500:
        return CloudUnavailable(f"Google Cloud failed ({code}) while trying to {what}", status=code)
    return CloudError(f"Google Cloud refused to {what} ({code}): {detail}", status=code or None)


def _unreachable(exc: Exception, what: str) -> CloudUnavailable:
    return CloudUnavailable(
        f"could not reach Google Cloud to {what}: {exc}",
        hint="check the network (or CLAMP_SANDBOX_URL when using the sandbox)",
    )


def translate(exc: Exception, what: str, permission: str) -> CloudError:
    """Clamp's error for anything a Google SDK raised while trying to ``what``."""
    if isinstance(exc, gexc.GoogleAPICallError):
        return from_status(int(exc.code or 0), what, permission, exc.message)
    if isinstance(exc, HttpError):
        return from_status(int(exc.resp.status), what, permission, str(exc.reason))
    if isinstance(exc, AuthTransportError):
        return _unreachable(exc, f"authenticate to {what}")
    if isinstance(exc, GoogleAuthError):
        return AuthenticationError(f"no usable Google credentials to {what}", hint=LOGIN_HINT)
    if isinstance(exc, (OSError, httplib2.HttpLib2Error)):
        return _unreachable(exc, what)
    return CloudError(f"Google Cloud failed while trying to {what}: {exc}")


SDK_ERRORS = (gexc.GoogleAPICallError, HttpError, GoogleAuthError, httplib2.HttpLib2Error, OSError)
"""What the Google SDKs raise (requests' ConnectionError/Timeout are OSErrors)."""


RETRIED = (gexc.TooManyRequests, gexc.ServerError, OSError)
"""Retried a few times before they are translated: throttling, server errors, dropped
connections."""


def _retried(exc: Exception) -> bool:
    """Throttling, a server error or a dropped connection, from either kind of client (a
    discovery client's ``HttpError`` carries the status on ``resp``)."""
    if isinstance(exc, HttpError):
        return int(exc.resp.status) == 429 or int(exc.resp.status) >= 500
    return isinstance(exc, RETRIED) and not isinstance(exc, GoogleAuthError)


def call(what: str, permission: str, operation: Callable[[], T]) -> T:
    """Run ``operation``; retry ``RETRIED``; translate the rest."""
    for attempt in range(ATTEMPTS):
        try:
            return operation()
        except SDK_ERRORS as exc:
            retry = _retried(exc)
            if not retry or attempt == ATTEMPTS - 1:
                raise translate(exc, what, permission) from exc
            time.sleep(_retry_after(exc, attempt))
    raise AssertionError("unreachable")


@contextmanager
def translated(what: str, permission: str) -> Iterator[None]:
    """Run SDK calls that retry by themselves (googleapiclient's ``num_retries``);
    translate what they raise."""
    try:
        yield
    except SDK_ERRORS as exc:
        raise translate(exc, what, permission) from exc


def operation_failed(op: compute_v1.Operation) -> CloudError:
    """The error a finished ``compute#operation`` carries, as Clamp's error for its HTTP code."""
    first = op.error.errors[0]
    message = f"operation {op.name} on {op.target_link} failed: {first.code}: {first.message}"
    code = int(op.http_error_status_code or 0)
    row = STATUS.get(code)
    kind = row[0] if row else CloudUnavailable if code >= 500 else CloudError
    hint = "re-read the resource and plan again" if kind is ConflictError else None
    return kind(message, hint=hint, status=code or None)

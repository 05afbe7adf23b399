"""Google API exceptions → Clamp's errors, translated here once, with bounded retries.

Every SDK call goes through ``call()``: 429, 5xx answers and dropped connections are
retried a few times, honouring the ``Retry-After`` header when the server sends one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from google.api_core import exceptions as gexc
from google.auth.exceptions import DefaultCredentialsError, RefreshError
from google.cloud import compute_v1

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


def call(what: str, permission: str, operation: Callable[[], T]) -> T:
    """Run ``operation``; retry throttling and server errors; translate the rest."""
    for attempt in range(ATTEMPTS):
        try:
            return operation()
        except (gexc.TooManyRequests, gexc.ServerError) as exc:
            if attempt == ATTEMPTS - 1:
                raise _translate(exc, what, permission) from exc
            time.sleep(_retry_after(exc, attempt))
        except gexc.GoogleAPICallError as exc:
            raise _translate(exc, what, permission) from exc
        except OSError as exc:  # requests' ConnectionError/Timeout are OSErrors
            if attempt == ATTEMPTS - 1:
                raise CloudUnavailable(
                    f"could not reach Google Cloud to {what}: {exc}",
                    hint="check the network (or CLAMP_SANDBOX_URL when using the sandbox)",
                ) from exc
            time.sleep(_retry_after(exc, attempt))
        except (DefaultCredentialsError, RefreshError) as exc:
            raise AuthenticationError(
                f"no usable Google credentials to {what}", hint=LOGIN_HINT
            ) from exc
    raise AssertionError("unreachable")


def operation_failed(op: compute_v1.Operation) -> CloudError:
    """The error a finished ``compute#operation`` carries, as Clamp's error for its HTTP code."""
    first = op.error.errors[0]
    message = f"operation {op.name} on {op.target_link} failed: {first.code}: {first.message}"
    code = int(op.http_error_status_code or 0)
    match code:
        case 403:
            return PermissionDenied(message, status=code)
        case 404:
            return ResourceNotFound(message, status=code)
        case 409 | 412:
            return ConflictError(message, hint="re-read the resource and plan again", status=code)
        case _:
            return CloudError(message, status=code or None)


def _translate(exc: gexc.GoogleAPICallError, what: str, permission: str) -> CloudError:
    code = int(exc.code or 0)
    if code == 403:
        return PermissionDenied(
            f"Google Cloud denied permission to {what}: grant {permission}",
            hint="e.g. roles/compute.securityAdmin (see README)",
            status=403,
        )
    if code == 404:
        return ResourceNotFound(f"not found while trying to {what}", status=404)
    if code in (409, 412):
        return ConflictError(
            f"Google Cloud refused to {what}: {exc.message}",
            hint="re-read the resource and plan again",
            status=code,
        )
    if code == 429:
        return RateLimited(
            f"Google Cloud kept throttling (429) while trying to {what}",
            hint="retry later",
            status=429,
        )
    if code >= 500:
        return CloudUnavailable(f"Google Cloud failed ({code}) while trying to {what}", status=code)
    return CloudError(f"Google Cloud refused to {what} ({code}): {exc.message}", status=code)

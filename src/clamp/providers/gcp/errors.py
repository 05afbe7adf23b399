"""Google API exceptions → Clamp's errors, translated here once, with bounded retries.

Every SDK call goes through ``call()``: 429 and 5xx answers are retried a few times,
honouring the ``Retry-After`` header when the server sends one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from google.api_core import exceptions as gexc
from google.auth.exceptions import DefaultCredentialsError, RefreshError

from clamp.errors import (
    AuthenticationError,
    CloudError,
    CloudUnavailable,
    PermissionDenied,
    RateLimited,
    ResourceNotFound,
)

T = TypeVar("T")
ATTEMPTS = 4
MAX_DELAY = 30.0
LOGIN_HINT = "run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"


def _retry_after(exc: gexc.GoogleAPICallError, attempt: int) -> float:
    response = getattr(exc, "response", None)
    header = response.headers.get("Retry-After") if response is not None else None
    try:
        delay = float(header) if header is not None else 0.5 * 2**attempt
    except ValueError:
        delay = 0.5 * 2**attempt
    return min(max(delay, 0.0), MAX_DELAY)


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
        except (DefaultCredentialsError, RefreshError) as exc:
            raise AuthenticationError(
                f"no usable Google credentials to {what}", hint=LOGIN_HINT
            ) from exc
    raise AssertionError("unreachable")


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
    if code == 429:
        return RateLimited(
            f"Google Cloud kept throttling (429) while trying to {what}",
            hint="retry later",
            status=429,
        )
    if code >= 500:
        return CloudUnavailable(f"Google Cloud failed ({code}) while trying to {what}", status=code)
    return CloudError(f"Google Cloud refused to {what} ({code}): {exc.message}", status=code)

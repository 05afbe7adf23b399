"""Azure SDK exceptions → Clamp's errors, translated here once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from clamp.errors import (
    AuthenticationError,
    CloudError,
    CloudUnavailable,
    ConflictError,
    PermissionDenied,
    RateLimited,
    ResourceNotFound,
)

LOGIN_HINT = "run `az login`, or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET"


@contextmanager
def translated(what: str, permission: str) -> Iterator[None]:
    """Run an SDK call; raise Clamp's error for what went wrong, naming ``permission``."""
    try:
        yield
    except ClientAuthenticationError as exc:
        if exc.status_code == 403:
            raise _denied(what, permission) from exc
        raise AuthenticationError(
            f"Azure rejected the credentials while trying to {what}", hint=LOGIN_HINT
        ) from exc
    except HttpResponseError as exc:
        raise _from_status(exc, what, permission) from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise CloudUnavailable(
            f"cannot reach Azure Resource Manager to {what}: {exc.message}",
            hint="check the network and retry",
        ) from exc


def _denied(what: str, permission: str) -> PermissionDenied:
    return PermissionDenied(
        f"Azure denied permission to {what}: grant {permission}",
        hint="assign a role that includes it (see README)",
        status=403,
    )


def _from_status(exc: HttpResponseError, what: str, permission: str) -> CloudError:
    status = exc.status_code or 0
    if status == 403:
        return _denied(what, permission)
    if status == 404:
        return ResourceNotFound(f"not found while trying to {what}", status=404)
    if status == 412:
        return ConflictError(
            f"the resource changed since it was read, so Clamp did not {what}; nothing was changed",
            hint="re-run the plan",
            status=412,
        )
    if status == 429:
        return RateLimited(
            f"Azure kept throttling (429) while trying to {what}", hint="retry later", status=429
        )
    if status >= 500:
        return CloudUnavailable(f"Azure failed ({status}) while trying to {what}", status=status)
    message = exc.error.message if exc.error is not None and exc.error.message else str(exc.reason)
    return CloudError(f"Azure refused to {what} ({status}): {message}", status=status)

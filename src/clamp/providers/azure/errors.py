"""Azure SDK exceptions → Clamp's errors: one table for every Azure service Clamp calls.

Azure Resource Manager (azure-mgmt-*, azure-core), Microsoft Graph (msgraph-sdk over
kiota and httpx) and the credential chain (azure-identity: ``CredentialUnavailableError``
and ``ClientAuthenticationError``, both ``ClientAuthenticationError``) all go through
``translated``; the HTTP status picks the row of ``STATUS``. Nothing outside the drivers
catches an SDK exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from kiota_abstractions.api_error import APIError

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


@dataclass(frozen=True)
class Api:
    """An Azure API as error messages name it, and what to do about a 403 there."""

    name: str
    denied_hint: str


ARM = Api("Azure", "assign a role that includes it (see README)")
GRAPH = Api(
    "Microsoft Graph", "grant the Graph application permission and admin-consent it (see README)"
)

SDK_ERRORS = (AzureError, APIError, httpx.TransportError)
"""What the Azure SDKs raise: azure-core (ARM, azure-identity), kiota (Graph) and httpx
(Graph's transport)."""

# HTTP status → (Clamp error, message, hint); ``{api}``, ``{what}``, ``{permission}`` and
# ``{denied_hint}`` are filled in. Any other status: 5xx → CloudUnavailable, else CloudError.
STATUS: Mapping[int, tuple[type[CloudError], str, str | None]] = {
    401: (AuthenticationError, "{api} rejected the credentials while trying to {what}", LOGIN_HINT),
    403: (PermissionDenied, "{api} denied permission to {what}: grant {permission}", "{denied}"),
    404: (ResourceNotFound, "not found while trying to {what}", None),
    412: (
        ConflictError,
        "the resource changed since it was read, so Clamp did not {what}; nothing was changed",
        "re-run the plan",
    ),
    429: (RateLimited, "{api} kept throttling (429) while trying to {what}", "retry later"),
}


def from_status(
    status: int, what: str, permission: str, api: Api = ARM, detail: str = ""
) -> CloudError:
    """Clamp's error for an HTTP ``status`` from ``api`` (the row of ``STATUS``)."""
    row = STATUS.get(status)
    if row is not None:
        kind, message, hint = row
        fill = {"api": api.name, "what": what, "permission": permission, "denied": api.denied_hint}
        return kind(
            message.format(**fill), hint=hint.format(**fill) if hint else None, status=status
        )
    if status >= 500:
        return CloudUnavailable(
            f"{api.name} failed ({status}) while trying to {what}", status=status
        )
    return CloudError(f"{api.name} refused to {what} ({status}): {detail}", status=status or None)


def translate(exc: Exception, what: str, permission: str, api: Api = ARM) -> CloudError:
    """Clamp's error for one of ``SDK_ERRORS`` raised while trying to ``what``."""
    if isinstance(exc, ClientAuthenticationError) and exc.status_code is None:
        # From azure-identity: the credential chain found nothing usable
        # (CredentialUnavailableError) or the token endpoint refused it.
        return AuthenticationError(f"no usable Azure credentials to {what}", hint=LOGIN_HINT)
    if isinstance(exc, HttpResponseError):
        error = exc.error
        detail = error.message if error is not None and error.message else str(exc.reason)
        return from_status(exc.status_code or 0, what, permission, api, detail)
    if isinstance(exc, APIError):
        return from_status(exc.response_status_code or 0, what, permission, api, exc.message or "")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, httpx.TransportError)):
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return CloudUnavailable(
            f"cannot reach {api.name} to {what}: {reason}", hint="check the network and retry"
        )
    return CloudError(f"{api.name} failed while trying to {what}: {exc}")


@contextmanager
def translated(what: str, permission: str, api: Api = ARM) -> Iterator[None]:
    """Run SDK calls; raise Clamp's error for what went wrong, naming ``permission``."""
    try:
        yield
    except SDK_ERRORS as exc:
        raise translate(exc, what, permission, api) from exc

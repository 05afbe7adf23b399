"""``[events.azure]`` and ``[events.gcp]``: how deliveries prove they come from the cloud.

    [events.azure]
    webhook_secret = "…"        # POST /events/azure?key=<secret>
    tenant_id = "…"             # and/or a Microsoft Entra-protected webhook:
    audience = "api://clamp-events"   # the webhook app's id or URI
    jwks_url = "https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys"

    [events.gcp]
    audience = "https://clamp.example.com/events/gcp"
    service_account = "clamp-push@P.iam.gserviceaccount.com"
    certs_url = "https://www.googleapis.com/oauth2/v3/certs"   # a JWK set or Google's PEM map

Every method configured must pass; with none configured a cloud's deliveries are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clamp.errors import ConfigError, InputError
from clamp.fields import check_fields

AZURE_FIELDS = ("webhook_secret", "tenant_id", "audience", "jwks_url")
ENTRA_FIELDS = ("tenant_id", "audience", "jwks_url")
GCP_FIELDS = ("audience", "service_account", "certs_url")
GOOGLE_CERTS = "https://www.googleapis.com/oauth2/v3/certs"


@dataclass(frozen=True)
class EntraWebhook:
    """A Microsoft Entra-protected webhook: Event Grid sends a bearer token the tenant
    issued for ``audience``, signed with the keys at ``jwks_url``."""

    tenant_id: str
    audience: str
    jwks_url: str


@dataclass(frozen=True)
class AzureEvents:
    """How Event Grid deliveries are verified."""

    webhook_secret: str | None = None
    entra: EntraWebhook | None = None


@dataclass(frozen=True)
class GcpEvents:
    """How Pub/Sub push deliveries are verified: the OIDC token Pub/Sub signs as
    ``service_account`` for ``audience``, with Google's keys at ``certs_url``."""

    audience: str
    service_account: str
    certs_url: str = GOOGLE_CERTS


@dataclass(frozen=True)
class EventsConfig:
    """The ``[events]`` table."""

    azure: AzureEvents | None = None
    gcp: GcpEvents | None = None

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> EventsConfig:
        """``[events.azure]`` and ``[events.gcp]``, each entry checked."""
        try:
            table = _table(data, f"{where}: events")
            check_fields(table, ("azure", "gcp"), f"{where}: events")
            azure = gcp = None
            if "azure" in table:
                azure = _azure(_table(table["azure"], f"{where}: events.azure"), where)
            if "gcp" in table:
                gcp = _gcp(_table(table["gcp"], f"{where}: events.gcp"), where)
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        return cls(azure, gcp)


def _table(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: a table")
    return data


def _strings(data: Mapping[str, Any], names: tuple[str, ...], where: str) -> dict[str, str]:
    values = {}
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}.{name}: a non-empty string")
        values[name] = value
    return values


def _azure(data: Mapping[str, Any], where: str) -> AzureEvents:
    check_fields(data, AZURE_FIELDS, f"{where}: events.azure")
    values = _strings(data, AZURE_FIELDS, f"{where}: events.azure")
    entra = [values.get(n) for n in ENTRA_FIELDS]
    if any(entra) and not all(entra):
        raise ConfigError(
            f"{where}: events.azure: an Entra webhook needs {', '.join(ENTRA_FIELDS)}"
        )
    if not values:
        raise ConfigError(f"{where}: events.azure: set webhook_secret or {', '.join(ENTRA_FIELDS)}")
    return AzureEvents(
        webhook_secret=values.get("webhook_secret"),
        entra=EntraWebhook(*(str(v) for v in entra)) if all(entra) else None,
    )


def _gcp(data: Mapping[str, Any], where: str) -> GcpEvents:
    check_fields(data, GCP_FIELDS, f"{where}: events.gcp")
    values = _strings(data, GCP_FIELDS, f"{where}: events.gcp")
    missing = [n for n in ("audience", "service_account") if n not in values]
    if missing:
        raise ConfigError(f"{where}: events.gcp: {', '.join(missing)} required")
    return GcpEvents(**values)

"""A Microsoft Entra tenant's password and sign-in settings → one ``Resource`` (pure).

Microsoft Graph returns them in separate objects: the organization, its domains (password
expiry per managed domain), the Password Rule Settings directory setting (smart lockout,
banned passwords), the security defaults policy and Conditional Access policies. They are
joined into one Resource with id ``tenant:<tenant id>``, ``raw`` holding the objects as
Graph returns them, and facets:

- ``domains``: ``{"name", "managed", "validity_days"}`` (None: passwords never expire);
- ``lockout_threshold`` (Entra's default 10 when no Password Rule Settings exist) and
  ``banned_password_check``;
- ``mfa``: what requires MFA for everyone (``"security defaults"`` or the Conditional Access
  policy's name), or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clamp.model import Provider, Resource, ResourceType

PASSWORD_RULES_TEMPLATE = "5cf42378-d67d-4f36-ba46-e8b86229381d"
NEVER_EXPIRES = 2147483647
DEFAULT_LOCKOUT = 10


def tenant_resource(parts: Mapping[str, Any]) -> Resource:
    """The tenant Resource from its Graph objects (see the module docstring)."""
    organization = parts.get("organization") or {}
    tenant = str(organization.get("id", ""))
    return Resource(
        id=f"tenant:{tenant}",
        provider=Provider.AZURE,
        type=ResourceType.ENTRA_TENANT,
        name=str(organization.get("displayName") or tenant),
        scope=f"tenant:{tenant}",
        facets=tenant_facets(parts),
        raw=dict(parts),
    )


def password_rules(parts: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Password Rule Settings directory setting, if the tenant has one."""
    return next(
        (
            s
            for s in parts.get("groupSettings") or []
            if s.get("templateId") == PASSWORD_RULES_TEMPLATE
        ),
        None,
    )


def tenant_facets(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The facets of a tenant from its Graph objects."""
    rules = password_rules(parts)
    values = {str(v.get("name")): v.get("value") for v in (rules or {}).get("values") or []}
    domains = [
        {
            "name": str(d.get("id", "")),
            "managed": str(d.get("authenticationType", "Managed")) == "Managed",
            "validity_days": None
            if int(d.get("passwordValidityPeriodInDays") or NEVER_EXPIRES) >= NEVER_EXPIRES
            else int(d["passwordValidityPeriodInDays"]),
        }
        for d in parts.get("domains") or []
        if d.get("isVerified", True)
    ]
    return {
        "domains": tuple(domains),
        "lockout_threshold": int(values.get("LockoutThreshold") or DEFAULT_LOCKOUT),
        "banned_password_check": str(values.get("EnableBannedPasswordCheck", "")).lower() == "true",
        "mfa": _mfa(parts),
    }


def _mfa(parts: Mapping[str, Any]) -> str | None:
    if (parts.get("securityDefaults") or {}).get("isEnabled"):
        return "security defaults"
    for policy in parts.get("conditionalAccessPolicies") or []:
        users = ((policy.get("conditions") or {}).get("users") or {}).get("includeUsers") or []
        controls = (policy.get("grantControls") or {}).get("builtInControls") or []
        if policy.get("state") == "enabled" and "All" in users and "mfa" in controls:
            return f"Conditional Access policy {policy.get('displayName', policy.get('id'))}"
    return None

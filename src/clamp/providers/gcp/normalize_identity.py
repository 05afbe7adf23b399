"""A Google Workspace / Cloud Identity customer's password and 2-Step Verification
policies (Cloud Identity Policy API) → one ``Resource`` (pure).

Id and scope ``customer:<customer id>``; ``raw`` is ``{"customer", "policies"}`` with the
policies as the API returns them. Facets:

- ``password``: one entry per ``settings/security.password`` policy (each applies to an
  org unit): ``{"org_unit", "min_length", "strength", "expiry_days" (None: never),
  "allow_reuse", "enforce_at_login"}``;
- ``two_step_enforced``: a ``settings/security.two_step_verification_enforcement`` policy
  enforces 2-Step Verification (its ``enforcedFrom`` is set).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clamp.model import Provider, Resource, ResourceType

PASSWORD = "settings/security.password"
TWO_STEP = "settings/security.two_step_verification_enforcement"
DAY = 86400


def customer_resource(customer: str, policies: Sequence[Mapping[str, Any]]) -> Resource:
    """The customer Resource from its Policy API objects."""
    return Resource(
        id=f"customer:{customer}",
        provider=Provider.GCP,
        type=ResourceType.GOOGLE_CUSTOMER,
        name=customer,
        scope=f"customer:{customer}",
        facets=customer_facets(policies),
        raw={"customer": customer, "policies": list(policies)},
    )


def _seconds(duration: Any) -> int:
    text = str(duration or "0s").rstrip("s")
    return int(float(text or 0))


def customer_facets(policies: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The facets of a customer from its policies (see the module docstring)."""
    password = []
    enforced = False
    for policy in policies:
        setting = policy.get("setting") or {}
        value = setting.get("value") or {}
        if setting.get("type") == PASSWORD:
            expiry = _seconds(value.get("expirationDuration"))
            password.append(
                {
                    "org_unit": str((policy.get("policyQuery") or {}).get("orgUnit", "")),
                    "min_length": int(value.get("minimumLength") or 8),
                    "strength": str(value.get("allowedStrength") or "WEAK"),
                    "expiry_days": expiry // DAY if expiry else None,
                    "allow_reuse": bool(value.get("allowReuse")),
                    "enforce_at_login": bool(value.get("enforceRequirementsAtLogin")),
                }
            )
        elif setting.get("type") == TWO_STEP and value.get("enforcedFrom"):
            enforced = True
    return {"password": tuple(password), "two_step_enforced": enforced}

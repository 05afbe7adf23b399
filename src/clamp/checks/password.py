"""Account password policy against the configured baseline (``clamp.baseline``).

One finding per Microsoft Entra tenant or Google Cloud Identity / Workspace customer whose
settings miss an item of the baseline that it can change. ``details.items`` lists every baseline item as ``met``, ``not met`` or
``not enforceable by API`` with what was seen — Entra's complexity rules for cloud accounts
are fixed by Microsoft (8 to 256 characters, 3 of 4 character classes, no reuse of the
current password), so Clamp reports them as such instead of pretending they can be set.
Federated domains take their password policy from their identity provider. Google lets
a customer set length, strength, expiry, reuse of the previous password and enforcement at
sign-in per org unit (an item is met only if every org unit's policy meets it); lockout is
Google's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from clamp.baseline import PasswordBaseline
from clamp.checks.interface import CHECKS, Check, Inventory
from clamp.model import Finding, Resource, ResourceType, Severity


class ItemStatus(StrEnum):
    """How a baseline item stands on a tenant or customer."""

    MET = "met"
    NOT_MET = "not met"
    NOT_ENFORCEABLE = "not enforceable by API"
    """Reported only: the identity plane offers no API to change it."""


MET, NOT_MET, NOT_ENFORCEABLE = ItemStatus.MET, ItemStatus.NOT_MET, ItemStatus.NOT_ENFORCEABLE
ENTRA_LENGTH = "Microsoft Entra fixes cloud-account passwords at 8 to 256 characters"
ENTRA_CLASSES = "Microsoft Entra requires 3 of 4 character classes (upper, lower, digit, symbol)"
ENTRA_REUSE = "Microsoft Entra only blocks reusing the current password"


def _item(name: str, status: ItemStatus, detail: str) -> dict[str, str]:
    return {"item": name, "status": str(status), "detail": detail}


def entra_items(tenant: Resource, baseline: PasswordBaseline) -> list[dict[str, str]]:
    """Every baseline item, judged on a tenant's facets."""
    f = tenant.facets
    items = [
        _item(f"minimum length {baseline.min_length}", NOT_ENFORCEABLE, ENTRA_LENGTH),
        _item("character classes", NOT_ENFORCEABLE, ENTRA_CLASSES),
        _item(f"no reuse of the last {baseline.prevent_reuse}", NOT_ENFORCEABLE, ENTRA_REUSE),
    ]
    for domain in f["domains"]:
        name = f"expiry on {domain['name']}"
        days = domain["validity_days"]
        seen = "never expires" if days is None else f"expires after {days} days"
        if not domain["managed"]:
            items.append(_item(name, NOT_ENFORCEABLE, "federated: set by the identity provider"))
        elif baseline.expires:
            ok = days is not None and days <= int(baseline.max_age_days)
            items.append(
                _item(
                    name, MET if ok else NOT_MET, f"{seen}; baseline {baseline.max_age_days} days"
                )
            )
        else:
            items.append(
                _item(
                    name,
                    MET if days is None else NOT_MET,
                    f"{seen}; baseline: never (NIST SP 800-63B)",
                )
            )
    threshold = f["lockout_threshold"]
    items.append(
        _item(
            f"lockout after {baseline.lockout_threshold} failed attempts",
            MET if threshold <= baseline.lockout_threshold else NOT_MET,
            f"smart lockout after {threshold}",
        )
    )
    if baseline.require_mfa:
        items.append(
            _item(
                "MFA for everyone",
                MET if f["mfa"] else NOT_MET,
                f["mfa"]
                or "neither security defaults nor a Conditional Access policy for all users",
            )
        )
    return items


GOOGLE_LOCKOUT = "Google manages sign-in challenges and lockout itself; no setting exists"
GOOGLE_REUSE = "Google can only block reusing the previous password"


def _worst(policies: list[dict[str, Any]], ok: Any, describe: Any) -> tuple[bool, str]:
    """Met only if every org unit's policy meets it; the detail names those that do not."""
    failing = [p for p in policies if not ok(p)]
    shown = failing or policies
    return not failing, "; ".join(f"{p['org_unit'] or 'root'}: {describe(p)}" for p in shown)


def google_items(customer: Resource, baseline: PasswordBaseline) -> list[dict[str, str]]:
    """Every baseline item, judged on a Cloud Identity customer's password policies."""
    policies = list(customer.facets["password"])
    if not policies:
        policies = [
            {
                "org_unit": "",
                "min_length": 8,
                "strength": "WEAK",
                "expiry_days": None,
                "allow_reuse": True,
                "enforce_at_login": False,
            }
        ]  # Google's defaults when no policy is set
    checks: list[tuple[str, Any, Any]] = [
        (
            f"minimum length {baseline.min_length}",
            lambda p: p["min_length"] >= baseline.min_length,
            lambda p: f"minimum {p['min_length']}",
        ),
        (
            "character classes",
            lambda p: p["strength"] == "STRONG",
            lambda p: f"strength {p['strength']}",
        ),
        (
            "enforced at next sign-in",
            lambda p: p["enforce_at_login"],
            lambda p: "enforced" if p["enforce_at_login"] else "not enforced",
        ),
    ]
    if baseline.expires:
        checks.append(
            (
                f"expiry after {baseline.max_age_days} days",
                lambda p: (
                    p["expiry_days"] is not None and p["expiry_days"] <= int(baseline.max_age_days)
                ),
                lambda p: "never" if p["expiry_days"] is None else f"{p['expiry_days']} days",
            )
        )
    else:
        checks.append(
            (
                "no forced expiry (NIST SP 800-63B)",
                lambda p: p["expiry_days"] is None,
                lambda p: "never" if p["expiry_days"] is None else f"{p['expiry_days']} days",
            )
        )
    items = []
    for name, ok, describe in checks:
        met, detail = _worst(policies, ok, describe)
        items.append(_item(name, MET if met else NOT_MET, detail))
    reuse_met, reuse = _worst(
        policies,
        lambda p: not p["allow_reuse"],
        lambda p: "reuse allowed" if p["allow_reuse"] else "reuse blocked",
    )
    items.append(
        _item(
            f"no reuse of the last {baseline.prevent_reuse}",
            NOT_MET if not reuse_met else MET if baseline.prevent_reuse <= 1 else NOT_ENFORCEABLE,
            reuse if not reuse_met or baseline.prevent_reuse <= 1 else f"{reuse}; {GOOGLE_REUSE}",
        )
    )
    items.append(
        _item(
            f"lockout after {baseline.lockout_threshold} failed attempts",
            NOT_ENFORCEABLE,
            GOOGLE_LOCKOUT,
        )
    )
    if baseline.require_mfa:
        enforced = customer.facets["two_step_enforced"]
        items.append(
            _item(
                "MFA for everyone",
                MET if enforced else NOT_MET,
                "2-Step Verification enforced" if enforced else "2-Step Verification not enforced",
            )
        )
    return items


@CHECKS.register("password-policy-weak")
class PasswordPolicyWeak(Check):
    """The tenant's password policy misses the baseline where it could meet it."""

    id = "password-policy-weak"
    title = "Account password policy is weaker than the baseline"
    severity = Severity.MEDIUM
    rationale = (
        "Weak, never-changing passwords without lockout or MFA are how most accounts are "
        "taken over; the baseline is what the organisation decided to require."
    )

    def evaluate(self, inventory: Inventory) -> Iterator[Finding]:
        """A finding per tenant or customer with an item not met."""
        baseline = self.settings.password_baseline
        judged = [
            *((t, entra_items(t, baseline)) for t in inventory.of_type(ResourceType.ENTRA_TENANT)),
            *(
                (c, google_items(c, baseline))
                for c in inventory.of_type(ResourceType.GOOGLE_CUSTOMER)
            ),
        ]
        for tenant, items in judged:
            unmet = [i for i in items if i["status"] == NOT_MET]
            if not unmet:
                continue
            mfa = any(i["item"] == "MFA for everyone" for i in unmet)
            details: dict[str, Any] = {"items": items, "not_met": [i["item"] for i in unmet]}
            yield Finding(
                self.id,
                tenant.provider,
                tenant.id,
                tenant.scope,
                Severity.HIGH if mfa else self.severity,
                f"{'tenant' if tenant.type == ResourceType.ENTRA_TENANT else 'customer'} "
                f"{tenant.name}: {', '.join(details['not_met'])} not met",
                details,
            )

"""A Google customer's password policy (pure): the Cloud Identity Policy API is read only
for it, so every gap is console steps and the plan is refused with them."""

from __future__ import annotations

from collections.abc import Sequence

from clamp.baseline import PasswordBaseline
from clamp.errors import PlanRefused
from clamp.model import Change, Provider, Resource, ResourceType
from clamp.providers.password import MFA, PasswordChanges, PasswordFixes


class GoogleCustomerPasswordChanges(PasswordChanges):
    """No change: the Google Admin console steps for every unmet item."""

    provider = Provider.GCP
    tenant_type = ResourceType.GOOGLE_CUSTOMER
    noun = "customer"

    def fixes(
        self, tenant: Resource, unmet: Sequence[str], baseline: PasswordBaseline
    ) -> PasswordFixes:
        """Always refused, with the console steps (``unmet`` in the check's order)."""
        raise PlanRefused(steps(tenant, unmet, baseline))

    def describe(self, change: Change) -> str:
        """Never called: no change is made."""
        raise PlanRefused(f"Clamp makes no {change.type} change on a Google customer")


def steps(customer: Resource, unmet: Sequence[str], baseline: PasswordBaseline) -> str:
    """The console steps that close a Google customer's baseline gaps, in words."""
    mfa = MFA in unmet
    rest = [item for item in unmet if item != MFA]
    listed_steps = []
    if rest:
        expiry = (
            f"Password reset frequency {baseline.max_age_days} days"
            if baseline.expires
            else "Password reset frequency Never expires"
        )
        listed_steps.append(
            "Google Admin console → Security → Authentication → Password management → "
            f"(each org unit) → Enforce strong password; Minimum length {baseline.min_length}; "
            "Enforce password policy at next sign-in; Allow password reuse off; "
            f"{expiry} → Save (fixes: {', '.join(rest)})"
        )
    if mfa:
        listed_steps.append(
            "Google Admin console → Security → Authentication → 2-step verification → "
            "Allow users to turn on 2-Step Verification; Enforcement On (from a date) → Save"
        )
    listed = "; ".join(f"({n}) {text}" for n, text in enumerate(listed_steps, start=1))
    return (
        f"Clamp reads customer {customer.name}'s password policy through the Cloud Identity "
        f"Policy API but changes it only by these manual steps: {listed}"
    )

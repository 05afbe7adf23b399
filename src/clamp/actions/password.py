"""``apply_password_policy``: bring a tenant's password settings to the baseline where the
API allows it, and say exactly what a human must do for the rest.

Google Workspace / Cloud Identity: the Policy API is read; every gap is listed as console
steps and the plan is refused, so nothing looks fixed that is not.

Microsoft Entra (Graph): password expiry per managed domain
(``passwordValidityPeriodInDays``) and the smart-lockout threshold (Password Rule
Settings). MFA for everyone is a decision with a blast radius of its own (security defaults
or Conditional Access), so it is a manual step with the console path, as is everything
Microsoft fixes. The plan lists those steps; verification accepts the finding staying open
only for them (``Plan.accepts``). A plan with no API change is refused with the steps —
never a silent no-op.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.interface import INTENTS, NO_PARAMS, Category, Intent
from clamp.actions.params import checked_params
from clamp.checks.password import NOT_MET, entra_items, google_items
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Change, ChangeOp, Finding, Plan, Provider, Resource, ResourceType
from clamp.providers.azure.normalize_entra import NEVER_EXPIRES, password_rules

MANUAL_MFA = (
    "require MFA for everyone: Microsoft Entra admin center → Identity → Overview → "
    "Properties → Manage security defaults → Enabled; or Protection → Conditional Access → "
    "New policy: Users = All users, Target resources = All cloud apps, Grant = Require "
    "multifactor authentication"
)
MANUAL_LOCKOUT = (
    "set the lockout threshold: Microsoft Entra admin center → Protection → Authentication "
    "methods → Password protection → Lockout threshold"
)


@INTENTS.register("apply_password_policy")
class ApplyPasswordPolicy(Intent):
    """Apply the password baseline where the identity API allows; list the manual rest."""

    name = "apply_password_policy"
    category = Category.REMEDIATION
    reversible = True
    fixes = ("password-policy-weak",)
    preferred = fixes
    params_schema: ClassVar[Mapping[str, Any]] = NO_PARAMS
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        # Microsoft Graph application permissions (admin consent).
        Provider.AZURE: ("Domain.ReadWrite.All", "Directory.ReadWrite.All"),
    }

    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """Domain expiry and lockout changes; MFA and fixed items as manual steps."""
        checked_params(self.name, self.params_schema, params)
        baseline = settings.password_baseline
        if resource.type == ResourceType.GOOGLE_CUSTOMER:
            raise PlanRefused(google_steps(resource, settings))
        if resource.type != ResourceType.ENTRA_TENANT:
            raise PlanRefused(f"apply_password_policy cannot change a {resource.type}")
        unmet = {i["item"] for i in entra_items(resource, baseline) if i["status"] == NOT_MET}
        changes: list[Change] = []
        manual: dict[str, str] = {}
        validity = NEVER_EXPIRES if not baseline.expires else int(baseline.max_age_days)
        for domain in resource.raw.get("domains") or []:
            if f"expiry on {domain.get('id')}" not in unmet:
                continue
            before = {
                "id": domain.get("id"),
                "passwordValidityPeriodInDays": domain.get("passwordValidityPeriodInDays"),
                "passwordNotificationWindowInDays": domain.get("passwordNotificationWindowInDays"),
            }
            after = {**before, "passwordValidityPeriodInDays": validity}
            if baseline.expires:
                after["passwordNotificationWindowInDays"] = min(14, validity)
            changes.append(
                Change(
                    ChangeOp.UPDATE,
                    f"{resource.id}/domains/{domain.get('id')}",
                    "graph#domain",
                    before,
                    after,
                    "DomainItemRequestBuilder.patch",
                )
            )
        lockout = f"lockout after {baseline.lockout_threshold} failed attempts"
        if lockout in unmet:
            rules = password_rules(resource.raw)
            if rules is None:
                manual[lockout] = MANUAL_LOCKOUT
            else:
                before = {"id": rules.get("id"), "values": copy.deepcopy(rules.get("values"))}
                values = [
                    {**v, "value": str(baseline.lockout_threshold)}
                    if v.get("name") == "LockoutThreshold"
                    else dict(v)
                    for v in rules.get("values") or []
                ]
                changes.append(
                    Change(
                        ChangeOp.UPDATE,
                        f"{resource.id}/groupSettings/{rules.get('id')}",
                        "graph#groupSetting",
                        before,
                        {**before, "values": values},
                        "GroupSettingItemRequestBuilder.patch",
                    )
                )
        if "MFA for everyone" in unmet:
            manual["MFA for everyone"] = MANUAL_MFA
        steps = "; ".join(f"({n}) {text}" for n, text in enumerate(manual.values(), start=1))
        if not changes:
            raise PlanRefused(
                "nothing in this baseline gap can be changed through the API; do it by hand: "
                + steps
            )
        words = [f"{c.target.rsplit('/', 1)[-1]}: {_describe(c)}" for c in changes]
        return Plan(
            intent=self.name,
            finding=finding.id,
            resource=resource.id,
            provider=resource.provider,
            summary=f"tenant {resource.name}: "
            + "; ".join(words)
            + (f"; MANUAL STEPS remain: {steps}" if manual else ""),
            changes=tuple(changes),
            reversible=True,
            blast_radius=(
                "users of the changed domains must change passwords older than the new expiry "
                "at their next sign-in; accounts lock after fewer failed attempts"
            ),
            permissions=self.permissions[resource.provider],
            accepts=tuple(manual),
        )


def google_steps(customer: Resource, settings: Settings) -> str:
    """The console steps that close a Google customer's baseline gaps, in words."""
    baseline = settings.password_baseline
    unmet = [i["item"] for i in google_items(customer, baseline) if i["status"] == NOT_MET]
    mfa = "MFA for everyone" in unmet
    unmet = [item for item in unmet if item != "MFA for everyone"]
    steps = []
    if unmet:
        expiry = (
            f"Password reset frequency {baseline.max_age_days} days"
            if baseline.expires
            else "Password reset frequency Never expires"
        )
        steps.append(
            "Google Admin console → Security → Authentication → Password management → "
            f"(each org unit) → Enforce strong password; Minimum length {baseline.min_length}; "
            "Enforce password policy at next sign-in; Allow password reuse off; "
            f"{expiry} → Save (fixes: {', '.join(unmet)})"
        )
    if mfa:
        steps.append(
            "Google Admin console → Security → Authentication → 2-step verification → "
            "Allow users to turn on 2-Step Verification; Enforcement On (from a date) → Save"
        )
    listed = "; ".join(f"({n}) {text}" for n, text in enumerate(steps, start=1))
    return (
        f"Clamp reads customer {customer.name}'s password policy through the Cloud Identity "
        f"Policy API but changes it only by these manual steps: {listed}"
    )


def _describe(change: Change) -> str:
    after = change.after or {}
    if change.type == "graph#domain":
        days = after.get("passwordValidityPeriodInDays")
        return (
            "passwords never expire"
            if days == NEVER_EXPIRES
            else f"passwords expire after {days} days"
        )
    threshold = next(
        (v.get("value") for v in after.get("values") or [] if v.get("name") == "LockoutThreshold"),
        "?",
    )
    return f"lockout after {threshold} failed attempts"

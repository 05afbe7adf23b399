"""A Microsoft Entra tenant's password policy in Graph's shapes (pure: the PATCHes
``EntraService`` applies).

Password expiry is per managed domain (``passwordValidityPeriodInDays``, with the
notification window), changed by ``DomainItemRequestBuilder.patch``; the smart-lockout
threshold is the ``LockoutThreshold`` value of the tenant's Password Rule Settings group
setting, changed by ``GroupSettingItemRequestBuilder.patch`` (a manual step when the
tenant has no such setting). MFA for everyone is security defaults or Conditional Access:
console steps.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from clamp.baseline import PasswordBaseline
from clamp.model import Change, ChangeOp, ChangeType, Provider, Resource, ResourceType
from clamp.providers.azure.normalize_entra import NEVER_EXPIRES, password_rules
from clamp.providers.password import MFA, PasswordChanges, PasswordFixes

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
EFFECTS = (
    "users of the changed domains must change passwords older than the new expiry "
    "at their next sign-in; accounts lock after fewer failed attempts"
)


class EntraPasswordChanges(PasswordChanges):
    """Domain expiry and lockout threshold PATCHes; MFA as console steps."""

    provider = Provider.AZURE
    tenant_type = ResourceType.ENTRA_TENANT
    noun = "tenant"

    def fixes(
        self, tenant: Resource, unmet: Sequence[str], baseline: PasswordBaseline
    ) -> PasswordFixes:
        """Each unmet domain's expiry, the lockout threshold, and MFA as a manual step."""
        changes: list[Change] = []
        manual: dict[str, str] = {}
        validity = NEVER_EXPIRES if not baseline.expires else int(baseline.max_age_days)
        for domain in tenant.raw.get("domains") or []:
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
                    f"{tenant.id}/domains/{domain.get('id')}",
                    ChangeType.ENTRA_DOMAIN,
                    before,
                    after,
                    "DomainItemRequestBuilder.patch",
                )
            )
        lockout = f"lockout after {baseline.lockout_threshold} failed attempts"
        if lockout in unmet:
            rules = password_rules(tenant.raw)
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
                        f"{tenant.id}/groupSettings/{rules.get('id')}",
                        ChangeType.ENTRA_SETTING,
                        before,
                        {**before, "values": values},
                        "GroupSettingItemRequestBuilder.patch",
                    )
                )
        if MFA in unmet:
            manual[MFA] = MANUAL_MFA
        return PasswordFixes(tuple(changes), manual, EFFECTS)

    def describe(self, change: Change) -> str:
        """``passwords expire after N days`` / ``… never expire``, ``lockout after N …``."""
        after = change.after or {}
        if change.type == ChangeType.ENTRA_DOMAIN:
            days = after.get("passwordValidityPeriodInDays")
            return (
                "passwords never expire"
                if days == NEVER_EXPIRES
                else f"passwords expire after {days} days"
            )
        threshold = next(
            (
                v.get("value")
                for v in after.get("values") or []
                if v.get("name") == "LockoutThreshold"
            ),
            "?",
        )
        return f"lockout after {threshold} failed attempts"

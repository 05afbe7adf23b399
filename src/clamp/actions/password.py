"""``apply_password_policy``: bring a tenant's password settings to the baseline where the
API allows it, and say exactly what a human must do for the rest.

Which items a tenant misses is the check's verdict (``clamp.checks.password``); what can be
changed, and how, is the cloud's (``PasswordChanges``, ``clamp.providers.password``):

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

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.interface import INTENTS, NO_PARAMS, Category, Intent
from clamp.actions.params import checked_params
from clamp.baseline import PasswordBaseline
from clamp.checks.password import NOT_MET, entra_items, google_items
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Finding, Plan, Provider, Resource, ResourceType
from clamp.providers.factory import password_changes

# The check's verdict on each kind of tenant: its baseline items and their status.
ITEMS: dict[ResourceType, Callable[[Resource, PasswordBaseline], list[dict[str, str]]]] = {
    ResourceType.ENTRA_TENANT: entra_items,
    ResourceType.GOOGLE_CUSTOMER: google_items,
}


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
        policy = password_changes(resource.provider)
        if resource.type != policy.tenant_type:
            raise PlanRefused(f"apply_password_policy cannot change a {resource.type}")
        items = ITEMS[resource.type](resource, baseline)
        unmet = [i["item"] for i in items if i["status"] == NOT_MET]
        fixes = policy.fixes(resource, unmet, baseline)
        changes, manual = fixes.changes, fixes.manual
        steps = "; ".join(f"({n}) {text}" for n, text in enumerate(manual.values(), start=1))
        if not changes:
            raise PlanRefused(
                "nothing in this baseline gap can be changed through the API; do it by hand: "
                + steps
            )
        words = [f"{c.target.rsplit('/', 1)[-1]}: {policy.describe(c)}" for c in changes]
        return Plan(
            intent=self.name,
            finding=finding.id,
            resource=resource.id,
            provider=resource.provider,
            summary=f"{policy.noun} {resource.name}: "
            + "; ".join(words)
            + (f"; MANUAL STEPS remain: {steps}" if manual else ""),
            changes=changes,
            reversible=True,
            blast_radius=fixes.effects,
            permissions=self.permissions[resource.provider],
            accepts=tuple(manual),
        )

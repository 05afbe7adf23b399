"""An example Clamp plugin: ``disable_firewall_rule``, a custom remediation intent.

How a plugin intent is written
------------------------------
Subclass ``clamp.actions.interface.Intent`` and declare, as class attributes:

- ``name``: how users call it (``clamp fix FINDING --intent NAME``, rules, playbooks);
  unique across Clamp and every installed plugin.
- ``category``: ``Category.REMEDIATION`` (fixes findings; the remediator role) or
  ``Category.CONTAINMENT`` (acts on a VM during an incident; the responder role).
- ``reversible``: whether ``clamp undo`` can restore the before-image. ``irreversible``
  (default False) marks a change that can never be taken back.
- ``fixes``: the check ids whose findings it fixes (``clamp checks`` lists them).
- ``params_schema``: a small JSON Schema object; keep ``additionalProperties: False`` so
  a typo is an error. Validate with ``clamp.actions.params.checked_params``.
- ``permissions``: per ``Provider``, the cloud permissions the change needs. A provider
  that is not listed is not supported: refuse it in ``plan``.
- a class docstring: Clamp shows it as the intent's description.

``plan(finding, resource, params, settings, context)`` is pure: no I/O. ``resource`` is
the finding's resource read from the cloud just now (``resource.raw`` is the object as
the cloud API returns it). Return a ``Plan`` whose ``changes`` carry the exact before and
after images in the shape the provider driver applies; the engine journals, writes through
the driver (with the cloud's optimistic concurrency), re-reads to verify the finding is
gone, and undoes by applying the inverse changes. Raise ``PlanRefused`` (with a ``hint``)
when no safe plan exists and ``InputError`` for bad parameters.

How it is registered
--------------------
In the plugin's ``pyproject.toml``::

    [project.entry-points."clamp.intents"]
    disable_firewall_rule = "clamp_example_plugin:DisableFirewallRule"

``import clamp.actions`` loads every entry point of the group and registers the class
under its ``name``; a plugin that fails to import, is not an ``Intent`` subclass or
reuses a taken name is a ``ConfigError`` naming it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.interface import Category, Intent
from clamp.actions.params import checked_params
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Change, ChangeOp, Finding, Plan, Provider, Resource, ResourceType
from clamp.providers.gcp.firewall_changes import FIREWALL_TYPE, UPDATE

__all__ = ["DisableFirewallRule"]

NARROW = "to close only the internet, use `clamp fix FINDING --intent restrict_ingress`"
ON_AZURE = "Azure NSG rules have no off switch: use `clamp fix FINDING --intent restrict_ingress`"


class DisableFirewallRule(Intent):
    """Disable the Google Cloud VPC firewall rule of the finding (kept, never deleted)."""

    name = "disable_firewall_rule"
    category = Category.REMEDIATION
    reversible = True
    fixes = ("exposed-admin-port", "exposed-database-port")
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "reason": {
                "type": "string",
                "description": "why the rule is disabled, shown in the plan summary",
            },
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.GCP: (
            "compute.firewalls.get",
            "compute.firewalls.update",
            "compute.networks.updatePolicy",
            "compute.globalOperations.get",
        ),
    }

    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """One update that sets ``disabled: true`` on the finding's firewall (pure, no I/O)."""
        checked = checked_params(self.name, self.params_schema, params)
        if finding.check not in self.fixes:
            raise PlanRefused(f"{self.name} does not fix {finding.check!r}")
        if resource.type != ResourceType.GCP_FIREWALL:
            raise PlanRefused(
                f"{self.name} disables Google Cloud VPC firewall rules; it cannot change a "
                f"{resource.type} ({resource.name})",
                hint=ON_AZURE,
            )
        if finding.resource.lower() != resource.id.lower():
            raise PlanRefused(f"{resource.id} is not the resource of finding {finding.id}")
        firewall = resource.raw
        if firewall.get("disabled"):
            raise PlanRefused(
                f"firewall {resource.name} is already disabled; run `clamp scan`", hint=NARROW
            )
        if not firewall.get("allowed"):
            raise PlanRefused(
                f"firewall {resource.name} is not an allow rule; disabling it would let traffic in",
                hint=NARROW,
            )
        before = copy.deepcopy(dict(firewall))
        after = {**copy.deepcopy(dict(firewall)), "disabled": True}
        reason = str(checked.get("reason") or "").strip()
        return Plan(
            intent=self.name,
            finding=finding.id,
            resource=resource.id,
            provider=resource.provider,
            summary=f"disable firewall {resource.name} (kept, not deleted)"
            + (f": {reason}" if reason else ""),
            changes=(Change(ChangeOp.UPDATE, resource.id, FIREWALL_TYPE, before, after, UPDATE),),
            reversible=True,
            blast_radius=_blast_radius(firewall, finding),
            permissions=self.permissions[Provider.GCP],
            params={"reason": reason} if reason else {},
        )


def _blast_radius(firewall: Mapping[str, Any], finding: Finding) -> str:
    """Every source and port the rule allowed stops being allowed, to every target."""
    name = firewall.get("name", "?")
    sources = [
        *(str(r) for r in firewall.get("sourceRanges") or ()),
        *(f"tag {t}" for t in firewall.get("sourceTags") or ()),
        *(f"service account {a}" for a in firewall.get("sourceServiceAccounts") or ()),
    ]
    allowed = [
        f"{entry.get('IPProtocol', '?')}:{','.join(entry['ports'])}"
        if entry.get("ports")
        else f"{entry.get('IPProtocol', '?')} (all ports)"
        for entry in firewall.get("allowed") or ()
    ]
    targets = [
        *(f"tag {t}" for t in firewall.get("targetTags") or ()),
        *(f"service account {a}" for a in firewall.get("targetServiceAccounts") or ()),
    ]
    reached = finding.details.get("reaches_total")
    if not isinstance(reached, int):
        reached = len(finding.details.get("reaches") or ())
    return "; ".join(
        (
            f"every source and port of firewall {name} stops being allowed: "
            f"{' '.join(allowed)} from {', '.join(sources) or 'any source'}",
            f"it applied to {', '.join(targets) or 'every instance of its network'} "
            f"({reached} instance{'' if reached == 1 else 's'} at the last scan)",
            "traffic those instances also get through other firewall rules is unchanged",
            "the rule is kept, disabled; undo enables it again",
        )
    )

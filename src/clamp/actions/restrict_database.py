"""``restrict_database_access``: close a managed database's public endpoint to the internet.

Two ways, both reversible:
- ``mode=narrow`` (default): remove the offending firewall rules / authorized networks (the
  ones ``clamp.database_exposure`` names: the widest until the rest no longer admit the
  internet, and Azure's "Azure services" rule); ``--allow CIDR`` admits those networks
  instead. Rules naming networks stay. Undo re-creates exactly what was removed.
- ``mode=disable_public``: public network access off (Azure) / no public IP (Cloud SQL);
  the blast radius says who loses access and whether a private path remains.

The cloud's changes come from its ``DatabaseChanges`` (``clamp.providers.database_changes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from clamp.actions.ingress_common import checked_cidr, plural
from clamp.actions.interface import INTENTS, Category, Intent
from clamp.actions.params import checked_params
from clamp.address_space import cidr_span, is_internet_wide
from clamp.config import Settings
from clamp.database_exposure import AccessRule, DatabaseExposure, exposure_of
from clamp.errors import InputError, PlanRefused
from clamp.model import Finding, Plan, Provider, Resource
from clamp.providers.factory import database_changes

GONE = "the database no longer admits the internet; run `clamp scan`"
MODES = ("narrow", "disable_public")
AZURE_ENGINES = (
    "Microsoft.Sql/servers",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.DBforMySQL/flexibleServers",
)


def allowed_networks(params: Mapping[str, Any]) -> list[str]:
    """``allow``: IPv4 CIDRs that keep access, each a network (``checked_cidr``) and all of
    them together not (most of) the internet."""
    raw = params.get("allow") or []
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise InputError("'allow' must be a list of CIDRs, e.g. ['203.0.113.0/24']")
    cidrs = list(dict.fromkeys(checked_cidr(value, "--allow") for value in raw))
    spans = []
    for cidr in cidrs:
        try:
            spans.append(cidr_span(cidr))
        except ValueError:
            raise InputError(
                f"--allow {cidr}: database firewalls and authorized networks take IPv4 ranges"
            ) from None
    if is_internet_wide(spans):
        raise InputError(
            f"--allow {', '.join(cidrs)} together cover more than a /8 of internet addresses; "
            "name narrower ranges"
        )
    return cidrs


@INTENTS.register("restrict_database_access")
class RestrictDatabaseAccess(Intent):
    """Remove or narrow the rules that open a managed database to the internet, or turn its
    public endpoint off."""

    name = "restrict_database_access"
    category = Category.REMEDIATION
    reversible = True
    fixes = ("exposed-database-service",)
    preferred = fixes
    params_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "allow": {
                "type": "array",
                "items": {"type": "string", "format": "cidr"},
                "description": "IPv4 CIDRs admitted instead of the removed rules",
            },
            "mode": {
                "type": "string",
                "enum": list(MODES),
                "default": "narrow",
                "description": "narrow the rules, or disable_public: public access off",
            },
        },
        "additionalProperties": False,
    }
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]] = {
        Provider.AZURE: tuple(
            p
            for engine in AZURE_ENGINES
            for p in (
                f"{engine}/read",
                f"{engine}/write",
                f"{engine}/firewallRules/read",
                f"{engine}/firewallRules/write",
                f"{engine}/firewallRules/delete",
            )
        ),
        Provider.GCP: ("cloudsql.instances.get", "cloudsql.instances.update"),
    }

    @classmethod
    def check_values(cls, params: Mapping[str, Any]) -> None:
        """``allow`` must name networks, never (most of) the internet, and goes with
        ``mode=narrow`` only."""
        checked = checked_params(cls.name, cls.params_schema, params)
        if allowed_networks(checked) and checked["mode"] == "disable_public":
            raise InputError("--allow narrows the rules; mode=disable_public removes them all")

    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """Narrow the rules or turn public access off (pure, no I/O)."""
        self.check_values(params)
        checked = checked_params(self.name, self.params_schema, params)
        allow = allowed_networks(checked)
        cloud = database_changes(resource.provider)
        if resource.type not in cloud.types:
            raise PlanRefused(f"{self.name} cannot change a {resource.type}")
        if finding.resource.lower() != resource.id.lower():
            raise PlanRefused(f"{resource.id} is not the resource of finding {finding.id}")
        exposure = exposure_of(resource.facets)
        if exposure is None:
            raise PlanRefused(GONE)
        f = resource.facets
        what = f"{f['engine']} {resource.name}"
        if checked["mode"] == "disable_public":
            changes = cloud.disable_public(resource)
            summary = f"turn public access off on {what} (was: {f['public_setting']})"
            blast = _public_off_radius(resource)
        else:
            changes = cloud.replace_rules(resource, exposure.offending, allow)
            spans = {(r.lo, r.hi) for r in exposure.kept}
            allow = [c for c in allow if cidr_span(c) not in spans]  # not already kept
            kept = [*exposure.kept, *(AccessRule("allow", *cidr_span(c)) for c in allow)]
            if exposure_of({**f, "rules": tuple(kept)}) is not None:
                raise PlanRefused(f"{self.name} would not close {what} to the internet")
            removed = ", ".join(f"{r.name} ({r.range})" for r in exposure.offending)
            summary = f"remove {removed} from {what}" + (
                f"; admit {', '.join(allow)} instead" if allow else ""
            )
            blast = _narrow_radius(exposure, allow)
        if not changes:
            raise PlanRefused(GONE)
        return Plan(
            intent=self.name,
            finding=finding.id,
            resource=resource.id,
            provider=resource.provider,
            summary=summary,
            changes=changes,
            reversible=True,
            blast_radius=blast,
            permissions=tuple(
                p
                for p in self.permissions[resource.provider]
                if resource.provider != Provider.AZURE or p.startswith(f"{resource.type}/")
            ),
            params=({"allow": allow} if allow else {}) | {"mode": checked["mode"]},
        )


def _narrow_radius(exposure: DatabaseExposure, allow: Sequence[str]) -> str:
    """Who loses access when the offending rules go, and who keeps it."""
    wide = [r for r in exposure.offending if not r.azure_services]
    parts = []
    if wide:
        ranges = ", ".join(r.range for r in wide)
        parts.append(f"clients connecting from {ranges} lose access, unless a kept rule names them")
    if any(r.azure_services for r in exposure.offending):
        parts.append(
            "Azure services (App Service, Functions, Data Factory and other resources of any "
            "tenant without a private endpoint or VNet rule) lose access"
        )
    keep = [f"{r.name} ({r.range})" for r in exposure.kept] + list(allow)
    parts.append(
        f"{', '.join(keep)} keep{'s' if len(keep) == 1 else ''} access"
        if keep
        else "no network keeps access through the public endpoint"
    )
    return "; ".join(parts)


def _public_off_radius(resource: Resource) -> str:
    """Who loses access when the public endpoint goes, and what private path stays."""
    f = resource.facets
    rules = f["rules"] or ()
    verb = "stops" if len(rules) == 1 else "stop"
    parts = [
        "every client reaching the server over its public endpoint loses access"
        + (
            f" ({plural(len(rules), 'rule')} {verb} applying: {', '.join(r.name for r in rules)})"
            if rules
            else ""
        )
    ]
    private = list(f.get("private_access") or ())
    parts.append(
        f"private access stays: {', '.join(private)}"
        if private
        else "⚠ no private endpoint, VNet integration or private IP is configured: nobody can "
        "connect until one is"
    )
    return "; ".join(parts)

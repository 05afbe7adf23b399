"""Who can reach a managed database's public endpoint, as the clouds decide it (pure).

Read by the ``exposed-database-service`` check and by ``restrict_database_access``, so the
planner and the check that verifies it can never disagree. Works on the facets the
collectors give every database server (``providers/azure/normalize_database.py``,
``providers/gcp/normalize_database.py``): ``public_access`` and ``rules`` (the firewall
rules or authorized networks, each an ``AccessRule``).

- Rules apply only while public access is on (Azure ``publicNetworkAccess``; Cloud SQL
  ``ipv4Enabled``: without a public IP, ``authorizedNetworks`` are ignored).
- Public access on with no rule admits nobody.
- Azure's ``0.0.0.0``-``0.0.0.0`` rule (``AllowAllWindowsAzureIps``) means "Azure
  services", not the internet: its own, lower kind of exposure.
- The other rules count together: their union is "the internet" when it covers more than
  ``clamp.address_space.INTERNET_THRESHOLD`` public addresses (``0.0.0.0/1`` with
  ``128.0.0.0/1`` is the whole of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from clamp.address_space import is_internet_wide, public_addresses, share_of_internet, span_text


class ExposureKind(StrEnum):
    """Who a database's public endpoint admits beyond named networks."""

    INTERNET = "internet"
    AZURE_SERVICES = "azure-services"


@dataclass(frozen=True, slots=True)
class AccessRule:
    """One firewall rule or authorized network: its name and the IPv4 span it admits."""

    name: str
    lo: int
    hi: int

    @property
    def range(self) -> str:
        """The span in a user's words (a CIDR when it is one)."""
        return span_text(self.lo, self.hi)

    @property
    def azure_services(self) -> bool:
        """Azure's "allow Azure services" rule: start and end ``0.0.0.0``."""
        return self.lo == 0 and self.hi == 0


@dataclass(frozen=True, slots=True)
class DatabaseExposure:
    """What a server's public endpoint admits: the kind, the rules that cause it (what a
    fix removes) and the rules that name networks (what a fix keeps)."""

    kind: ExposureKind
    offending: tuple[AccessRule, ...]
    kept: tuple[AccessRule, ...]
    covers: str


def offending_rules(rules: Iterable[AccessRule]) -> tuple[AccessRule, ...]:
    """The rules to remove so the rest no longer admit the internet: the widest first
    (by public addresses, then name) until what is left is under the threshold; plus
    Azure's "Azure services" rule, which admits every Azure tenant's resources."""
    ranked = sorted(
        (r for r in rules if not r.azure_services),
        key=lambda r: (-public_addresses([(r.lo, r.hi)]), r.name),
    )
    removed: list[AccessRule] = []
    while ranked and is_internet_wide((r.lo, r.hi) for r in ranked):
        removed.append(ranked.pop(0))
    services = [r for r in rules if r.azure_services]
    return (*removed, *services)


def exposure_of(facets: Mapping[str, Any]) -> DatabaseExposure | None:
    """The exposure of a server with these facets, or None when its public endpoint admits
    only named networks (or is off, or its rules were not read)."""
    rules: tuple[AccessRule, ...] | None = facets.get("rules")
    if not facets.get("public_access") or not rules:
        return None
    wide = [r for r in rules if not r.azure_services]
    spans = [(r.lo, r.hi) for r in wide]
    if is_internet_wide(spans):
        kind = ExposureKind.INTERNET
    elif any(r.azure_services for r in rules):
        kind = ExposureKind.AZURE_SERVICES
    else:
        return None
    offending = offending_rules(rules)
    kept = tuple(r for r in rules if r not in offending)
    return DatabaseExposure(kind, offending, kept, share_of_internet(spans))

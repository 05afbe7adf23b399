"""Managed databases whose public endpoint admits the internet (or every Azure tenant).

One finding per Azure SQL logical server, Azure Database for PostgreSQL / MySQL flexible
server and Cloud SQL instance, judged by ``clamp.database_exposure``: firewall rules and
authorized networks count only while public access is on, together, and a union covering
more public addresses than a /8 is the internet; Azure's ``0.0.0.0`` rule ("allow Azure
services") is its own, lower kind (``details.kind``: ``internet`` or ``azure-services``).

``details`` names the rules or networks and their ranges (``rules``, each with what it
does; ``offending``: the names a fix removes), how much of the internet they cover, the
public access setting, any private path, and whether TLS is required (``tls_required``:
true / false / null when not read). An internet exposure without required TLS is critical.
"""

from __future__ import annotations

from collections.abc import Iterator

from clamp.checks.interface import CHECKS, Check, Inventory
from clamp.database_exposure import ExposureKind, exposure_of
from clamp.model import Finding, Resource, ResourceType, Severity

DATABASE_TYPES = (
    ResourceType.AZURE_SQL_SERVER,
    ResourceType.AZURE_POSTGRES_SERVER,
    ResourceType.AZURE_MYSQL_SERVER,
    ResourceType.CLOUD_SQL_INSTANCE,
)


@CHECKS.register("exposed-database-service")
class ExposedDatabaseService(Check):
    """A managed database reachable from the internet through its public endpoint."""

    id = "exposed-database-service"
    title = "Managed database open to the internet"
    severity = Severity.HIGH
    rationale = (
        "Internet-reachable database endpoints are scanned within minutes and brute-forced; "
        "only the networks that need them should be admitted."
    )

    def evaluate(self, inventory: Inventory) -> Iterator[Finding]:
        """One finding per exposed server or instance."""
        for kind in DATABASE_TYPES:
            for resource in inventory.of_type(kind):
                finding = self.finding(resource)
                if finding is not None:
                    yield finding

    def finding(self, resource: Resource) -> Finding | None:
        """The finding on one server, or None when only named networks can reach it."""
        f = resource.facets
        exposure = exposure_of(f)
        if exposure is None:
            return None
        offending = {r.name for r in exposure.offending}
        if exposure.kind == ExposureKind.INTERNET:
            severity = Severity.CRITICAL if f.get("tls_required") is False else Severity.HIGH
            what = f"open to the internet ({exposure.covers})"
        else:
            severity = Severity.MEDIUM
            what = "open to every Azure service, of any tenant"
        return Finding(
            check=self.id,
            provider=resource.provider,
            resource=resource.id,
            scope=resource.scope,
            severity=severity,
            title=f"{f['engine']} {resource.name}: {what}",
            details={
                "kind": str(exposure.kind),
                "engine": f["engine"],
                "public_access": f["public_setting"],
                "rules": [
                    {
                        "name": r.name,
                        "range": r.range,
                        "admits": "Azure services"
                        if r.azure_services
                        else "part of the internet"
                        if r.name in offending
                        else "a named network",
                    }
                    for r in f["rules"]
                ],
                "offending": [r.name for r in exposure.offending],
                "ranges": [r.range for r in exposure.offending if not r.azure_services],
                "covers": exposure.covers,
                "private_access": list(f.get("private_access") or ()),
                "tls_required": f.get("tls_required"),
                "tls": f.get("tls", ""),
            },
        )

"""Security Command Center findings (google-cloud-securitycenter, v1 API, REST
transport): the active findings of every source of an organization, as
``ExternalFinding``s for ``clamp import scc``.

``SecurityCenterClient.list_findings`` on ``organizations/O/sources/-`` with the filter
``state="ACTIVE"``; each result carries the finding (``category``, ``resourceName``,
``severity``, ``name``) and the resource it is about (``displayName``, ``projectDisplayName``).
SCC names a resource by its full resource name; where the last segment is a numeric id
(Compute resources may be named so), the resource's display name stands in for it, since
Clamp names Compute resources by name. Needs ``securitycenter.findings.list`` on the
organization (role Security Center Findings Viewer).
"""

from __future__ import annotations

from typing import Any

from google.cloud import securitycenter_v1

from clamp.config import Settings
from clamp.errors import InputError
from clamp.imports.interface import ExternalFinding, Source
from clamp.model import Provider, Severity
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.scc_names import clamp_resource

FINDINGS_LIST = "securitycenter.findings.list"
SEVERITIES = {
    securitycenter_v1.Finding.Severity.CRITICAL: Severity.CRITICAL,
    securitycenter_v1.Finding.Severity.HIGH: Severity.HIGH,
    securitycenter_v1.Finding.Severity.MEDIUM: Severity.MEDIUM,
    securitycenter_v1.Finding.Severity.LOW: Severity.LOW,
}


def active_findings(settings: Settings, organization: str) -> list[ExternalFinding]:
    """Every active finding of ``organization`` (its numeric id, or ``organizations/N``)."""
    org = organization.removeprefix("organizations/")
    if not org.isdigit():
        raise InputError(f"not an organization id: {organization!r} (expected digits)")
    client = securitycenter_v1.SecurityCenterClient(**GcpClients(settings).options)
    request = {"parent": f"organizations/{org}/sources/-", "filter": 'state="ACTIVE"'}
    results = call(
        f"list the Security Command Center findings of organizations/{org}",
        FINDINGS_LIST,
        lambda: list(client.list_findings(request=request)),
    )
    return [_external(r) for r in results]


def _external(result: Any) -> ExternalFinding:
    finding, resource = result.finding, result.resource
    display = str(resource.display_name or "")
    name = clamp_resource(str(finding.resource_name), display)
    return ExternalFinding(
        source=Source.SCC,
        uid=str(finding.name),
        rule=str(finding.category),
        provider=Provider.GCP,
        scope=_project(name) or str(resource.project_display_name or ""),
        resource=name,
        name=display,
        title=str(finding.category),
        severity=SEVERITIES.get(finding.severity),
        extra={"finding_class": finding.finding_class.name, "external_uri": finding.external_uri},
    )


def _project(name: str) -> str:
    parts = name.strip("/").split("/")
    return parts[parts.index("projects") + 1] if "projects" in parts[:-1] else ""

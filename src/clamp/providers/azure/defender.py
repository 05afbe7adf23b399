"""Microsoft Defender for Cloud assessments (azure-mgmt-security, ``assessments`` at
api-version 2021-06-01): the unhealthy ones of a subscription, as ``ExternalFinding``s
for ``clamp import defender``.

``SecurityCenter.assessments.list(scope="/subscriptions/S")`` returns every assessment
of every resource below the subscription: ``name`` (the assessment key, a GUID),
``displayName``, ``status.code`` (``Healthy``, ``Unhealthy``, ``NotApplicable``) and
``resourceDetails`` (``source`` ``Azure``: the assessed resource's ARM ``id``). Only
``Unhealthy`` ones are findings. The list carries no severity (that is in the assessment
metadata), so a mapped finding takes its Clamp check's. Needs
``Microsoft.Security/assessments/read`` (role Security Reader).
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.security import SecurityCenter

from clamp.config import Settings
from clamp.errors import InputError
from clamp.imports.interface import ExternalFinding, Source
from clamp.model import Provider
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import translated

ASSESSMENTS_READ = "Microsoft.Security/assessments/read"


def unhealthy_assessments(
    settings: Settings, subscription: str
) -> tuple[list[ExternalFinding], int]:
    """The unhealthy assessments of ``subscription``, and how many others it has."""
    if not subscription or "/" in subscription:
        raise InputError(f"not a subscription id: {subscription!r}")
    clients = AzureClients(settings)
    client = SecurityCenter(clients.credential, subscription, **clients.options)
    scope = f"/subscriptions/{subscription}"
    with translated(f"list the Defender for Cloud assessments of {scope}", ASSESSMENTS_READ):
        assessments = list(client.assessments.list(scope=scope))
    unhealthy = [a for a in assessments if _code(a) == "unhealthy"]
    return [_external(a, subscription) for a in unhealthy], len(assessments) - len(unhealthy)


def _code(assessment: Any) -> str:
    status = assessment.status
    return str(status.code if status is not None else "").lower()


def _external(assessment: Any, subscription: str) -> ExternalFinding:
    details = assessment.resource_details
    resource = str(getattr(details, "id", "") or "")
    return ExternalFinding(
        source=Source.DEFENDER,
        uid=str(assessment.id),
        rule=str(assessment.name),
        provider=Provider.AZURE,
        scope=subscription,
        resource=resource,
        name=resource.rsplit("/", 1)[-1],
        title=str(assessment.display_name or ""),
        extra={
            "resource_source": str(getattr(details, "source", "") or ""),
            "cause": str(assessment.status.cause or ""),
            "description": str(assessment.status.description or ""),
        },
    )

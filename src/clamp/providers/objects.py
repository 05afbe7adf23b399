"""Collected resources and the cloud API objects they were made of, both ways.

A collector joins some objects into one ``Resource`` (an Azure storage account with its
blob service, containers and locks; a bucket with its IAM policy; a database server with
its firewall rules) and keeps others inside
their parent (a VNet's subnets). Rehearsal needs the objects back to seed a sandbox, and a
playbook run needs a ``Resource`` again from the raw object it recorded; both are cloud
knowledge, so they live here and nowhere above the providers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clamp.model import Provider, Resource, ResourceType
from clamp.providers.azure.admin_assets import admin_parts_of
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.azure.normalize_admin import ENVELOPE
from clamp.providers.gcp.normalize import compute_ref, resources_from_compute
from clamp.providers.gcp.normalize_layers import EFFECTIVE_KIND
from clamp.providers.gcp.policy_assets import policies_of

IDENTITY_PLANE = frozenset({ResourceType.ENTRA_TENANT, ResourceType.GOOGLE_CUSTOMER})
LAYERS_KEPT: dict[str, str] = {
    ResourceType.GCP_NETWORK: EFFECTIVE_KIND,
    ResourceType.AZURE_VNET: ENVELOPE,
}
"""The key under which a network's or VNet's ``raw`` keeps the layers read with it (the
effective firewall policies, the effective security admin rules): not an API field."""
AZURE_DATABASES = frozenset(
    {
        ResourceType.AZURE_SQL_SERVER,
        ResourceType.AZURE_POSTGRES_SERVER,
        ResourceType.AZURE_MYSQL_SERVER,
    }
)


def api_objects(resource_type: str, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cloud objects a resource of ``resource_type`` with this ``raw`` was made of, as
    the APIs return them (none for identity-plane settings, which are not part of a
    resource estate, or for what lives inside another object)."""
    if resource_type in IDENTITY_PLANE or resource_type == ResourceType.AZURE_SUBNET:
        return []
    if resource_type == ResourceType.AZURE_STORAGE_ACCOUNT:
        parts = (
            raw.get("account"),
            raw.get("blobService"),
            *(raw.get("containers") or []),
            *(raw.get("locks") or []),
        )
        return [dict(o) for o in parts if o]
    if resource_type == ResourceType.GCS_BUCKET:
        return [dict(o) for o in (raw.get("bucket"), raw.get("iam")) if o]
    if resource_type in AZURE_DATABASES:
        parts = (
            raw.get("server"),
            *(raw.get("firewallRules") or []),
            *(raw.get("configurations") or []),
        )
        return [dict(o) for o in parts if o]
    if resource_type in LAYERS_KEPT:
        return [{k: v for k, v in raw.items() if k != LAYERS_KEPT[resource_type]}]
    return [dict(raw)]


def layer_envelopes(resource_type: str, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The layers a network or VNet was judged with, as the envelope its normalizer reads
    (none when they were not read, or for other resources)."""
    key = LAYERS_KEPT.get(resource_type)
    envelope = raw.get(key) if key else None
    return [dict(envelope)] if isinstance(envelope, Mapping) else []


def layer_parts(
    provider: Provider, envelopes: Sequence[Mapping[str, Any]], organization: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The objects one scope's stored layers (``layer_envelopes``) were read from, as far
    as they tell, to seed a sandbox: the scope's own (a project's network firewall
    policies, a subscription's network manager parts) and the organization's (Google's
    hierarchical policies, hung from ``organization``)."""
    if provider == Provider.AZURE:
        return [dict(o) for o in admin_parts_of(envelopes)], []
    local, hierarchy = policies_of(envelopes, organization)
    return [dict(o) for o in local], [dict(o) for o in hierarchy]


def resource_from_raw(resource_id: str, raw: Mapping[str, Any]) -> Resource | None:
    """The resource ``resource_id`` again, from the one raw API object it was read from
    (a VM or instance as a playbook run recorded it)."""
    if resource_id.lower().startswith("/subscriptions/"):
        found = resources_from_arm([dict(raw)])
    else:
        project, _, _ = compute_ref(resource_id, "instances", zonal=True)
        found = resources_from_compute(project, [dict(raw)])
    return next((r for r in found if r.id.lower() == resource_id.lower()), None)


def object_key(obj: Mapping[str, Any]) -> str:
    """What identifies one API object among others of its estate: an ARM id, or a Google
    object's kind with its self link, id, policy resource or name (lower-cased)."""
    for field_name in ("selfLink", "id", "resourceId", "resource", "name"):
        if obj.get(field_name):
            return f"{obj.get('kind', '')}:{obj[field_name]}".lower()
    return repr(sorted(obj.items()))


def directory_of(
    resource_id: str, resource_type: str, raw: Mapping[str, Any]
) -> tuple[str, str, dict[str, Any]] | None:
    """An identity-plane resource as a directory a stand-in for the clouds can serve:
    ``("entra", tenant, Graph objects)`` or ``("cloudidentity", customer, policies)``; None
    for anything else. (The organization a customer belongs to is not kept with it; a
    rehearsal reads the customer directly, so it needs none.)"""
    if resource_type == ResourceType.ENTRA_TENANT:
        return "entra", resource_id.removeprefix("tenant:"), dict(raw)
    if resource_type == ResourceType.GOOGLE_CUSTOMER:
        customer = resource_id.removeprefix("customer:")
        return "cloudidentity", customer, {"policies": list(raw.get("policies") or [])}
    return None

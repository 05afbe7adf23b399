"""Which identity roles are broad, on each cloud: what the identity check judges and what
revoking an identity's roles acts on, named once (checks and drivers both read it).

Azure: the built-in Owner, Contributor and User Access Administrator (and any role whose
definition says it is broad, from the role definitions read with it) at subscription,
resource-group or management-group scope. Google Cloud: ``roles/owner`` and
``roles/editor``; the default Compute Engine service account; the ``cloud-platform``
OAuth scope.
"""

from __future__ import annotations

from collections.abc import Iterable

from clamp.model import Resource

# Built-in role definition GUIDs, so exports without the definitions still resolve them.
BUILT_IN = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
GRANTING = frozenset({"Owner", "User Access Administrator"})
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
BROAD_GCP_ROLES = ("roles/owner", "roles/editor")
DEFAULT_ACCOUNT = "-compute@developer.gserviceaccount.com"


def broad_scope(scope: str) -> bool:
    """A subscription, resource group or management group — not a single resource."""
    parts = [p.lower() for p in scope.strip("/").split("/") if p]
    if parts[:1] == ["providers"]:
        return "managementgroups" in parts
    return parts[:1] == ["subscriptions"] and len(parts) in (2, 4)


def _guid(definition_id: str) -> str:
    return definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def azure_roles(
    definitions: Iterable[Resource],
    assignments: Iterable[Resource],
    principals: set[str],
    *,
    broad_only: bool = False,
) -> list[tuple[Resource, str]]:
    """The role assignments (with role names) of ``principals``: every one, or only the
    broad roles at subscription or group scope."""
    names: dict[str, tuple[str, bool]] = {
        _guid(d.id): (d.facets["role_name"], d.facets["broad"]) for d in definitions
    }
    found = []
    for assignment in assignments:
        facets = assignment.facets
        if facets["principal_id"] not in principals:
            continue
        guid = _guid(facets["role_definition"])
        name, broad = names.get(guid) or (BUILT_IN.get(guid, ""), guid in BUILT_IN)
        if not broad_only or (broad and broad_scope(facets["scope"])):
            found.append((assignment, name or guid))
    return found

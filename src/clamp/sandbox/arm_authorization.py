"""Microsoft.Authorization on the sandbox's ARM: management locks and what they refuse, and
role definitions and assignments. All are extension resources: each sits on a scope (a
resource, a resource group or a subscription) as ``<scope>/providers/Microsoft.Authorization/…``.

Lock semantics as ARM enforces them: a ``CanNotDelete`` lock on a resource or any scope
above it refuses deleting the resource (and anything below it); a ``ReadOnly`` lock also
refuses every PUT, PATCH and POST. Deleting a resource is refused, too, while something
below it is locked. Locks and role assignments themselves can always be written.
"""

from __future__ import annotations

from starlette.responses import Response

from clamp.sandbox.arm import Json, arm_error, type_of, under

LOCK = "microsoft.authorization/locks"
ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments"
ROLE_DEFINITION = "microsoft.authorization/roledefinitions"
EXTENSIONS = frozenset({LOCK, ROLE_ASSIGNMENT, ROLE_DEFINITION})
EXTENSION_SEGMENT = "/providers/microsoft.authorization/"
LEVELS = ("CanNotDelete", "ReadOnly")


def extension_scope(arm_id: str) -> str:
    """The scope an extension resource's id sits on, spelled as in the id."""
    at = arm_id.lower().find(EXTENSION_SEGMENT)
    return arm_id[:at] if at >= 0 else arm_id


def visible_at(scope: str, extensions: list[Json]) -> list[Json]:
    """What ARM lists at ``scope``: the ones on it, inherited from above it, and below it."""
    return [
        e
        for e in extensions
        if under(extension_scope(str(e.get("id", ""))), scope)
        or under(scope, extension_scope(str(e.get("id", ""))))
    ]


def scope_locked(objects: list[Json], resource_id: str, *, delete: bool) -> Response | None:
    """ARM's 409 ScopeLocked when a lock forbids this write (or delete), else None."""
    for lock in objects:
        if type_of(lock) != LOCK:
            continue
        scope = extension_scope(str(lock.get("id", "")))
        level = (lock.get("properties") or {}).get("level")
        above = under(scope, resource_id) and (level == "ReadOnly" or delete)
        below = delete and under(resource_id, scope) and level in LEVELS
        if above or below:
            action = "delete" if delete else "write"
            return arm_error(
                409,
                "ScopeLocked",
                f"The scope '{resource_id}' cannot perform {action} operation because following "
                f"scope(s) are locked: '{scope}'. Please remove the lock and try again.",
            )
    return None


def check_authorization(kind: str, props: Json) -> Response | None:
    """ARM's 400 for a lock or role assignment it would refuse (None if it would accept)."""
    if kind == LOCK and props.get("level") not in LEVELS:
        return arm_error(400, "LockLevelInvalid", f"lock level must be one of {', '.join(LEVELS)}")
    if kind == ROLE_ASSIGNMENT and not (props.get("roleDefinitionId") and props.get("principalId")):
        return arm_error(
            400, "InvalidRoleAssignment", "roleDefinitionId and principalId are required"
        )
    return None


BUILT_IN_ROLES = (
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", ["*"]),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", ["*"]),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", ["*/read"]),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
        ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
    ),
    (
        "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
        "Virtual Machine Contributor",
        ["Microsoft.Compute/virtualMachines/*", "Microsoft.Network/networkInterfaces/*"],
    ),
)


def built_in_roles(subscription: str) -> list[Json]:
    """The built-in role definitions every subscription lists (a few of Azure's many)."""
    return [
        {
            "id": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
            "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": name,
                "type": "BuiltInRole",
                "description": f"Azure built-in role {name}",
                "assignableScopes": ["/"],
                "permissions": [{"actions": actions, "notActions": []}],
            },
        }
        for guid, name, actions in BUILT_IN_ROLES
    ]

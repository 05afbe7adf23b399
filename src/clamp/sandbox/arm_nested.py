"""ARM resources that live as their own objects below another: a storage account's blob
service and containers, and management locks (an extension resource on any scope).

Each is a separate entry of ``state.azure[subscription]`` with its full ARM id, so a
request path *is* the id (or, for a list, the id of the collection). Also here: what
management locks do to every write — a ``CanNotDelete`` lock on a resource or any parent
scope refuses deleting it, a ``ReadOnly`` lock refuses every write too (409 ScopeLocked).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from clamp.sandbox.arm import arm_error, new_etag, not_found
from clamp.sandbox.state import Json

BLOB_SERVICE = "microsoft.storage/storageaccounts/blobservices"
CONTAINER = "microsoft.storage/storageaccounts/blobservices/containers"
LOCK = "microsoft.authorization/locks"
ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments"
ROLE_DEFINITION = "microsoft.authorization/roledefinitions"
# Extension resources: they sit on any scope (a resource, a group, a subscription).
EXTENSIONS = frozenset({LOCK, ROLE_ASSIGNMENT, ROLE_DEFINITION})
NESTED = frozenset({BLOB_SERVICE, CONTAINER, *EXTENSIONS})
LOCK_SEGMENT = "/providers/microsoft.authorization/locks"
LEVELS = ("CanNotDelete", "ReadOnly")
TLS_VERSIONS = ("TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3")


def path_type(path: str) -> tuple[str, bool]:
    """The lower-cased ARM type a path names, and whether it names one item (not a list)."""
    segments = [s for s in path.strip("/").split("/") if s]
    lower = [s.lower() for s in segments]
    if "providers" not in lower:
        return "", False
    at = len(lower) - 1 - lower[::-1].index("providers")
    rest = lower[at + 1 :]
    if len(rest) < 2:
        return "", False
    types = [rest[0], *rest[1::2]]
    return "/".join(types), len(rest) % 2 == 1


def _covers(scope: str, arm_id: str) -> bool:
    scope, arm_id = scope.lower().rstrip("/"), arm_id.lower()
    return arm_id == scope or arm_id.startswith(scope + "/")


def lock_scope(lock: Json) -> str:
    """The scope an extension resource (a lock, a role assignment) sits on."""
    return str(lock.get("id", "")).lower().split("/providers/microsoft.authorization/", 1)[0]


def scope_locked(objects: list[Json], resource_id: str, *, delete: bool) -> Response | None:
    """ARM's 409 ScopeLocked when a lock forbids this write (or delete), else None."""
    for lock in objects:
        if str(lock.get("type", "")).lower() != LOCK or not _covers(lock_scope(lock), resource_id):
            continue
        level = (lock.get("properties") or {}).get("level")
        if level == "ReadOnly" or (delete and level == "CanNotDelete"):
            action = "delete" if delete else "write"
            return arm_error(
                409,
                "ScopeLocked",
                f"The scope '{resource_id}' cannot perform {action} operation because following "
                f"scope(s) are locked: '{lock_scope(lock)}'. Please remove the lock and try again.",
            )
    return None


def default_blob_service(account_id: str) -> Json:
    """The blob service every account has, with Azure's API defaults (all protections off)."""
    return {
        "id": f"{account_id}/blobServices/default",
        "name": "default",
        "type": "Microsoft.Storage/storageAccounts/blobServices",
        "properties": {
            "cors": {"corsRules": []},
            "deleteRetentionPolicy": {"allowPermanentDelete": False, "enabled": False},
            "containerDeleteRetentionPolicy": {"enabled": False},
            "isVersioningEnabled": False,
        },
    }


def merge(target: Json, patch: Json) -> Json:
    """``patch`` merged into ``target`` recursively, ``null`` removing a key (ARM PATCH)."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


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


def invalid(kind: str, props: Json, account: Json | None) -> Response | None:
    """Azure's 400/409 for blob-service, container and account settings it refuses."""
    if kind == BLOB_SERVICE:
        for key in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
            policy = props.get(key) or {}
            if policy.get("enabled") and not 1 <= int(policy.get("days") or 0) <= 365:
                return arm_error(
                    400, "InvalidXmlNodeValue", f"{key}.days must be between 1 and 365."
                )
    if kind == CONTAINER and str(props.get("publicAccess") or "None") != "None":
        allowed = ((account or {}).get("properties") or {}).get("allowBlobPublicAccess")
        if not allowed:
            return arm_error(
                409,
                "PublicAccessNotPermitted",
                "Public access is not permitted on this storage account.",
            )
    tls = props.get("minimumTlsVersion")
    if tls is not None and tls not in TLS_VERSIONS:
        return arm_error(400, "InvalidValuesForRequestParameters", f"minimumTlsVersion {tls}")
    if kind == ROLE_ASSIGNMENT and not (props.get("roleDefinitionId") and props.get("principalId")):
        return arm_error(
            400, "InvalidRoleAssignment", "roleDefinitionId and principalId are required"
        )
    if kind == LOCK and (props.get("level") not in LEVELS):
        return arm_error(400, "LockLevelInvalid", f"lock level must be one of {', '.join(LEVELS)}")
    return None


class NestedResources:
    """GET/PUT/PATCH/DELETE of blob services, containers and locks, and their lists."""

    def __init__(
        self,
        objects: Callable[[str], list[Json]],
        precondition: Callable[[Request, Json | None], Response | None],
    ) -> None:
        self.objects = objects
        self.precondition = precondition

    def _find(self, subscription: str, arm_id: str) -> Json | None:
        wanted = arm_id.lower()
        return next(
            (o for o in self.objects(subscription) if str(o.get("id", "")).lower() == wanted), None
        )

    def _account(self, subscription: str, arm_id: str) -> Json | None:
        lower = arm_id.lower()
        marker = "/blobservices/"
        return self._find(subscription, arm_id[: lower.index(marker)]) if marker in lower else None

    async def handle(self, request: Request, subscription: str, kind: str, item: bool) -> Response:
        """One request on a nested resource or collection."""
        path = "/" + request.url.path.strip("/")
        if not item:
            return JSONResponse({"value": self._list(subscription, kind, path)})
        if kind == BLOB_SERVICE:
            self._ensure_service(subscription, path)
        current = self._find(subscription, path)
        if kind == ROLE_DEFINITION and current is None:
            current = next(
                (r for r in built_in_roles(subscription) if r["id"].lower() == path.lower()), None
            )
        objects = self.objects(subscription)
        match request.method:
            case "GET":
                return JSONResponse(current) if current is not None else not_found(path)
            case "DELETE":
                if current is None:
                    return Response(status_code=204)
                if kind not in EXTENSIONS and (refusal := scope_locked(objects, path, delete=True)):
                    return refusal
                if (refusal := self.precondition(request, current)) is not None:
                    return refusal
                objects.remove(current)
                return Response(status_code=200)
            case "PUT" | "PATCH":
                return await self._write(request, subscription, kind, path, current)
        return arm_error(405, "MethodNotAllowed", request.method)

    def _list(self, subscription: str, kind: str, path: str) -> list[Json]:
        if kind == ROLE_DEFINITION:
            return [*built_in_roles(subscription), *self._of(subscription, kind)]
        if kind in EXTENSIONS:  # at the scope, above it (inherited) and below it
            scope = path.lower().split("/providers/microsoft.authorization/", 1)[0]
            return [
                o
                for o in self._of(subscription, kind)
                if _covers(lock_scope(o), scope) or _covers(scope, lock_scope(o))
            ]
        if kind == BLOB_SERVICE:
            self._ensure_service(subscription, path + "/default")
        parent = path.lower().rsplit("/", 1)[0]
        return [
            o
            for o in self.objects(subscription)
            if str(o.get("type", "")).lower() == kind
            and str(o.get("id", "")).lower().rsplit("/", 2)[0] == parent
        ]

    def _of(self, subscription: str, kind: str) -> list[Json]:
        return [o for o in self.objects(subscription) if str(o.get("type", "")).lower() == kind]

    def _ensure_service(self, subscription: str, service_id: str) -> None:
        """Every account has a blob service, and ARM always returns its protection settings."""
        account_id = service_id[: service_id.lower().index("/blobservices/")]
        account = self._find(subscription, account_id)
        if account is None:
            return
        defaults = default_blob_service(str(account["id"]))
        service = self._find(subscription, service_id)
        if service is None:
            self.objects(subscription).append(defaults)
            return
        props = service.setdefault("properties", {})
        for key, value in defaults["properties"].items():
            props.setdefault(key, value)

    async def _write(
        self, request: Request, subscription: str, kind: str, path: str, current: Json | None
    ) -> Response:
        account = self._account(subscription, path)
        if kind not in EXTENSIONS:
            if account is None:
                return not_found(path)
            if refusal := scope_locked(self.objects(subscription), path, delete=False):
                return refusal
        if (refusal := self.precondition(request, current)) is not None:
            return refusal
        body: Json = await request.json()
        props = copy.deepcopy(body.get("properties") or {})
        old = copy.deepcopy((current or {}).get("properties") or {})
        if request.method == "PATCH":
            props = merge(old, props)
        elif kind == BLOB_SERVICE:  # settings left out of the PUT keep their values
            props = {**old, **props}
        if (refusal := invalid(kind, props, account)) is not None:
            return refusal
        name = path.rsplit("/", 1)[-1]
        new: Json = {
            **(current or {}),
            "id": str((current or {}).get("id") or path),
            "name": name,
            "type": _type_name(path),
            "properties": props,
        }
        if kind == CONTAINER:
            new["etag"] = f'"0x8D{new_etag()[4:16].replace("-", "").upper()}"'
        if kind == ROLE_ASSIGNMENT:
            props["scope"] = path[: path.lower().index("/providers/microsoft.authorization/")]
        if current is None:
            self.objects(subscription).append(new)
        else:
            current.clear()
            current.update(new)
        return JSONResponse(new, status_code=201 if current is None else 200)


def _type_name(path: str) -> str:
    """The type as ARM spells it, taken from the path's own segments."""
    segments = [s for s in path.split("/") if s]
    lower = [s.lower() for s in segments]
    at = len(lower) - 1 - lower[::-1].index("providers")
    rest = segments[at + 1 :]
    return "/".join([rest[0], *rest[1::2]])


def type_and_item(path: str) -> tuple[str, bool] | None:
    """``path_type`` when the path names a nested resource or list, else None."""
    kind, item = path_type(path)
    return (kind, item) if kind in NESTED else None

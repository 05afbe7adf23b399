"""The resources of the sandbox's ARM that are objects of their own in
``state.azure[subscription]``, found by their ARM id: top-level resources (NSGs, VMs,
storage accounts), nested ones (a blob service, a container) and extension resources on
any scope (locks, role assignments). A request path is the id, so one set of rules serves
every type; ``KINDS`` says how a type's writes differ (etags, long-running or not).

Not here: the HTTP side (status codes, long-running handshakes, ``If-Match``), which is
``clamp.sandbox.azure``, and children kept inside their parent's ``properties`` (NSG rules).
"""

from __future__ import annotations

import copy

from starlette.responses import Response

from clamp.sandbox.arm import (
    ArmPath,
    Json,
    id_of,
    kind_of,
    new_etag,
    not_found,
    settle_identity,
    type_of,
    under,
    with_arm_defaults,
)
from clamp.sandbox.arm_authorization import (
    EXTENSIONS,
    LOCK,
    ROLE_ASSIGNMENT,
    ROLE_DEFINITION,
    built_in_roles,
    check_authorization,
    extension_scope,
    scope_locked,
    visible_at,
)
from clamp.sandbox.arm_storage import (
    ACCOUNT,
    BLOB_SERVICE,
    CONTAINER,
    account_id_of,
    check_new_account,
    check_storage,
    container_properties,
    default_blob_service,
    new_account,
    now,
)
from clamp.sandbox.state import SandboxState
from clamp.sandbox.state import merge_patch as merge  # ARM PATCH is a JSON merge patch

READ_ONLY_FIELDS = ("id", "name", "type", "etag")


def _nested(arm: ArmPath) -> bool:
    """Whether the type sits below another resource (``A/B/C``), not on a scope."""
    return arm.type.count("/") > 1 and arm.kind not in EXTENSIONS


class ResourceObjects:
    """Reads and writes of the estate's ARM objects; callers hold ``state.lock``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.user_identities: dict[str, Json] = {}  # user-assigned identity id → its ids

    # -- lookups --------------------------------------------------------------------------
    def objects(self, subscription: str) -> list[Json]:
        """The subscription's objects (none for a subscription not in the estate)."""
        for key, objects in self.state.azure.items():
            if key.lower() == subscription.lower():
                return objects
        return []

    def _store(self, subscription: str, obj: Json) -> None:
        for key, objects in self.state.azure.items():
            if key.lower() == subscription.lower():
                objects.append(obj)
                return
        self.state.azure[subscription] = [obj]

    def find(self, subscription: str, arm_id: str) -> Json | None:
        """The object with this id (case-insensitive), if any."""
        wanted = arm_id.lower()
        return next((o for o in self.objects(subscription) if id_of(o) == wanted), None)

    def get(self, arm: ArmPath) -> Json | None:
        """The resource an item path names, as ``GET`` returns it."""
        self._ensure_blob_service(arm)
        obj = self.find(arm.subscription, arm.path)
        if obj is None and arm.kind == ROLE_DEFINITION:
            wanted = arm.path.lower()
            obj = next((r for r in built_in_roles(arm.subscription) if id_of(r) == wanted), None)
        return with_arm_defaults(obj) if obj is not None else None

    def list(self, arm: ArmPath) -> list[Json]:
        """A collection: by subscription or group for top-level types, below the parent for
        nested ones, and at, above and below the scope for extension resources."""
        self._ensure_blob_service(arm)
        of_kind = [o for o in self.objects(arm.subscription) if type_of(o) == arm.kind]
        if arm.kind == ROLE_DEFINITION:
            return [*built_in_roles(arm.subscription), *of_kind]
        if arm.kind in EXTENSIONS:
            return visible_at(arm.scope, of_kind)
        if _nested(arm):
            parent = arm.parent.lower()
            return [o for o in of_kind if id_of(o).rsplit("/", 2)[0] == parent]
        return [with_arm_defaults(o) for o in of_kind if under(arm.scope, id_of(o))]

    def locked(self, arm: ArmPath, resource_id: str, *, delete: bool) -> Response | None:
        """ARM's 409 when a lock forbids this write to ``resource_id`` (locks and role
        assignments are never refused)."""
        if kind_of(arm.type).extension:
            return None
        return scope_locked(self.objects(arm.subscription), resource_id, delete=delete)

    # -- writes ---------------------------------------------------------------------------
    def delete(self, arm: ArmPath, obj: Json) -> None:
        """Remove a resource and everything below it (children, locks, role assignments)."""
        gone = id_of(obj)
        objects = self.objects(arm.subscription)
        objects[:] = [o for o in objects if o is not obj and not under(gone, id_of(o))]

    def write(
        self, arm: ArmPath, current: Json | None, body: Json, *, patch: bool
    ) -> Json | Response:
        """PUT (create or replace) or PATCH (merge) one resource; the stored object, or
        ARM's error response (and nothing changed)."""
        kind = kind_of(arm.type)
        if (missing := self._missing_owner(arm)) is not None:
            return missing
        payload = {k: v for k, v in body.items() if k not in READ_ONLY_FIELDS}
        if isinstance(payload.get("properties"), dict):
            payload["properties"] = {
                k: v for k, v in payload["properties"].items() if k != "provisioningState"
            }
        arm_id = str(current["id"]) if current else self._spelled(arm)
        name = arm_id.rsplit("/", 1)[-1]
        if current is None:
            new = self._created(arm, name, payload)
            if isinstance(new, Response):
                return new
        elif patch:
            new = merge(current, payload)
            if isinstance(payload.get("tags"), dict):  # ARM replaces the tag set, never merges
                new["tags"] = copy.deepcopy(payload["tags"])
        elif kind.put_keeps:  # a setting the PUT leaves out keeps its value
            new = {**copy.deepcopy(current), **copy.deepcopy(payload)}
            new["properties"] = {
                **copy.deepcopy(current.get("properties") or {}),
                **(payload.get("properties") or {}),
            }
        else:
            new = copy.deepcopy(payload)
            if arm.kind == CONTAINER:
                new["properties"] = container_properties(current, payload)
        new.update(id=arm_id, name=name, type=str((current or {}).get("type") or arm.type))
        props: Json = new.setdefault("properties", {})
        if kind.provisioning:
            props["provisioningState"] = "Succeeded"
        if arm.kind == CONTAINER:
            props["lastModifiedTime"] = now()
        if arm.kind == ROLE_ASSIGNMENT:
            props["scope"] = extension_scope(arm_id)
        account = self._account(arm)
        refusal = check_storage(arm.kind, props, account) or check_authorization(arm.kind, props)
        if refusal is not None:
            return refusal
        if kind.etag:
            new["etag"] = new_etag(kind.etag)
        settle_identity(new, self.user_identities)
        with_arm_defaults(new)
        if current is None:
            self._store(arm.subscription, new)
        else:
            current.clear()
            current.update(new)
        return current if current is not None else new

    def _created(self, arm: ArmPath, name: str, payload: Json) -> Json | Response:
        if arm.kind == ACCOUNT:
            if refusal := check_new_account(name, payload, self._account_name_taken(arm, name)):
                return refusal
            created = new_account(name, payload)
            created["properties"] = merge(created["properties"], payload.get("properties") or {})
            return created
        new = copy.deepcopy(payload)
        if arm.kind == CONTAINER:
            new["properties"] = container_properties(None, payload)
        return new

    # -- ARM's rules about parents and names ----------------------------------------------
    def _missing_owner(self, arm: ArmPath) -> Response | None:
        """404 when a nested resource's parent, or a lock's resource scope, does not exist."""
        if _nested(arm):
            owner = arm.parent
        elif arm.kind == LOCK and "/providers/" in arm.scope.lower():
            owner = arm.scope
        else:
            return None
        return None if self.find(arm.subscription, owner) is not None else not_found(owner)

    def _spelled(self, arm: ArmPath) -> str:
        """A new resource's id as ARM spells it: ``resourceGroups``, and an extension's
        scope spelled as its resource's id (SDKs send lower-case or doubled segments)."""
        segments = arm.path.split("/")
        if len(segments) > 3 and segments[3].lower() == "resourcegroups":
            segments[3] = "resourceGroups"
        path = "/".join(segments)
        if arm.kind in EXTENSIONS:
            scope = extension_scope(path)
            owner = self.find(arm.subscription, scope)
            if owner is not None:
                path = str(owner["id"]) + path[len(scope) :]
        return path

    def _account(self, arm: ArmPath) -> Json | None:
        account_id = account_id_of(arm.path)
        return self.find(arm.subscription, account_id) if account_id else None

    def _account_name_taken(self, arm: ArmPath, name: str) -> bool:
        """Storage account names are global: another account anywhere holds it."""
        return any(
            type_of(o) == ACCOUNT
            and str(o.get("name", "")).lower() == name.lower()
            and id_of(o) != arm.path.lower()
            for objects in self.state.azure.values()
            for o in objects
        )

    def _ensure_blob_service(self, arm: ArmPath) -> None:
        """Every account has a blob service: the first access to it (or below it) stores
        Azure's default one; a stored one always shows its protection settings."""
        account = self._account(arm)
        if account is None or not arm.kind.startswith(BLOB_SERVICE):
            return
        defaults = default_blob_service(account)
        service = self.find(arm.subscription, defaults["id"])
        if service is None:
            self._store(arm.subscription, defaults)
            return
        props = service.setdefault("properties", {})
        for key, value in defaults["properties"].items():
            props.setdefault(key, value)

"""The resources of the sandbox's ARM that are objects of their own in
``state.azure[subscription]``, found by their ARM id: top-level resources (NSGs, VMs,
disks, snapshots, storage accounts), nested ones (a blob service, a container) and
extension resources on any scope (locks, role assignments). A request path is the id, so
one set of rules serves every type; ``KINDS`` says how a type's writes differ (etags,
long-running or not).

As in Compute: a snapshot copies an existing managed disk of its region (404 / 400
otherwise) and its source can never change (409); deleting a VM deletes the disks and
NICs whose ``deleteOption`` is ``Delete`` and detaches the others.

Not here: the HTTP side (status codes, long-running handshakes, ``If-Match``), which is
``clamp.sandbox.azure``, and children kept inside their parent's ``properties`` (NSG rules).
"""

from __future__ import annotations

import copy
import uuid

from starlette.responses import Response

from clamp.sandbox.arm import (
    DISK,
    SNAPSHOT,
    VM_TYPE,
    ArmPath,
    Json,
    arm_error,
    id_of,
    kind_of,
    new_etag,
    not_found,
    settle_identity,
    type_of,
    under,
    with_arm_defaults,
)
from clamp.sandbox.arm_admin import check_admin_rule
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
from clamp.sandbox.arm_databases import (
    CONFIGURATIONS,
    check_database,
    default_configuration,
    server_id_of,
)
from clamp.sandbox.arm_network import NSG, check_inline_rules, restamp, stamp_inline_rules
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
# Properties ARM computes itself: a PUT (whose body never carries them) leaves them as they
# were, e.g. the VM a NIC is attached to.
COMPUTED = {
    "microsoft.network/networkinterfaces": ("virtualMachine", "primary", "macAddress"),
    "microsoft.network/networksecuritygroups": ("resourceGuid",),
}
# Children written inside their parent's properties: their type, as ARM stamps it.
CHILD_TYPES = {"microsoft.network/networkinterfaces": {"ipConfigurations": "ipConfigurations"}}


def _nested(arm: ArmPath) -> bool:
    """Whether the type sits below another resource (``A/B/C``), not on a scope."""
    return arm.type.count("/") > 1 and arm.kind not in EXTENSIONS


class ResourceObjects:
    """Reads and writes of the estate's ARM objects; callers hold ``state.lock``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.user_identities: dict[str, Json] = {}  # user-assigned identity id → its ids
        self._positions: dict[int, tuple[list[Json], dict[str, int]]] = {}

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
        """The object with this id (case-insensitive), if any.

        Where each id was last seen in its list is kept, and trusted only if the object
        there still has that id; otherwise (a write or a delete moved it, or it is new) the
        list is searched as a whole, so writes made anywhere are always seen."""
        wanted, objects = arm_id.lower(), self.objects(subscription)
        kept = self._positions.get(id(objects))
        at = kept[1].get(wanted) if kept is not None and kept[0] is objects else None
        if at is not None and at < len(objects) and id_of(objects[at]) == wanted:
            return objects[at]
        found = next((o for o in objects if id_of(o) == wanted), None)
        if found is not None:
            positions: dict[str, int] = {}
            for at, obj in enumerate(objects):
                positions.setdefault(id_of(obj), at)
            self._positions[id(objects)] = (objects, positions)
        return found

    def get(self, arm: ArmPath) -> Json | None:
        """The resource an item path names, as ``GET`` returns it."""
        self._ensure_blob_service(arm)
        obj = self.find(arm.subscription, arm.path)
        if obj is None and arm.kind in CONFIGURATIONS:
            server = self.find(arm.subscription, server_id_of(arm.path) or "")
            obj = default_configuration(server, arm.path.rsplit("/", 1)[-1]) if server else None
            if obj is not None:  # stored once read, so a PUT over it is kept
                self._store(arm.subscription, obj)
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
        """Remove a resource and everything below it (children, locks, role assignments);
        a VM takes the disks and NICs set to be deleted with it along."""
        vm = type_of(obj) == VM_TYPE.lower()
        gone = {id_of(obj), *(_deleted_with(obj) if vm else ())}
        objects = self.objects(arm.subscription)
        objects[:] = [
            o for o in objects if o is not obj and not any(under(g, id_of(o)) for g in gone)
        ]
        if vm:
            _release(id_of(obj), objects)

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
        elif arm.kind == SNAPSHOT and (refusal := _source_changed(current, payload)):
            return refusal
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
            _keep_computed(arm, current, new)
        new.update(id=arm_id, name=name, type=str((current or {}).get("type") or arm.type))
        props: Json = new.setdefault("properties", {})
        if kind.provisioning:
            props["provisioningState"] = "Succeeded"
        if arm.kind == CONTAINER:
            props["lastModifiedTime"] = now()
        if arm.kind == ROLE_ASSIGNMENT:
            props["scope"] = extension_scope(arm_id)
        account = self._account(arm)
        refusal = (
            check_storage(arm.kind, props, account)
            or check_authorization(arm.kind, props)
            or check_database(arm.kind, props)
            or check_admin_rule(arm.kind, arm_id, props, self.objects(arm.subscription))
            or (check_inline_rules(arm_id, props) if arm.kind == NSG else None)
        )
        if refusal is not None:
            return refusal
        if arm.kind == NSG:  # ARM's own default rules, never the body's
            props.pop("defaultSecurityRules", None)
            stamp_inline_rules(new)
        _stamp_children(arm, new)
        settle_identity(new, self.user_identities)
        with_arm_defaults(new)
        if kind.etag:  # one new etag, shared by the children that carry their parent's
            restamp(new, new_etag(kind.etag))
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
        if arm.kind == SNAPSHOT:
            return self._new_snapshot(arm, payload)
        new = copy.deepcopy(payload)
        if arm.kind == CONTAINER:
            new["properties"] = container_properties(None, payload)
        return new

    def _new_snapshot(self, arm: ArmPath, payload: Json) -> Json | Response:
        """A full copy of an existing managed disk of the snapshot's region."""
        props: Json = payload.get("properties") or {}
        creation: Json = props.get("creationData") or {}
        source_id = str(creation.get("sourceResourceId") or "")
        if str(creation.get("createOption", "")).lower() != "copy" or not source_id:
            return arm_error(
                400,
                "InvalidParameter",
                "The sandbox creates snapshots with createOption Copy and a sourceResourceId.",
            )
        subscription = source_id.split("/")[2] if source_id.count("/") > 2 else ""
        disk = self.find(subscription, source_id)
        if disk is None or type_of(disk) != DISK:
            return not_found(source_id)
        if str(disk.get("location", "")).lower() != str(payload.get("location", "")).lower():
            return arm_error(
                400,
                "InvalidParameter",
                f"The snapshot must be in the region of its source disk ({disk.get('location')}).",
            )
        source: Json = disk.get("properties") or {}
        new = copy.deepcopy(payload)
        new.setdefault("sku", {"name": "Standard_LRS", "tier": "Standard"})
        new["properties"] = {
            **copy.deepcopy(props),
            "creationData": {
                **copy.deepcopy(creation),
                "sourceUniqueId": source.get("uniqueId") or str(uuid.uuid4()),
            },
            "diskSizeGB": source.get("diskSizeGB", 30),
            "diskSizeBytes": int(source.get("diskSizeGB", 30)) * 1024**3,
            "uniqueId": str(uuid.uuid4()),
            "timeCreated": now(),
            "incremental": bool(props.get("incremental", False)),
            "diskState": "Unattached",
            "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            "networkAccessPolicy": "AllowAll",
            "publicNetworkAccess": "Enabled",
        }
        if source.get("osType"):
            new["properties"]["osType"] = source["osType"]
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


def _keep_computed(arm: ArmPath, current: Json, new: Json) -> None:
    """What a PUT leaves as it was: the properties ARM computes (a NIC's VM)."""
    was = current.get("properties") or {}
    props = new.setdefault("properties", {})
    for key in COMPUTED.get(arm.kind, ()):
        if key in was and key not in props:
            props[key] = copy.deepcopy(was[key])


def _stamp_children(arm: ArmPath, new: Json) -> None:
    """The type and state ARM gives the children written inside a resource (a NIC's IP
    configurations); their etag is their parent's (``restamp``)."""
    for key, child in CHILD_TYPES.get(arm.kind, {}).items():
        for item in (new.get("properties") or {}).get(key) or []:
            if isinstance(item, dict):
                item["type"] = f"{new.get('type') or arm.type}/{child}"
                item.setdefault("properties", {})["provisioningState"] = "Succeeded"


def _source_changed(current: Json, payload: Json) -> Response | None:
    """ARM's 409 when a PUT over an existing snapshot names another source (a snapshot's
    source is fixed when it is created; a PUT may change its tags)."""
    was = (current.get("properties") or {}).get("creationData") or {}
    wants = (payload.get("properties") or {}).get("creationData") or {}
    for key in ("createOption", "sourceResourceId"):
        if key in wants and str(wants[key]).lower() != str(was.get(key, "")).lower():
            return arm_error(
                409,
                "PropertyChangeNotAllowed",
                f"Changing property 'creationData.{key}' is not allowed: snapshot "
                f"{current.get('name')} already exists.",
            )
    return None


def _deleted_with(vm: Json) -> set[str]:
    """The ids (lower-cased) of a VM's disks and NICs whose ``deleteOption`` is Delete."""
    props = vm.get("properties") or {}
    profile = props.get("storageProfile") or {}
    disks = [d for d in (profile.get("osDisk"), *(profile.get("dataDisks") or [])) if d]
    nics = (props.get("networkProfile") or {}).get("networkInterfaces") or []
    refs = [
        *((d.get("managedDisk") or {}, d.get("deleteOption")) for d in disks),
        *(
            (n, n.get("deleteOption") or (n.get("properties") or {}).get("deleteOption"))
            for n in nics
        ),
    ]
    return {
        str(ref.get("id", "")).lower()
        for ref, option in refs
        if ref.get("id") and str(option or "").lower() == "delete"
    }


def _release(vm_id: str, objects: list[Json]) -> None:
    """What a deleted VM leaves behind is free: disks unattached, NICs without a VM."""
    for obj in objects:
        props = obj.get("properties") or {}
        if type_of(obj) == DISK and str(obj.get("managedBy", "")).lower() == vm_id:
            obj.pop("managedBy", None)
            props["diskState"] = "Unattached"
        owner = props.get("virtualMachine")
        if isinstance(owner, dict) and str(owner.get("id", "")).lower() == vm_id:
            props.pop("virtualMachine", None)

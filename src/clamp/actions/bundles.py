"""Bundles: several protections for one account or bucket, applied as one plan.

``data-protection`` turns on, in a safe order, every protection the account or bucket
lacks: secure transport, no public access, soft delete, versioning, delete protection.
Each step runs only if its finding is still present on the resource as the earlier steps
leave it (on GCS, versioning already counts as delete protection, so no retention policy
is added — the two cannot be combined). A step that is refused is skipped and said so in
the plan; irreversible intents never take part in a bundle.
"""

from __future__ import annotations

from clamp.actions.interface import INTENTS
from clamp.actions.protect_storage import StorageIntent, storage_plan
from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import ClampError, InputError
from clamp.model import Finding, Plan, Resource
from clamp.providers.factory import storage_changes
from clamp.providers.storage_changes import Draft

BUNDLES: dict[str, tuple[str, ...]] = {
    "data-protection": (
        "require_secure_transport",
        "block_public_access",
        "enable_soft_delete",
        "enable_versioning",
        "protect_from_deletion",
    ),
}


def plan_bundle(name: str, finding: Finding, resource: Resource, settings: Settings) -> Plan:
    """One plan applying every step of bundle ``name`` that ``resource`` still needs."""
    if name not in BUNDLES:
        raise InputError(f"unknown bundle {name!r}; valid: {', '.join(sorted(BUNDLES))}")
    draft = Draft.of(resource)
    cloud = storage_changes(resource.provider)
    permissions: dict[str, None] = {}
    for intent_name in BUNDLES[name]:
        intent = INTENTS.get(intent_name)()
        assert isinstance(intent, StorageIntent) and not intent.irreversible
        open_checks = {f.check for f in evaluate([cloud.edited(draft)], settings)}
        if resource.provider not in intent.permissions or not open_checks & set(intent.fixes):
            continue
        try:
            intent.protect(draft, intent.checked({}), finding)
        except ClampError as exc:
            draft.effects.append(f"{intent_name} skipped: {exc.message}")
            continue
        permissions.update(dict.fromkeys(intent.permissions[resource.provider]))
    return storage_plan(
        name,
        finding,
        draft,
        settings,
        {resource.provider: tuple(permissions)},
        {},
    )

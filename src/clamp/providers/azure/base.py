"""What the Azure service modules share: ARM id parsing and the no-op read side of a
service that only makes changes (it is read through another service, or not at all)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.core import MatchConditions

from clamp.compare import matches
from clamp.errors import InputError
from clamp.providers.interface import ProgressCallback


def resource_ref(arm_id: str, collection: str, *, below: bool = False) -> tuple[str, str, str]:
    """(subscription, resource group, name) of ``/subscriptions/S/resourceGroups/G/
    providers/NAMESPACE/COLLECTION/NAME`` (or, with ``below``, of the resource an id of one
    of its parts starts with); ``InputError`` for any other id. Clamp's one ARM id parser."""
    parts = arm_id.strip("/").split("/")
    lower = [p.lower() for p in parts]
    if (
        (len(parts) != 8 and not (below and len(parts) > 8))
        or lower[0] != "subscriptions"
        or lower[2] != "resourcegroups"
        or lower[6] != collection.lower()
    ):
        raise InputError(f"not a {collection} id: {arm_id}")
    return parts[1], parts[3], parts[7]


def same_read(before: Mapping[str, Any] | None, now: Mapping[str, Any] | None) -> bool:
    """Whether two reads of one object agree on every field either has (etags,
    provisioning state and other volatile fields aside): a field someone added since the
    plan's read counts as a change, which ``matches`` alone (a subset match) would miss."""
    return matches(before, now) and matches(now, before)


def if_unchanged(etag: str | None) -> dict[str, Any]:
    """The SDK's own ``If-Match`` parameters for an operation that declares them (none
    for an object read without an etag)."""
    if not etag:
        return {}
    return {"etag": etag, "match_condition": MatchConditions.IfNotModified}


class ChangesOnly:
    """The read side of a service that only changes objects: nothing to collect or read."""

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """Nothing: what it changes is collected elsewhere (or evaluated by no check)."""
        return []

    def owns(self, resource_id: str) -> bool:
        """Nothing: ``read`` is another service's."""
        return False

    def read(self, resource_id: str) -> list[dict[str, Any]]:
        """Not used (see ``owns``)."""
        return []

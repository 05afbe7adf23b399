"""What the Azure service modules share: ARM id parsing and the no-op read side of a
service that only makes changes (it is read through another service, or not at all)."""

from __future__ import annotations

from typing import Any

from clamp.errors import InputError
from clamp.providers.interface import ProgressCallback


def resource_ref(arm_id: str, collection: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of ``/subscriptions/S/resourceGroups/G/
    providers/NAMESPACE/COLLECTION/NAME``; ``InputError`` for any other id."""
    parts = arm_id.strip("/").split("/")
    lower = [p.lower() for p in parts]
    if len(parts) != 8 or lower[0] != "subscriptions" or lower[6] != collection.lower():
        raise InputError(f"not a {collection} id: {arm_id}")
    return parts[1], parts[3], parts[7]


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

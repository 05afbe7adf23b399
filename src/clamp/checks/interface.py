"""The check plug-point: a check reads normalized facets and yields findings. No I/O.

Every check declares its id, title, severity, rationale, compliance references and the
intents that remediate it, and is registered in ``CHECKS`` by id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import ClassVar

from clamp.config import Settings
from clamp.model import Finding, Resource, ResourceType
from clamp.registry import Registry


class Inventory:
    """Resources indexed by type and by (lower-cased) id, for checks that follow links."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.by_type: dict[ResourceType, list[Resource]] = defaultdict(list)
        self.by_id: dict[str, Resource] = {}
        for resource in resources:
            self.by_type[resource.type].append(resource)
            self.by_id[resource.id.lower()] = resource

    def of_type(self, kind: ResourceType) -> list[Resource]:
        """Every resource of one type."""
        return self.by_type.get(kind, [])

    def get(self, resource_id: str | None) -> Resource | None:
        """A resource by id (case-insensitive), or None."""
        return self.by_id.get(resource_id.lower()) if resource_id else None


class Check(ABC):
    """One detection rule."""

    id: ClassVar[str]
    title: ClassVar[str]
    rationale: ClassVar[str]
    compliance: ClassVar[Mapping[str, tuple[str, ...]]]
    remediations: ClassVar[tuple[str, ...]]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    def evaluate(self, inventory: Inventory) -> Iterable[Finding]:
        """The findings of this check on the inventory."""


CHECKS: Registry[type[Check]] = Registry("check")

"""The managed-database plug-point: what ``restrict_database_access`` needs from a cloud
about one database server.

The intent (``clamp.actions.restrict_database``) decides in Clamp's terms which rules
(``AccessRule``, from ``clamp.database_exposure``) go and which CIDRs are allowed instead,
or that public access goes off altogether. A ``DatabaseChanges`` of the server's cloud
answers with the changes in the cloud's raw shape: ARM firewall rules deleted and created
one by one and the server's ``publicNetworkAccess``; a Cloud SQL instance's
``settings.ipConfiguration`` (authorized networks, public IP) in one patch. Every method is
pure: it reads the ``Resource`` as read just now, and never calls the cloud. One
implementation per cloud (``providers/azure/database_changes.py``,
``providers/gcp/database_changes.py``); ``clamp.providers.factory.database_changes(provider)``
returns the one for a provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from clamp.database_exposure import AccessRule
from clamp.model import Change, Provider, Resource, ResourceType


class DatabaseChanges(ABC):
    """One cloud's network-access changes for a database server. Pure: no I/O.

    Methods raise ``PlanRefused`` (``clamp.errors``) where the cloud's rules say so (Cloud
    SQL keeps at least one way in: no public IP needs a private IP or PSC)."""

    provider: ClassVar[Provider]
    types: ClassVar[tuple[ResourceType, ...]]
    """The database resource types of the cloud."""

    @abstractmethod
    def replace_rules(
        self, resource: Resource, remove: Sequence[AccessRule], allow: Sequence[str]
    ) -> tuple[Change, ...]:
        """The changes that remove ``remove`` and admit each CIDR of ``allow`` (unless a
        kept rule already admits exactly it); the allowed ones are added first."""

    @abstractmethod
    def disable_public(self, resource: Resource) -> tuple[Change, ...]:
        """The changes that turn the public endpoint off (nothing if it is off)."""

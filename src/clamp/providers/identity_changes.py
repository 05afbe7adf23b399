"""The identity plug-point: what taking power away from a VM's identity needs from a cloud.

The identity intents (``clamp.actions.identity``: ``revoke_identity_roles``,
``detach_identity``) say what they want in Clamp's terms — revoke the broad (or every)
role the VM's identities hold, take the identities off the VM — and an
``IdentityChanges`` of the VM's cloud answers with the ``Change`` records in the cloud's
raw shape (ARM role-assignment deletions and the VM's ``identity`` block vs the project
IAM policy with its etag and the instance's ``serviceAccounts``). Every method is pure: it
reads the ``Resource`` as read just now, and never calls the cloud. One implementation per
cloud (``providers/azure/identity_changes.py``, ``providers/gcp/identity_changes.py``);
``clamp.providers.factory.identity_changes(provider)`` returns the one for a provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from clamp.model import Change, Finding, Provider, Resource


@dataclass(frozen=True, slots=True)
class Revocation:
    """The changes that revoke an identity's roles, and what the plan says about them."""

    changes: tuple[Change, ...]
    """Empty when the identities hold no role to revoke."""
    summary: str
    blast_radius: str
    after: tuple[Resource, ...]
    """The resources read with the VM, as the changes leave them (for re-running checks)."""


@dataclass(frozen=True, slots=True)
class Detach:
    """What ``detach_identity`` was asked for, in Clamp's terms (None: not asked)."""

    replacement: str | None = None
    """A least-privilege identity to run as instead of none (GCP's ``service_account``)."""
    disable_system: bool | None = None
    """Turn a system-assigned identity off too (Azure's ``system_identity``)."""


@dataclass(frozen=True, slots=True)
class Detachment:
    """The change that takes identities off a VM, and what the plan says about it."""

    change: Change
    summary: str
    blast_radius: str
    irreversible: bool
    """Whether undo cannot give back what the change takes (a system identity's principal)."""


class IdentityChanges(ABC):
    """One cloud's changes to a VM's identity and its roles, in Clamp's terms. Pure: no I/O.

    Methods raise ``NothingToDo`` or ``PlanRefused`` (``clamp.errors``) only where the
    cloud's objects say so (no identity to detach, the project policy not read)."""

    provider: ClassVar[Provider]

    @abstractmethod
    def holders(self, vm: Resource) -> set[str]:
        """The identities the VM runs as, as role grants name them (Azure principal ids,
        GCP ``serviceAccount:<email>`` members)."""

    @abstractmethod
    def flagged(self, vm: Resource, finding: Finding) -> set[str]:
        """The identities of ``vm`` whose broad roles ``finding`` reports."""

    @abstractmethod
    def revocation(
        self,
        vm: Resource,
        context: Sequence[Resource],
        holders: Collection[str],
        *,
        broad_only: bool,
    ) -> Revocation:
        """Revoke the roles ``holders`` hold (only the broad ones at subscription, group or
        project level when ``broad_only``). ``context``: the resources read with the VM
        (role assignments and definitions, the project IAM policy), not the VM itself."""

    @abstractmethod
    def detach_flagged(self, vm: Resource, finding: Finding, asked: Detach) -> Detachment:
        """Take the identities ``finding`` reports as overpowered off the VM."""

    @abstractmethod
    def detach_all(self, vm: Resource, asked: Detach) -> Detachment:
        """Incident response: take every identity off the VM that can be given back (and
        a system-assigned one when ``asked.disable_system``)."""


def flagged_identities(finding: Finding) -> list[Mapping[str, Any]]:
    """The ``identities`` entries of a ``vm-identity-overprivileged`` finding."""
    return [i for i in finding.details.get("identities") or [] if isinstance(i, Mapping)]

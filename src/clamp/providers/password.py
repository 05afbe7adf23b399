"""The password plug-point: what ``apply_password_policy`` needs from a cloud's directory.

The intent (``clamp.actions.password``) finds the baseline items a tenant does not meet
(``clamp.checks.password``, in Clamp's terms: ``expiry on <domain>``, ``lockout after N
failed attempts``, ``MFA for everyone``) and a ``PasswordChanges`` of the tenant's cloud
answers with the changes its API can make, in the API's raw shape (Graph domain and
group-setting PATCH bodies), and the console steps for the rest. Every method is pure: it
reads the ``Resource`` as read just now, and never calls the cloud. One implementation per
cloud (``providers/azure/entra_password.py``, ``providers/gcp/customer_password.py``);
``clamp.providers.factory.password_changes(provider)`` returns the one for a provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from clamp.baseline import PasswordBaseline
from clamp.model import Change, Provider, Resource, ResourceType

MFA = "MFA for everyone"
"""The baseline item no password API changes: it is a decision with a blast radius of its
own (who signs in how), so every cloud gives it as console steps."""


@dataclass(frozen=True, slots=True)
class PasswordFixes:
    """The changes that close a tenant's gaps, the console steps for the rest (by item),
    and what the changes mean for users."""

    changes: tuple[Change, ...] = ()
    manual: Mapping[str, str] = field(default_factory=dict)
    effects: str = ""


class PasswordChanges(ABC):
    """One cloud's password-policy changes for a tenant, in Clamp's terms. Pure: no I/O.

    ``fixes`` raises ``PlanRefused`` (``clamp.errors``) where the cloud's API cannot change
    the policy at all, with the console steps."""

    provider: ClassVar[Provider]
    tenant_type: ClassVar[ResourceType]
    """The resource holding the password policy: an Entra tenant, a Google customer."""
    noun: ClassVar[str]
    """What the cloud calls it, in messages: ``tenant``, ``customer``."""

    @abstractmethod
    def fixes(
        self, tenant: Resource, unmet: Sequence[str], baseline: PasswordBaseline
    ) -> PasswordFixes:
        """The changes (and manual steps) that meet ``baseline`` for the ``unmet`` items."""

    @abstractmethod
    def describe(self, change: Change) -> str:
        """What one of the changes ``fixes`` gave does, in a user's words."""

"""The layer plug-point: what ``restrict_ingress`` needs from a cloud when a port is opened
by a policy layer (a network firewall policy rule, a security admin rule) rather than by
an NSG or a VPC firewall rule.

The finding names the opening rule (``OpeningRule``: its layer, name and priority, from
``details.decided_by`` / ``details.rules``); a ``LayerChanges`` of the finding's cloud says
whether that layer is the project's own to change (``owner``: who else owns it) and
answers with the rule's narrowed sources in the cloud's raw shape (``narrow``). Pure: it
reads the ``Resource`` as read just now and never calls the cloud. One implementation
per cloud that has one (``providers/gcp/policy_rule_changes.py``);
``clamp.providers.factory.layer_changes(provider)`` returns it or None.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

from clamp.model import PortRange, Provider, Resource, ResourceType
from clamp.providers.ingress import Keep, RuleFix


@dataclass(frozen=True, slots=True)
class OpeningRule:
    """The policy rule a finding says lets the internet in."""

    layer: str
    name: str
    priority: int


def free_beside(priority: int, taken: Collection[int], first: int, last: int) -> int | None:
    """The free priority right beside ``priority`` (the next number first, then the one
    before) within ``first``..``last``, where a rule split off it is evaluated where it is
    (nothing lies between the two); None when both are taken."""
    return next(
        (p for p in (priority + 1, priority - 1) if p not in taken and first <= p <= last), None
    )


class LayerChanges(ABC):
    """One cloud's changes to the policy rule that opens a port. Pure: no I/O."""

    provider: ClassVar[Provider]
    resource_type: ClassVar[ResourceType]
    """The resource whose findings name a policy layer (a VPC network, a VNet)."""
    kind: ClassVar[str]
    """What the layers are, in messages: ``firewall policies of network``."""
    noun: ClassVar[str]
    """What the cloud calls a VM, in messages."""
    note: ClassVar[str]
    """What else a change to such a rule touches, for the blast radius."""
    not_local: ClassVar[str] = ""
    """Why no local change closes a port a layer ``owner`` names opens, for the refusal."""

    @abstractmethod
    def owner(self, resource: Resource, layer: str) -> str | None:
        """None when the resource's own project can change ``layer``; else a sentence
        naming who owns it and where it is attached (for the plan's refusal)."""

    @abstractmethod
    def narrow(
        self, resource: Resource, rule: OpeningRule, sensitive: tuple[PortRange, ...], keep: Keep
    ) -> RuleFix:
        """The change that takes the internet out of ``rule``'s sources (it keeps what
        ``keep`` gives); ``PlanRefused`` when no such narrow change exists (the rule also
        opens other ports, it was not read)."""

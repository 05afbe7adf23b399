"""The ingress plug-point: what ``restrict_ingress`` needs from a cloud about one rule set.

The intent (``clamp.actions.restrict_ingress``) decides in Clamp's terms: which ports are
sensitive, which ``--allow`` ranges keep access, and that a rule keeps its non-internet
sources (``Keep``). An ``IngressChanges`` of the resource's cloud answers with the rule
changes in the cloud's raw shape: which rules open those ports to the internet, and how
each is narrowed (ARM security rules, their priorities and split-off copies; Compute
firewalls, their ``allowed`` entries and split-off firewalls). Every method is pure: it
reads the ``Resource`` as read just now, and never calls the cloud. One implementation per
cloud (``providers/azure/nsg_changes.py``, ``providers/gcp/firewall_changes.py``);
``clamp.providers.factory.ingress_changes(provider)`` returns the one for a provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from clamp.model import Change, NetworkRule, PortRange, Protocol, Provider, Resource, ResourceType
from clamp.ports import is_all

Ports = Mapping[Protocol, tuple[PortRange, ...]]

Keep = Callable[[Iterable[str], Callable[[str], bool]], list[str]]
"""The intent's rule for a rule's sources: given the sources and the cloud's test of
whether one of them is the internet, the sources that keep access (in order)."""


@dataclass(frozen=True, slots=True)
class RuleFix:
    """How one rule is narrowed: a phrase for the plan, its changes, and what it may break."""

    rule: str
    how: str
    changes: tuple[Change, ...]
    kept: tuple[str, ...] = ()
    warning: str = ""


@dataclass(frozen=True, slots=True)
class IngressFixes:
    """A cloud's answer: the rule fixes and the internet traffic they stop."""

    fixes: tuple[RuleFix, ...] = ()
    closed: Ports = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every change, in the order they are applied."""
        return tuple(c for fix in self.fixes for c in fix.changes)


class IngressChanges(ABC):
    """One cloud's rule changes that stop internet traffic to some ports. Pure: no I/O.

    Methods raise ``PlanRefused`` (``clamp.errors``) only where the cloud's objects say so
    (no free priority next to a rule for its split-off copy)."""

    provider: ClassVar[Provider]
    resource_type: ClassVar[ResourceType]
    """The resource whose rules are changed: an NSG, a firewall."""
    kind: ClassVar[str]
    """What the cloud calls that resource, in messages."""
    noun: ClassVar[str]
    """What the cloud calls a VM, in messages: ``VM``, ``instance``."""

    @abstractmethod
    def is_internet(self, source: str) -> bool:
        """Whether a source as the cloud writes it in a rule means the internet."""

    @abstractmethod
    def narrow(
        self,
        resource: Resource,
        sensitive: tuple[PortRange, ...],
        keep: Keep,
        suffix: str,
    ) -> IngressFixes:
        """The changes that stop internet traffic to ``sensitive`` ports through
        ``resource``: every offending rule keeps the sources ``keep`` gives; one that also
        opens other ports is split, the sensitive ports moving to a new rule named with
        ``suffix``. No fixes when nothing is open."""

    @abstractmethod
    def rules_after(self, resource: Resource, changes: Iterable[Change]) -> tuple[NetworkRule, ...]:
        """The rules ``resource`` (and any rule set the changes create beside it, such as a
        split-off firewall) holds once ``changes`` are applied; changes to other objects
        are ignored. Lets a plan's blast radius be evaluated on the rules it leaves."""


def port_strings(ranges: Iterable[PortRange], *, star: bool) -> list[str]:
    """Ports as the clouds write them: ``22``, ``20-25``; ``*`` for all when ``star``."""
    ranges = list(ranges)
    if star and is_all(ranges):
        return ["*"]
    return [str(r) for r in ranges]

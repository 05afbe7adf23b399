"""The intent plug-point: one page tells how to add a remediation or containment action.

An intent turns a finding and the freshly read resource into a ``Plan`` (pure: no I/O).
The engine applies the plan's changes through the provider driver, verifies by re-reading
and re-evaluating, and undoes by applying the inverse changes. Every intent declares its
name, category, parameter schema, the cloud permissions it needs and whether it can be
undone; a meta-test walks the registry to prove it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, ClassVar

from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.model import Finding, Plan, Provider, Resource, ResourceType
from clamp.registry import Registry


class Category(StrEnum):
    """Who may run an intent: the security team (remediation) or responders (containment)."""

    REMEDIATION = "remediation"
    CONTAINMENT = "containment"


VM_TARGETS = (ResourceType.AZURE_VM, ResourceType.GCP_INSTANCE)
"""What containment acts on: virtual machines."""

NO_PARAMS: Mapping[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
"""The parameter schema of an intent that takes none."""


class Intent(ABC):
    """A named change Clamp knows how to plan, apply, verify and undo."""

    name: ClassVar[str]
    category: ClassVar[Category]
    reversible: ClassVar[bool]
    irreversible: ClassVar[bool] = False
    """True for a change that can never be taken back (a locked retention policy, a
    deletion): its plan needs an explicit extra confirmation and automation never runs it."""
    fixes: ClassVar[tuple[str, ...]]
    """The checks whose findings it fixes (the one place this is declared)."""
    preferred: ClassVar[tuple[str, ...]] = ()
    """The checks it is the default fix of (``clamp fix`` without ``--intent``)."""
    params_schema: ClassVar[Mapping[str, Any]]
    permissions: ClassVar[Mapping[Provider, tuple[str, ...]]]
    """The cloud permissions per provider the intent supports (others are refused)."""
    targets: ClassVar[tuple[ResourceType, ...]] = ()
    """The resource types it can also act on directly, by cloud id (incident response)."""

    @classmethod
    def check_values(cls, params: Mapping[str, Any]) -> None:
        """Refuse (``InputError``) parameter values the schema cannot judge: a network that
        would widen what the intent narrows. Rules, playbooks and ``clamp fix`` call it
        when they load, before anything is planned. Most intents have none to judge."""
        return

    @classmethod
    def irreversible_with(cls, params: Mapping[str, Any]) -> bool:
        """Whether a plan with these parameters can never be undone (most intents: always
        or never; ``detach_identity`` when asked to disable a system-assigned identity)."""
        return cls.irreversible

    @abstractmethod
    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """The exact changes that make ``finding`` go away on ``resource`` (read just now).

        ``context`` holds the resources read with it (``CloudDriver.read_related``).
        Raises ``PlanRefused`` when no safe plan exists, ``InputError`` for bad params."""

    def contain(
        self,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
        *,
        origin: Resource | None = None,
    ) -> Plan:
        """The changes that contain ``resource`` (a VM read just now), without a finding;
        no I/O. Only intents with ``targets`` implement it (``ActionEngine.plan_containment``).

        ``origin`` is the VM as it was when the incident response began (a playbook run
        reads it once), so a step can act on what an earlier step already took away (the
        roles of an identity that ``detach_identity`` removed from the VM)."""
        raise PlanRefused(f"{self.name} fixes findings; it does not act on a target")


INTENTS: Registry[type[Intent]] = Registry("intent")


def remediations(check: str) -> tuple[str, ...]:
    """The intents that fix ``check``: the preferred one first, then those that can be
    undone, then the rest, each group by name."""
    fixing = [(name, intent) for name, intent in INTENTS if check in intent.fixes]
    ranked = sorted(
        fixing,
        key=lambda item: (check not in item[1].preferred, not item[1].reversible, item[0]),
    )
    return tuple(name for name, _ in ranked)


class Containment(Intent):
    """An incident-response intent: it acts on a target (a VM), never on a finding.

    The engine verifies its plan by re-reading every object it changed (there is no
    finding to disappear)."""

    category = Category.CONTAINMENT
    reversible = True
    fixes = ()
    targets: ClassVar[tuple[ResourceType, ...]] = VM_TARGETS

    @abstractmethod
    def contain(
        self,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
        *,
        origin: Resource | None = None,
    ) -> Plan:
        """The changes that contain ``resource`` (read just now); no I/O."""

    def plan(
        self,
        finding: Finding,
        resource: Resource,
        params: Mapping[str, Any],
        settings: Settings,
        context: Sequence[Resource] = (),
    ) -> Plan:
        """Containment acts on a target, not a finding: ``ActionEngine.plan_containment``."""
        raise PlanRefused(f"{self.name} contains a VM; it does not fix finding {finding.id}")

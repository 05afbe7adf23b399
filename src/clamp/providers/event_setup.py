"""The cloud side of change events as a plan: the objects ``clamp events setup`` makes on
a cloud (an Event Grid subscription; a topic, log sink, grant and push subscription), each
with the SDK call that makes it, the permission that call needs and whether it exists
already. Provider-neutral records, no SDK: the drivers' ``event_subscriptions`` (Azure)
and ``event_sinks`` (Google Cloud) compute and apply them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SetupStep:
    """One object of the cloud side: ``exists`` when it is there as wanted already (then
    applying the plan leaves it alone)."""

    kind: str
    """What it is, in the cloud's words: ``system topic``, ``log sink``, …"""
    name: str
    call: str
    """The SDK call that makes it."""
    permission: str
    """What that call needs granted."""
    exists: bool
    detail: str = ""


@dataclass(frozen=True)
class SetupPlan:
    """Everything one setup makes, in order, and the least privilege it needs."""

    provider: str
    scope: str
    steps: tuple[SetupStep, ...]
    permissions: tuple[str, ...]
    """Every permission planning and applying need (the reads, each step's call, and what
    those calls need besides)."""
    roles: tuple[str, ...]
    """Built-in roles that hold every permission, narrowest first."""
    notes: tuple[str, ...] = field(default=())

    @property
    def missing(self) -> tuple[SetupStep, ...]:
        """The steps applying the plan performs."""
        return tuple(s for s in self.steps if not s.exists)


class EventSetup(Protocol):
    """A cloud's setup: read what exists into a plan; make what the plan lacks."""

    def plan(self) -> SetupPlan:
        """What exists and what would be made (reads only)."""

    def apply(self, plan: SetupPlan, made: list[SetupStep]) -> None:
        """Make the plan's missing steps in order, appending each one made to ``made``
        as soon as it is (so a failure part-way still says what was made)."""


def made_names(steps: Sequence[SetupStep]) -> list[str]:
    """``kind name`` of each step, for the audit log and the summary."""
    return [f"{s.kind} {s.name}" for s in steps]

"""What the store hands back: a finding with its lifecycle, a scan's summary, an audit entry,
and what automation keeps (rule state, rule actions, the inventory)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clamp.model import Finding, FindingStatus, Outcome, Provider, Severity


@dataclass(frozen=True, slots=True)
class FindingsUpdate:
    """What re-reading some resources did to their findings: the ids it opened (new or
    reopened) and how many it resolved."""

    opened: tuple[str, ...]
    resolved: int


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """A stored finding: the ``Finding`` plus when it was seen and where it stands.

    ``status`` is the effective status: a suppression whose ``suppressed_until`` has
    passed reads as ``open`` (the reason and expiry stay visible).
    """

    finding: Finding
    status: FindingStatus
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None
    suppressed_reason: str | None = None
    suppressed_until: datetime | None = None
    suppressed_by: str | None = None

    @property
    def id(self) -> str:
        """The finding's stable id."""
        return self.finding.id

    @property
    def check(self) -> str:
        """The check that raised it."""
        return self.finding.check

    @property
    def provider(self) -> Provider:
        """The cloud it is on."""
        return self.finding.provider

    @property
    def resource(self) -> str:
        """The cloud id of the resource (ARM id or full resource name)."""
        return self.finding.resource

    @property
    def scope(self) -> str:
        """The subscription id or project id."""
        return self.finding.scope

    @property
    def severity(self) -> Severity:
        """How bad it is."""
        return self.finding.severity

    @property
    def title(self) -> str:
        """One line for humans."""
        return self.finding.title

    @property
    def details(self) -> Mapping[str, Any]:
        """What causes it (rules, ports, sources, reach), JSON-ready."""
        return self.finding.details


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """How one recorded scan moved the findings of the scopes it covered.

    ``open`` counts the findings this scan saw that are open now (new and reopened
    included); ``suppressed`` those it saw under a live suppression.
    """

    new: int
    open: int
    resolved: int
    reopened: int
    suppressed: int = 0
    resources: int = 0
    source: str = ""
    scopes: tuple[tuple[Provider, str], ...] = ()
    recorded: datetime | None = None

    def __str__(self) -> str:
        counts = f"{self.new} new, {self.open} open, {self.resolved} resolved"
        text = f"{counts}, {self.reopened} reopened"
        return text + (f", {self.suppressed} suppressed" if self.suppressed else "")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the audit log: who did what, when, and its place in the chain."""

    seq: int
    timestamp: datetime
    event: str
    actor: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditNote:
    """An audit entry to append in the same transaction as the record it tells of, so a
    crash can never keep one without the other."""

    event: str
    actor: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RuleState:
    """Where a rule stands: when it was enabled, its stage, whether it is halted."""

    name: str
    enabled: datetime
    stage: int = 0
    stage_since: datetime | None = None
    halted: str = ""
    """Why the rule is halted (its failure budget ran out), or empty."""
    last_run: datetime | None = None


@dataclass(frozen=True, slots=True)
class RuleAction:
    """One finding a rule took up in one run, and what came of it."""

    rule: str
    run: str
    finding: str
    intent: str
    outcome: Outcome
    """``planned``, ``applied``, ``failed``, ``queued`` or ``skipped``."""
    created: datetime
    reason: str = ""
    action: str | None = None
    stage: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InventoryItem:
    """A resource as the last scan saw it."""

    id: str
    provider: Provider
    scope: str
    type: str
    tags: Mapping[str, str]
    raw: Mapping[str, Any]

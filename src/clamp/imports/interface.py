"""What an importer hands Clamp: another tool's finding, as that tool reported it
(``ExternalFinding``), and what an import made of a batch of them (``ImportResult``).

One module per source turns its format into ``ExternalFinding``s: ``prowler`` (Prowler's
OCSF JSON file), ``clamp.providers.gcp.scc`` (Security Command Center findings) and
``clamp.providers.azure.defender`` (Defender for Cloud assessments); ``mapping`` maps them
to Clamp's checks and resources, ``record`` keeps the mapped ones in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from clamp.model import Finding, Provider, Severity


class Source(StrEnum):
    """The tools whose findings Clamp imports."""

    PROWLER = "prowler"
    SCC = "scc"
    DEFENDER = "defender"


@dataclass(frozen=True, slots=True)
class ExternalFinding:
    """One failing finding of another tool, in that tool's words.

    ``rule`` is what the tool calls the problem (Prowler's check id, SCC's category,
    Defender's assessment key); ``resource`` the resource id it reported, ``name`` the
    resource's name and ``scope`` its subscription or project, as far as it said."""

    source: Source
    uid: str
    rule: str
    provider: Provider | None
    scope: str
    resource: str
    name: str = ""
    title: str = ""
    severity: Severity | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The external finding as JSON (what ``clamp import`` lists)."""
        return {
            "source": str(self.source),
            "uid": self.uid,
            "rule": self.rule,
            "provider": str(self.provider) if self.provider else None,
            "scope": self.scope,
            "resource": self.resource,
            "name": self.name,
            "title": self.title,
            "severity": str(self.severity) if self.severity else None,
        }


@dataclass(frozen=True, slots=True)
class Unmapped:
    """An external finding Clamp has no check (or no resource) for, and why."""

    finding: ExternalFinding
    reason: str


@dataclass
class ImportResult:
    """What one import read: mapped findings (Clamp's check and resource), the ones it
    could not map (listed, never dropped), and how many the tool itself reported passing."""

    source: Source
    mapped: list[Finding] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    passed: int = 0
    already_found: list[str] = field(default_factory=list)
    """Ids of mapped findings Clamp had already found itself (their evidence is kept)."""

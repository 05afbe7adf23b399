"""What ``clamp fix`` and the console add to a network plan: its observed blast radius
(``preview``) and, with ``--allow-observed``, the proof that the clients seen keep access.

The flow history is the caller's (``FlowHistory | None``: None means no flow logs were
ingested); nothing here reaches for a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clamp.errors import PlanRefused
from clamp.events.flows.classify import Classifier, build
from clamp.events.flows.model import FlowHistory
from clamp.events.flows.narrowing import ObservedClients, observed_clients
from clamp.events.flows.options import FlowOptions
from clamp.events.flows.preview import NO_LOGS, Preview, is_network_plan, kept_after, preview
from clamp.model import Finding, Plan, Resource


@dataclass(frozen=True)
class PlanEvidence:
    """A plan's preview and, for ``--allow-observed``, who keeps access."""

    preview: Preview | None
    kept: list[dict[str, Any]] = field(default_factory=list)
    threats_blocked: list[dict[str, Any]] = field(default_factory=list)
    narrowed: bool = False

    def to_json(self) -> dict[str, Any]:
        """Keys added to the plan's JSON (``observed_flows``, ``coverage``, ...)."""
        out: dict[str, Any] = self.preview.to_json() if self.preview else {}
        if self.narrowed:
            out["allow_observed"] = {"kept": self.kept, "threats_blocked": self.threats_blocked}
        return out

    def lines(self) -> list[str]:
        """The evidence in words for the terminal."""
        out = self.preview.lines() if self.preview else []
        if self.narrowed:
            out.append(
                f"--allow-observed: {len(self.kept)} observed client(s) keep access (checked "
                f"against the fixed rules); {len(self.threats_blocked)} threat-listed source(s) "
                "are cut"
            )
        return out


class FlowEvidence:
    """Builds the classifier once (lists are read on first use) for one command."""

    def __init__(
        self, history: FlowHistory | None, options: FlowOptions, own_ranges: Iterable[str] = ()
    ) -> None:
        self.history = history
        self.options = options
        self.own_ranges = list(own_ranges)
        self._classifier: Classifier | None = None

    @property
    def classifier(self) -> Classifier:
        """The source classifier the config describes."""
        if self._classifier is None:
            self._classifier = build(self.options, self.own_ranges)
        return self._classifier

    def clients(self, finding: Finding, now: datetime | None = None) -> ObservedClients:
        """The sources seen using ``finding``'s exposure (``--allow-observed``)."""
        if self.history is None:
            return observed_clients(finding, None, Classifier(), self.options, _now(now))
        return observed_clients(finding, self.history, self.classifier, self.options, _now(now))

    def for_plan(
        self,
        plan: Plan,
        finding: Finding | None,
        related: Sequence[Resource],
        clients: ObservedClients | None = None,
        now: datetime | None = None,
    ) -> PlanEvidence:
        """The plan's preview; with ``clients``, proof they keep access (else refused)."""
        if not is_network_plan(plan):
            return PlanEvidence(None)
        if self.history is None:
            return PlanEvidence(Preview(note=NO_LOGS))
        shown = preview(
            plan, finding, related, self.history, self.classifier, self.options, _now(now)
        )
        if clients is None:
            return PlanEvidence(shown)
        kept, cut = kept_after(plan, related, clients.clients)
        if cut:
            sources = ", ".join(sorted({str(c["source"]) for c in cut})[:5])
            raise PlanRefused(
                f"the narrowed rules would still cut observed clients ({sources}); nothing "
                "was changed"
            )
        open_to, _ = kept_after(plan, related, clients.threats)
        if open_to:
            sources = ", ".join(sorted({str(c["source"]) for c in open_to})[:5])
            raise PlanRefused(f"the narrowed rules still admit threat-listed {sources}")
        return PlanEvidence(shown, [dict(c) for c in kept], clients.threats, narrowed=True)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)

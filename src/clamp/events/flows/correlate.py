"""Exposure findings meet kept flows: ``details.observed``, ``details.signals`` and a rank.

A finding of ``exposed-admin-port`` / ``exposed-database-port`` names the VMs it exposes
(``details.reaches``: VM, NIC or instance ids and their ``addresses``) and the ports; the
flows to those VMs on those ports over the window become ``details.observed`` — one entry
per source, port, protocol and decision with ``source``, ``port``, ``protocol``,
``decision``, ``class``, ``flows``, ``last_seen`` — and ``details.signals``.

Ranking: a finding on which any signal beyond ``exposure-confirmed`` fires (reached, a
brute force, a scan, a threat match, an outbound anomaly) goes up one severity (high →
critical), its severity before in ``details.severity_before_signals``; ``exposure-confirmed``
alone keeps the severity. Findings without flows are returned unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from clamp.events.flows.classify import Classifier
from clamp.events.flows.model import FlowAggregate, FlowHistory
from clamp.events.flows.options import FlowOptions
from clamp.events.flows.signals import (
    Signal,
    SignalKind,
    Target,
    caveats_for,
    coverage_json,
    detect,
    flows_of,
    targets_of,
)
from clamp.model import Direction, Finding, Severity

EXPOSURE_CHECKS = frozenset({"exposed-admin-port", "exposed-database-port"})
MAX_OBSERVED = 50
"""Entries of ``details.observed`` (the busiest first)."""


def observed_entries(
    flows: Iterable[FlowAggregate], classifier: Classifier, limit: int = MAX_OBSERVED
) -> list[dict[str, Any]]:
    """Flows folded per source, port, protocol and decision, busiest first, in the
    contract's fields: source, port, protocol, decision, class, flows, last_seen."""
    folded: dict[tuple[str, int | None, str, str], list[Any]] = {}
    for f in flows:
        key = (f.source, f.port, f.protocol, str(f.decision))
        entry = folded.setdefault(key, [0, f.last_seen])
        entry[0] += f.flows
        entry[1] = max(entry[1], f.last_seen)
    rows = [
        {
            "source": source,
            "port": port,
            "protocol": protocol,
            "decision": decision,
            "class": str(classifier.classify(source)),
            "flows": count,
            "last_seen": last.isoformat(),
        }
        for (source, port, protocol, decision), (count, last) in folded.items()
    ]
    rows.sort(key=lambda r: (-r["flows"], r["source"], r["port"] or 0))
    return rows[:limit]


@dataclass(frozen=True)
class Correlation:
    """Findings as correlated and every signal that fired (for ``on: signal`` rules)."""

    findings: list[Finding]
    signals: list[Signal]


def correlate(
    findings: Sequence[Finding],
    history: FlowHistory | None,
    classifier: Classifier,
    options: FlowOptions,
    now: datetime,
) -> Correlation:
    """Exposure findings with their flow evidence and rank (others unchanged); with no
    flow history, the findings as they are."""
    if history is None:
        return Correlation(list(findings), [])
    out: list[Finding] = []
    fired: list[Signal] = []
    since = now - options.window
    for finding in findings:
        if finding.check not in EXPOSURE_CHECKS:
            out.append(finding)
            continue
        targets = targets_of(finding.id, finding.provider, finding.details)
        signals = [s for t in targets for s in detect(t, history, classifier, options, now)]
        flows = [f for t in targets for f in _inbound(history, t, since)]
        fired.extend(signals)
        out.append(with_evidence(finding, flows, signals, classifier) if flows else finding)
    return Correlation(out, fired)


def _inbound(history: FlowHistory, target: Target, since: datetime) -> list[FlowAggregate]:
    return [f for f in flows_of(history, target, since, Direction.INGRESS) if target.takes(f)]


def with_evidence(
    finding: Finding,
    flows: Sequence[FlowAggregate],
    signals: Sequence[Signal],
    classifier: Classifier,
) -> Finding:
    """``finding`` with ``details.observed``, ``details.signals`` and its rank."""
    details: dict[str, Any] = dict(finding.details)
    details["observed"] = observed_entries(flows, classifier)
    details["signals"] = [s.to_json() for s in signals]
    if signals:
        details["coverage"] = coverage_json(signals[0].coverage)
        details["caveats"] = list(signals[0].caveats)
    severity = finding.severity
    if any(s.kind != SignalKind.EXPOSURE_CONFIRMED for s in signals):
        details["severity_before_signals"] = str(severity)
        severity = ranked_up(severity)
    return replace(finding, details=details, severity=severity)


def ranked_up(severity: Severity) -> Severity:
    """One severity up, at most critical."""
    order = list(Severity)
    return order[min(order.index(severity) + 1, len(order) - 1)]


__all__ = ["Correlation", "caveats_for", "correlate", "observed_entries", "with_evidence"]

"""``clamp fix --allow-observed``: narrow an exposure to the sources actually seen.

The sources whose inbound flows to the finding's VMs and ports were allowed over the last
``[flows] preview_days`` days — minus threat-listed ones — become the fix's ``allow`` list
(each address as a /32 or /128), so ``restrict_ingress`` keeps exactly those clients and
closes the port to everyone else. At most ``[flows] allow_observed_max`` sources: more
than that is no longer a list of clients (name ranges with ``--allow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clamp.errors import InputError, PlanRefused
from clamp.events.flows.classify import Classifier, network_of
from clamp.events.flows.correlate import observed_entries
from clamp.events.flows.model import FlowDecision, FlowHistory, SourceClass
from clamp.events.flows.options import FlowOptions
from clamp.events.flows.signals import flows_of, targets_of
from clamp.model import Direction, Finding


@dataclass(frozen=True)
class ObservedClients:
    """Who keeps access: the ``allow`` CIDRs, the clients behind them, and the threat
    sources left out."""

    allow: list[str]
    clients: list[dict[str, Any]]
    threats: list[dict[str, Any]]


def observed_clients(
    finding: Finding,
    history: FlowHistory | None,
    classifier: Classifier,
    options: FlowOptions,
    now: datetime,
) -> ObservedClients:
    """The sources seen using the finding's exposure, as ``allow`` CIDRs."""
    if history is None:
        raise InputError("--allow-observed needs flow logs; no flow logs ingested")
    since = now - timedelta(days=options.preview_days)
    flows = []
    for target in targets_of(finding.id, finding.provider, finding.details):
        flows += [
            f
            for f in flows_of(history, target, since, Direction.INGRESS)
            if target.takes(f) and f.decision == FlowDecision.ALLOWED
        ]
    entries = observed_entries(dict.fromkeys(flows), classifier, limit=len(flows) or 1)
    threats = [e for e in entries if e["class"] == SourceClass.THREAT]
    clients = [e for e in entries if e["class"] != SourceClass.THREAT]
    if not clients:
        raise PlanRefused(
            f"no client was seen on {finding.id}'s ports in the last {options.preview_days} "
            "days; nothing to keep: fix it without --allow-observed"
        )
    allow = list(dict.fromkeys(str(network_of(e["source"])) for e in clients))
    if len(allow) > options.allow_observed_max:
        raise InputError(
            f"{len(allow)} sources were seen on {finding.id}'s ports; --allow-observed keeps "
            f"at most {options.allow_observed_max} ([flows] allow_observed_max): name the "
            "networks that need access with --allow"
        )
    return ObservedClients(allow, clients, threats)

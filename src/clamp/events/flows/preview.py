"""The blast radius of a network plan in observed flows: who was seen using what it closes.

A network plan is ``isolate_instance`` or any plan that changes NSG security rules or VPC
firewalls (``restrict_ingress``, a plugin's rule change). Over the last ``[flows]
preview_days`` days:

- a rule change cuts an inbound flow that was allowed, that the rules before the change
  admit and that the rules after it do not (``clamp.events.flows.verdict``: the exposure
  engine asked about that one source), to the VMs the finding names;
- an isolation cuts every flow to and from the VM, except SSH/RDP from its forensics range.

The preview lists those flows (``observed_flows``, the fields of ``details.observed``),
groups them by source class with counts and last-seen times, and states the coverage and
its caveats. Without flow history it says "no flow logs ingested".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clamp.events.flows.classify import Classifier, network_of
from clamp.events.flows.correlate import observed_entries
from clamp.events.flows.model import FlowAggregate, FlowDecision, FlowHistory
from clamp.events.flows.options import FlowOptions
from clamp.events.flows.signals import Target, caveats_for, coverage_json, flows_of, targets_of
from clamp.events.flows.verdict import UNMAPPED_CAVEAT, admits
from clamp.exposure import gcp_network_key
from clamp.model import (
    ChangeType,
    Direction,
    Finding,
    NetworkRule,
    Plan,
    Provider,
    Resource,
    ResourceType,
)
from clamp.providers.factory import ingress_changes

NO_LOGS = "no flow logs ingested: the flows this change would cut are unknown"
RULE_CHANGES = frozenset(
    {ChangeType.AZURE_SECURITY_RULE, ChangeType.AZURE_NSG, ChangeType.GCP_FIREWALL}
)
ISOLATION = "isolate_instance"
RULE_SETS = (ResourceType.AZURE_NSG, ResourceType.GCP_FIREWALL)
"""The resources whose rules a preview evaluates source by source."""
FORENSICS_PORTS = (22, 3389)


@dataclass(frozen=True)
class Preview:
    """The flows a plan would cut, grouped by source class, and what bounds the answer."""

    observed_flows: list[dict[str, Any]] = field(default_factory=list)
    by_class: dict[str, dict[str, Any]] = field(default_factory=dict)
    coverage: dict[str, Any] | None = None
    caveats: list[str] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The keys ``clamp fix --dry-run --format json`` adds to the plan."""
        return {
            "observed_flows": self.observed_flows,
            "observed_by_class": self.by_class,
            "coverage": self.coverage,
            "observed_caveats": self.caveats,
            **({"observed_note": self.note} if self.note else {}),
        }

    def lines(self) -> list[str]:
        """The preview in words, one line each, for the terminal and the console."""
        if self.note:
            return [self.note]
        if not self.observed_flows:
            return [
                f"no observed flow would be cut in the last {self._days()} (see coverage)",
                *self.caveats[:1],
            ]
        out = [
            f"{c}: {g['flows']} flow(s) from {g['sources']} source(s), last seen {g['last_seen']}"
            for c, g in sorted(self.by_class.items())
        ]
        return [*out, *self.caveats[:1]]

    def _days(self) -> str:
        if not self.coverage:
            return "window"
        since = datetime.fromisoformat(self.coverage["since"])
        until = datetime.fromisoformat(self.coverage["until"])
        return f"{(until - since).days} days"


def is_network_plan(plan: Plan) -> bool:
    """Whether ``plan`` changes what traffic reaches a VM."""
    return plan.intent == ISOLATION or any(c.type in RULE_CHANGES for c in plan.changes)


def preview(
    plan: Plan,
    finding: Finding | None,
    related: Sequence[Resource],
    history: FlowHistory | None,
    classifier: Classifier,
    options: FlowOptions,
    now: datetime,
) -> Preview | None:
    """The observed flows ``plan`` would cut (None: not a network plan). ``related``: the
    plan's resource as read for it, first, with what was read with it."""
    if not is_network_plan(plan):
        return None
    if history is None:
        return Preview(note=NO_LOGS)
    since = now - timedelta(days=options.preview_days)
    if plan.intent == ISOLATION:
        target = vm_target(plan.resource, plan.provider, related)
        cut = _isolation_cut(plan, history, target, since)
    else:
        targets = targets_of(plan.finding, plan.provider, finding.details) if finding else []
        target = _merged(targets, plan)
        judged = bool(related) and related[0].type in RULE_SETS
        cut = _rule_cut(plan, related, history, targets, since) if targets and judged else []
    coverage = history.coverage(since=since, resource_ids=target.ids)
    caveats = list(caveats_for(plan.provider, coverage))
    if plan.intent != ISOLATION:
        caveats.append(UNMAPPED_CAVEAT)
    if not target.ids and not target.addresses:
        caveats.insert(0, "the plan names no VM whose flows could be looked up")
    elif plan.intent != ISOLATION and not (related and related[0].type in RULE_SETS):
        caveats.insert(
            0,
            f"the rules of a {related[0].type if related else 'resource'} are "
            "not evaluated per source: no flow is listed as cut",
        )
    return Preview(
        observed_flows=observed_entries(cut, classifier, limit=200),
        by_class=by_class(cut, classifier),
        coverage=coverage_json(coverage),
        caveats=caveats,
    )


def by_class(flows: Sequence[FlowAggregate], classifier: Classifier) -> dict[str, dict[str, Any]]:
    """Flows, distinct remote addresses and last-seen time per source class."""
    groups: dict[str, dict[str, Any]] = {}
    for f in flows:
        remote = f.source if f.direction == Direction.INGRESS else f.destination
        group = groups.setdefault(
            str(classifier.classify(remote)),
            {"flows": 0, "sources": set(), "last_seen": f.last_seen},
        )
        group["flows"] += f.flows
        group["sources"].add(remote)
        group["last_seen"] = max(group["last_seen"], f.last_seen)
    return {
        c: {
            "flows": g["flows"],
            "sources": len(g["sources"]),
            "last_seen": g["last_seen"].isoformat(),
        }
        for c, g in groups.items()
    }


def vm_target(vm: str, provider: Provider, related: Sequence[Resource]) -> Target:
    """A VM (or instance) with the NIC ids and addresses flow logs may name it by."""
    ids = [vm]
    addresses: list[str] = []
    by_id = {r.id.lower(): r for r in related}
    for r in related:
        if r.type == ResourceType.AZURE_NIC and str(r.facets.get("vm") or "").lower() == vm.lower():
            ids.append(r.id)
            addresses += r.facets.get("private_ips", ())
            for ip in r.facets.get("public_ips", ()):
                found = by_id.get(str(ip).lower())
                if found is not None and found.facets.get("ip_address"):
                    addresses.append(str(found.facets["ip_address"]))
        elif r.id == vm and r.type == ResourceType.GCP_INSTANCE:
            addresses += r.facets.get("addresses", ())
    return Target(vm, provider, tuple(ids), tuple(addresses), (), frozenset())


def _merged(targets: Sequence[Target], plan: Plan) -> Target:
    return Target(
        plan.resource,
        plan.provider,
        tuple(i for t in targets for i in t.ids),
        tuple(a for t in targets for a in t.addresses),
        (),
        frozenset(),
    )


def _isolation_cut(
    plan: Plan, history: FlowHistory, target: Target, since: datetime
) -> list[FlowAggregate]:
    forensics = network_of(str(plan.params.get("forensics_cidr") or ""))
    flows = flows_of(history, target, since, Direction.INGRESS)
    flows += flows_of(history, target, since, Direction.EGRESS)
    cut = []
    for f in dict.fromkeys(flows):
        if f.decision != FlowDecision.ALLOWED:
            continue
        source = network_of(f.source)
        kept = (
            forensics is not None
            and f.direction == Direction.INGRESS
            and f.port in FORENSICS_PORTS
            and source is not None
            and source.version == forensics.version
            and source.network_address in forensics
        )
        if not kept:
            cut.append(f)
    return cut


def rule_sets(
    plan: Plan, related: Sequence[Resource]
) -> tuple[list[NetworkRule], list[NetworkRule]]:
    """The rules deciding for the plan's VMs before and after it: the NSG's own; for a
    GCP firewall, with the network's other untargeted firewalls beside it."""
    resource = related[0]
    after = list(ingress_changes(plan.provider).rules_after(resource, plan.changes))
    before = list(resource.facets["rules"])
    if resource.type == ResourceType.GCP_FIREWALL:
        key = gcp_network_key(resource.facets["network"], resource.scope)
        changed = {c.target for c in plan.changes}
        beside = [
            rule
            for other in related[1:]
            if other.type == ResourceType.GCP_FIREWALL
            and other.id not in changed
            and gcp_network_key(other.facets["network"], other.scope) == key
            for rule in other.facets["rules"]
            if not rule.target_tags and not rule.target_service_accounts
        ]
        before, after = before + beside, after + beside
    return before, after


def _rule_cut(
    plan: Plan,
    related: Sequence[Resource],
    history: FlowHistory,
    targets: Sequence[Target],
    since: datetime,
) -> list[FlowAggregate]:
    before, after = rule_sets(plan, related)
    seen: dict[FlowAggregate, None] = {}
    for target in targets:
        seen.update(dict.fromkeys(flows_of(history, target, since, Direction.INGRESS)))
    return [
        f
        for f in seen
        if f.decision == FlowDecision.ALLOWED
        and f.port is not None
        and admits(before, plan.provider, f.source, f.port, f.protocol)
        and not admits(after, plan.provider, f.source, f.port, f.protocol)
    ]


def kept_after(
    plan: Plan, related: Sequence[Resource], clients: Sequence[Mapping[str, Any]]
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(clients the fixed rules still admit, clients they do not): each client an
    ``observed`` entry (source, port, protocol), evaluated on the rules after ``plan``."""
    _, after = rule_sets(plan, related)
    admitted: list[Mapping[str, Any]] = []
    refused: list[Mapping[str, Any]] = []
    for c in clients:
        ok = admits(after, plan.provider, str(c["source"]), int(c["port"]), str(c["protocol"]))
        (admitted if ok else refused).append(c)
    return admitted, refused


__all__ = ["NO_LOGS", "Preview", "is_network_plan", "kept_after", "preview"]

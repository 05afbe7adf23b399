"""Signals: what kept flows say about one exposed VM and its exposed ports, over a window.

- ``exposure-confirmed``: an external source's inbound flow to the port was allowed;
- ``reached``: such a flow went both ways (the VM answered);
- ``many-to-one``: distinct external sources allowed in reached ``many_sources``;
- ``one-to-one-volume``: one external source made ``one_source_flows`` flows or more;
- ``success-after-failures``: a source with ``failures`` failed attempts (denied, or flows
  averaging under ``session_bytes``) then had a session (a later bucket averaging more);
- ``threat-match``: a flow from (or to) a threat-listed address;
- ``outbound-fan-out``: after the first external inbound flow, the VM reached ``fan_out``
  distinct destinations on 22 or 3389;
- ``outbound-spike``: after it, an hour's outbound bytes above ``spike_factor`` times the
  median hour before it.

External means internet, partner or threat (``Classifier.external``): organization ranges,
the VNets' own space and cloud service ranges never fire a signal, so internal-only
traffic fires nothing. Every signal carries the logging coverage and the caveats that
bound it: absence of flows is not proof of no traffic.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from clamp.errors import InputError
from clamp.events.flows.classify import Classifier
from clamp.events.flows.model import Coverage, FlowAggregate, FlowDecision, FlowHistory, SourceClass
from clamp.events.flows.options import FlowOptions
from clamp.model import Direction, PortRange, Provider
from clamp.ports import parse_ranges

FAN_OUT_PORTS = (22, 3389)
MIN_SPIKE_BYTES = 1_000_000
MAX_SOURCES_LISTED = 10
ABSENCE = (
    "absence of flows is not proof of no traffic: only logged NICs, subnets and rules are seen"
)
CAVEATS: Mapping[Provider, tuple[str, ...]] = {
    Provider.AZURE: (
        "Azure flow logs are written to storage about once a minute per NIC and read "
        "hourly blob by blob; the newest minutes may be missing",
    ),
    Provider.GCP: (
        "VPC Flow Logs sample packets at the subnet's sampling rate and aggregate them per "
        "interval: counts are estimates, short flows may be missed",
        "Firewall Rules Logging records a capped number of connections per VM per 5 "
        "seconds (by machine type); bursts beyond the cap are not logged",
    ),
}


class SignalKind(StrEnum):
    """What the flows showed."""

    EXPOSURE_CONFIRMED = "exposure-confirmed"
    REACHED = "reached"
    MANY_TO_ONE = "many-to-one"
    ONE_TO_ONE_VOLUME = "one-to-one-volume"
    SUCCESS_AFTER_FAILURES = "success-after-failures"
    THREAT_MATCH = "threat-match"
    OUTBOUND_FAN_OUT = "outbound-fan-out"
    OUTBOUND_SPIKE = "outbound-spike"


@dataclass(frozen=True, slots=True)
class Target:
    """One exposed VM: the ids and addresses flow logs may name it by, and its exposed
    ports and protocols (from an exposure finding's ``details``)."""

    resource: str
    """The VM's (or instance's) cloud id: what containment acts on."""
    provider: Provider
    ids: tuple[str, ...]
    addresses: tuple[str, ...]
    ports: tuple[PortRange, ...]
    protocols: frozenset[str]
    finding: str = ""

    def takes(self, flow: FlowAggregate) -> bool:
        """Whether an inbound flow is to one of the exposed ports and protocols."""
        return (
            flow.port is not None
            and any(flow.port in r for r in self.ports)
            and (not self.protocols or flow.protocol.lower() in self.protocols)
        )


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal on one exposed VM and port, with its evidence and its limits."""

    kind: SignalKind
    resource: str
    port: int | None
    protocol: str
    summary: str
    sources: tuple[str, ...]
    flows: int
    first_seen: datetime
    last_seen: datetime
    coverage: Coverage
    caveats: tuple[str, ...] = ()
    finding: str = ""
    provider: Provider = Provider.AZURE
    classes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The signal as a finding's ``details.signals`` entry and an incident's evidence."""
        return {
            "kind": str(self.kind),
            "resource": self.resource,
            "port": self.port,
            "protocol": self.protocol,
            "summary": self.summary,
            "sources": list(self.sources),
            "classes": list(self.classes),
            "flows": self.flows,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "coverage": coverage_json(self.coverage),
            "caveats": list(self.caveats),
        }


def coverage_json(coverage: Coverage) -> dict[str, Any]:
    """Coverage as JSON: the window, what was and was not logged, the notes."""
    return {
        "since": coverage.since.isoformat(),
        "until": coverage.until.isoformat(),
        "logged": list(coverage.logged),
        "unlogged": list(coverage.unlogged),
        "notes": list(coverage.notes),
    }


def targets_of(finding_id: str, provider: Provider, details: Mapping[str, Any]) -> list[Target]:
    """The exposed VMs an exposure finding names (``details.reaches``), with its ports."""
    try:
        ports = parse_ranges(details.get("ports") or ())
    except InputError:
        return []
    protocols = frozenset(str(p).lower() for p in details.get("protocols") or ())
    out = []
    for reach in details.get("reaches") or ():
        if not isinstance(reach, Mapping):
            continue
        vm = reach.get("vm") or reach.get("instance")
        if not vm:
            continue
        ids = tuple(str(i) for i in (vm, reach.get("nic")) if i)
        addresses = tuple(str(a) for a in reach.get("addresses") or ())
        out.append(Target(str(vm), provider, ids, addresses, ports, protocols, finding_id))
    return out


def flows_of(
    history: FlowHistory, target: Target, since: datetime, direction: Direction
) -> list[FlowAggregate]:
    """Kept flows of ``target`` in ``direction``: asked by resource id and, inbound, by
    destination address (two questions, so either way of naming the VM finds them)."""
    found: dict[FlowAggregate, None] = {}
    if target.ids:
        ids = history.observed(since=since, resource_ids=target.ids, direction=direction)
        found.update(dict.fromkeys(ids))
    if target.addresses and direction == Direction.INGRESS:
        by_ip = history.observed(since=since, destinations=target.addresses, direction=direction)
        found.update(dict.fromkeys(by_ip))
    return list(found)


def caveats_for(provider: Provider, coverage: Coverage) -> tuple[str, ...]:
    """The limits every signal and preview states."""
    unlogged = (
        (f"{len(coverage.unlogged)} resource(s) had no flow logging for the whole window",)
        if coverage.unlogged
        else ()
    )
    return (ABSENCE, *CAVEATS.get(provider, ()), *unlogged, *coverage.notes)


def detect(
    target: Target,
    history: FlowHistory,
    classifier: Classifier,
    options: FlowOptions,
    now: datetime,
) -> list[Signal]:
    """Every signal the window's flows give for ``target`` (none when nothing external)."""
    since = now - options.window
    inbound = [f for f in flows_of(history, target, since, Direction.INGRESS) if target.takes(f)]
    outbound = flows_of(history, target, since, Direction.EGRESS) if target.ids else []
    coverage = history.coverage(since=since, resource_ids=target.ids)
    found = _Found(target, coverage, caveats_for(target.provider, coverage))
    classes = {f.source: classifier.classify(f.source) for f in inbound}
    classes.update({f.destination: classifier.classify(f.destination) for f in outbound})
    external = [f for f in inbound if Classifier.external(classes[f.source])]
    allowed = [f for f in external if f.decision == FlowDecision.ALLOWED]
    for flows in _by_port(allowed).values():
        found.add(SignalKind.EXPOSURE_CONFIRMED, flows, classes, "external inbound allowed")
        answered = [f for f in flows if f.reached]
        if answered:
            found.add(SignalKind.REACHED, answered, classes, "the VM answered external sources")
        sources = {f.source for f in flows}
        if len(sources) >= options.many_sources:
            found.add(SignalKind.MANY_TO_ONE, flows, classes, f"{len(sources)} external sources")
        for source, own in _by_source(flows).items():
            total = sum(f.flows for f in own)
            if total >= options.one_source_flows:
                found.add(
                    SignalKind.ONE_TO_ONE_VOLUME, own, classes, f"{total} flows from {source}"
                )
    for own in _by_source(external).values():
        success = _success_after_failures(own, options)
        if success:
            found.add(SignalKind.SUCCESS_AFTER_FAILURES, own, classes, success)
    threats = [f for f in inbound if classes[f.source] == SourceClass.THREAT]
    threats += [f for f in outbound if classes[f.destination] == SourceClass.THREAT]
    if threats:
        found.add(SignalKind.THREAT_MATCH, threats, classes, "threat-listed address")
    if allowed:
        exposed_at = min(f.first_seen for f in allowed)
        _outbound(found, outbound, exposed_at, classes, options)
    return found.signals


class _Found:
    """Signals gathered for one target."""

    def __init__(self, target: Target, coverage: Coverage, caveats: tuple[str, ...]) -> None:
        self.target, self.coverage, self.caveats = target, coverage, caveats
        self.signals: list[Signal] = []

    def add(
        self,
        kind: SignalKind,
        flows: Sequence[FlowAggregate],
        classes: Mapping[str, SourceClass],
        what: str,
        *,
        remote: str = "source",
    ) -> None:
        remotes = [getattr(f, remote) for f in flows]
        ports = {f.port for f in flows}
        port = ports.pop() if len(ports) == 1 else None
        self.signals.append(
            Signal(
                kind=kind,
                resource=self.target.resource,
                port=port,
                protocol=flows[0].protocol,
                summary=f"{kind}: {what}",
                sources=tuple(dict.fromkeys(remotes))[:MAX_SOURCES_LISTED],
                flows=sum(f.flows for f in flows),
                first_seen=min(f.first_seen for f in flows),
                last_seen=max(f.last_seen for f in flows),
                coverage=self.coverage,
                caveats=self.caveats,
                finding=self.target.finding,
                provider=self.target.provider,
                classes=tuple(sorted({str(classes[r]) for r in remotes if r in classes})),
            )
        )


def _by_port(flows: Sequence[FlowAggregate]) -> dict[int | None, list[FlowAggregate]]:
    out: dict[int | None, list[FlowAggregate]] = defaultdict(list)
    for f in flows:
        out[f.port].append(f)
    return dict(out)


def _by_source(flows: Sequence[FlowAggregate]) -> dict[str, list[FlowAggregate]]:
    out: dict[str, list[FlowAggregate]] = defaultdict(list)
    for f in flows:
        out[f.source].append(f)
    return dict(out)


def _average(flow: FlowAggregate) -> float:
    return (flow.bytes_sent + flow.bytes_received) / max(flow.flows, 1)


def _success_after_failures(flows: Sequence[FlowAggregate], options: FlowOptions) -> str:
    """Why one source's flows look like attempts followed by a session ("" if they do not)."""
    failed = 0
    for flow in sorted(flows, key=lambda f: (f.bucket, f.first_seen)):
        session = (
            flow.decision == FlowDecision.ALLOWED
            and flow.reached
            and _average(flow) >= options.session_bytes
        )
        if session and failed >= options.failures:
            return f"{failed} failed attempts from {flow.source}, then a session at {flow.bucket:%Y-%m-%d %H:%M}"
        if not session:
            failed += flow.flows
    return ""


def _outbound(
    found: _Found,
    outbound: Sequence[FlowAggregate],
    exposed_at: datetime,
    classes: Mapping[str, SourceClass],
    options: FlowOptions,
) -> None:
    after = [f for f in outbound if f.last_seen >= exposed_at]
    fanned = [f for f in after if f.port in FAN_OUT_PORTS and f.decision == FlowDecision.ALLOWED]
    destinations = {f.destination for f in fanned}
    if len(destinations) >= options.fan_out:
        found.add(
            SignalKind.OUTBOUND_FAN_OUT,
            fanned,
            classes,
            f"{len(destinations)} destinations on 22/3389 after exposure",
            remote="destination",
        )
    hourly: dict[datetime, int] = defaultdict(int)
    for f in outbound:
        hourly[f.bucket.replace(minute=0, second=0, microsecond=0)] += f.bytes_sent
    before = [b for hour, b in hourly.items() if hour < exposed_at]
    if not before:
        return  # no baseline, no spike to speak of
    baseline = max(statistics.median(before), 1)
    spikes = {
        hour
        for hour, b in hourly.items()
        if hour >= exposed_at and b >= MIN_SPIKE_BYTES and b > options.spike_factor * baseline
    }
    if spikes:
        flows = [
            f for f in outbound if f.bucket.replace(minute=0, second=0, microsecond=0) in spikes
        ]
        found.add(
            SignalKind.OUTBOUND_SPIKE,
            flows,
            classes,
            f"outbound bytes over {options.spike_factor}x the hourly median before exposure",
            remote="destination",
        )

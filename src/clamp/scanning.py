"""Scans: collect resources, evaluate the selected checks, record findings with their
lifecycle.

A scope (subscription or project) that could not be read is reported in ``errors`` and
left out of the lifecycle update, so its findings are never resolved by a failed read;
only the findings of the checks that ran can be resolved. An identity-plane scope (Entra
tenant ``tenant:<id>``, Cloud Identity customer ``customer:<id>``) that was discovered, not
asked for, and that the credential may not read is ``skipped`` instead: it names the
permission that is missing and does not make the scan incomplete.

Scopes are collected in batches (``CloudDriver.batch_size``: one Resource Graph query reads
many subscriptions), ``[scan] concurrency`` batches at once where the driver is
``thread_safe``; the outcome is the same as one
scope after another, in the same order. After the scan, ``calls`` says per provider how many
API calls it took (made, retried, throttled).
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from clamp.bulk import paused_gc
from clamp.checks import CHECKS, Inventory
from clamp.config import Settings
from clamp.errors import CloudError, PermissionDenied
from clamp.inventory.offline import read_offline
from clamp.model import Finding, Provider, Resource
from clamp.providers.interface import CloudDriver, ScopeOutcome
from clamp.providers.limits import CallCounts
from clamp.providers.objects import api_objects, layer_envelopes
from clamp.store import ScanSummary

if TYPE_CHECKING:
    from clamp.events.flows.model import FlowHistory
    from clamp.events.flows.signals import Signal
    from clamp.store import Store

Progress = Callable[[str], None]
IDENTITY_PLANE = ("tenant:", "customer:")
"""Scope prefixes of the identity plane: read through Microsoft Graph / Cloud Identity,
with permissions a subscription or project role does not grant."""


class ScanProgress:
    """What a scan reports as it goes (each method does nothing here; the CLI draws a bar)."""

    def scopes(self, provider: Provider, scopes: Sequence[str]) -> None:
        """``provider``'s scopes are known (listed or discovered)."""

    def step(self, message: str) -> None:
        """A driver's message: which service of which scope it reads now."""

    def scope_done(self, provider: Provider, scope: str, resources: int) -> None:
        """One scope was read (or failed, or was skipped: ``resources`` is then 0)."""


@dataclass
class ScanResult:
    """What a scan saw, found, skipped and could not read."""

    scopes: list[tuple[Provider, str]]
    resources: int
    findings: list[Finding]
    summary: ScanSummary | None = None
    errors: list[str] = field(default_factory=list)
    failures: list[CloudError] = field(default_factory=list)
    """The errors behind ``errors``, in the same order."""
    unlisted: list[Provider] = field(default_factory=list)
    """Providers whose scopes could not even be listed (no credentials, no access)."""
    skipped: list[tuple[Provider, str, str]] = field(default_factory=list)
    """(provider, scope, why): identity-plane scopes discovered but not readable."""
    checks: list[str] = field(default_factory=list)
    calls: list[tuple[Provider, str]] = field(default_factory=list)
    """(provider, ``N calls (R retried, T throttled)``) for each provider whose driver counts."""
    signals: list[Signal] = field(default_factory=list)
    """Flow signals on the exposed VMs (with flow history; for ``on: signal`` rules)."""


def evaluate_checks(
    resources: Sequence[Resource], settings: Settings, checks: Collection[str] | None = None
) -> list[Finding]:
    """The findings of ``checks`` (every registered check when None) on the resources."""
    with paused_gc():
        inventory = Inventory(resources)
        return [
            finding
            for name, check in CHECKS
            if checks is None or name in checks
            for finding in check(settings).evaluate(inventory)
        ]


@dataclass
class ScopeRead:
    """One scope's collection: its resources when ``read``, else why not."""

    read: bool
    resources: list[Resource] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failures: list[CloudError] = field(default_factory=list)
    skipped: list[tuple[Provider, str, str]] = field(default_factory=list)


def scope_read(
    provider: Provider, scope: str, outcome: list[Resource] | CloudError, asked: Collection[str]
) -> ScopeRead:
    """What one scope's collection says: read, unreadable (reported), or an identity-plane
    scope not ``asked`` for that the credential may not read (skipped)."""
    if not isinstance(outcome, CloudError):
        return ScopeRead(True, outcome)
    identity_plane = scope.startswith(IDENTITY_PLANE) and scope not in asked
    if isinstance(outcome, PermissionDenied) and identity_plane:
        return ScopeRead(False, skipped=[(provider, scope, str(outcome))])
    return ScopeRead(
        False, errors=[f"{provider} {scope}: not scanned: {outcome}"], failures=[outcome]
    )


def read_scope(
    driver: CloudDriver,
    provider: Provider,
    scope: str,
    asked: Collection[str],
    bar: ScanProgress,
) -> ScopeRead:
    """Collect one subscription or project on its own (a worker's task does this)."""
    bar.step(f"{provider} {scope}")
    outcome: list[Resource] | CloudError
    try:
        outcome = list(driver.collect(scope, bar.step))
    except CloudError as exc:
        outcome = exc
    bar.scope_done(provider, scope, 0 if isinstance(outcome, CloudError) else len(outcome))
    return scope_read(provider, scope, outcome, asked)


def scan_clouds(
    settings: Settings,
    store: Store,
    drivers: Callable[[Provider], CloudDriver],
    providers: Sequence[Provider],
    scopes: dict[Provider, list[str]],
    progress: Progress | ScanProgress | None = None,
    checks: Collection[str] | None = None,
    flows: FlowHistory | None = None,
) -> ScanResult:
    """Scan the given (or discovered) subscriptions and projects of each provider with
    ``checks`` (every check when None); with ``flows``, exposure findings are correlated
    with the kept flow logs (``clamp.events.flows.correlate``)."""
    bar = progress if isinstance(progress, ScanProgress) else _Messages(progress)
    resources: list[Resource] = []
    seen: list[tuple[Provider, str]] = []
    errors: list[str] = []
    failures: list[CloudError] = []
    unlisted: list[Provider] = []
    skipped: list[tuple[Provider, str, str]] = []
    calls: list[tuple[Provider, str]] = []
    for provider in providers:
        driver = drivers(provider)
        before = call_totals(driver.call_counts())
        asked = scopes.get(provider) or []
        try:
            targets = asked or driver.discover_scopes()
        except CloudError as exc:
            errors.append(f"{provider}: cannot list scopes: {exc}")
            failures.append(exc)
            unlisted.append(provider)
            continue
        bar.scopes(provider, targets)
        concurrency = settings.scan_concurrency if driver.thread_safe else 1
        with paused_gc():  # the pages' parsed objects: millions, acyclic, kept to the end
            outcomes = _collected(driver, targets, concurrency, provider, bar)
        for scope in targets:
            outcome = outcomes.get(scope)
            if outcome is None:
                outcome = CloudError(f"the {provider} driver did not read {scope}")
            read = scope_read(provider, scope, outcome, asked)
            resources.extend(read.resources)
            seen.extend([(provider, scope)] if read.read else [])
            errors.extend(read.errors)
            failures.extend(read.failures)
            skipped.extend(read.skipped)
        if (counts := driver.call_counts()) is not None:
            made, retried, throttled = (
                a - b for a, b in zip(call_totals(counts), before, strict=True)
            )
            calls.append((provider, calls_line(made, retried, throttled)))
    result = _record(
        settings, store, seen, resources, errors, source="cloud", checks=checks, flows=flows
    )
    result.skipped, result.failures, result.unlisted = skipped, failures, unlisted
    result.calls = calls
    return result


def calls_line(made: int, retried: int, throttled: int) -> str:
    """``N calls (R retried, T throttled)``, as a scan reports a provider's calls."""
    return f"{made} calls ({retried} retried, {throttled} throttled)"


def call_totals(counts: CallCounts | None) -> tuple[int, int, int]:
    """Calls made, retried and throttled in all (zeros when the driver counts none)."""
    if counts is None:
        return (0, 0, 0)
    return sum(counts.made.values()), sum(counts.retried.values()), sum(counts.throttled.values())


def _collected(
    driver: CloudDriver,
    targets: Sequence[str],
    concurrency: int,
    provider: Provider,
    bar: ScanProgress,
) -> dict[str, list[Resource] | CloudError]:
    """Every target's resources or error: batches of ``driver.batch_size`` scopes,
    ``concurrency`` batches at once; progress is reported here, as each scope arrives."""
    size = max(1, driver.batch_size)
    batches = [list(targets[i : i + size]) for i in range(0, len(targets), size)]
    arrived: queue.Queue[ScopeOutcome | None] = queue.Queue()

    def run(batch: list[str]) -> None:
        try:
            for outcome in driver.collect_many(batch, bar.step):
                arrived.put(outcome)
        finally:  # None: this batch is over (a bug's exception is raised by result() below)
            arrived.put(None)

    outcomes: dict[str, list[Resource] | CloudError] = {}
    with ThreadPoolExecutor(max(1, min(concurrency, len(batches)))) as pool:
        running = [pool.submit(run, batch) for batch in batches]
        for _ in running:
            while (item := arrived.get()) is not None:
                scope, outcome = item
                outcomes[scope] = outcome
                found = 0 if isinstance(outcome, CloudError) else len(outcome)
                bar.scope_done(provider, scope, found)
        for future in running:
            future.result()
    return outcomes


def scan_files(
    settings: Settings,
    store: Store,
    paths: Sequence[Path],
    checks: Collection[str] | None = None,
) -> ScanResult:
    """Scan offline exports (Cloud Asset Inventory, Azure resource JSON; files or folders).

    An export may hold only part of a scope (the IAM policies without the resources, or
    the other way round): what it gives is merged with the scope's stored inventory (from
    an earlier import or scan) and the whole is evaluated, so an import never resolves a
    finding on something it did not cover, and a bucket meets its IAM policy whichever
    came first."""
    stored = store.rules.inventory()
    objects = read_offline(paths, known={item.id: item.scope for item in stored})
    resources = objects.resources()
    fresh = {r.id: r.scope for r in resources}
    scopes = sorted({(r.provider, r.scope) for r in resources})
    joined = [item for item in stored if (item.provider, item.scope) in scopes or item.id in fresh]
    for item in joined:
        scope = fresh.get(item.id, item.scope)  # a part filed elsewhere joins its resource
        objects.keep(
            item.provider,
            scope,
            api_objects(item.type, item.raw),
            layer_envelopes(item.type, item.raw),
        )
    if joined:  # normalized again with what the store adds (what the files give wins)
        resources = objects.resources()
    names = ", ".join(p.name for p in paths)
    return _record(settings, store, scopes, resources, [], source=f"file:{names}", checks=checks)


class _Messages(ScanProgress):
    """A plain message callback as a ``ScanProgress``."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback

    def step(self, message: str) -> None:
        if self.callback is not None:
            self.callback(message)


def _record(
    settings: Settings,
    store: Store,
    scopes: list[tuple[Provider, str]],
    resources: list[Resource],
    errors: list[str],
    *,
    source: str,
    checks: Collection[str] | None,
    flows: FlowHistory | None = None,
) -> ScanResult:
    in_scope = {(p, s) for p, s in scopes}
    evaluated = evaluate_checks(resources, settings, checks)
    findings = [f for f in evaluated if (f.provider, f.scope) in in_scope]
    signals: list[Signal] = []
    if flows is not None:
        findings, signals = _correlated(settings, findings, resources, flows)
    summary = store.record_scan(
        scopes, findings, resources=len(resources), source=source, checks=checks
    )
    if scopes:
        store.rules.record_inventory(scopes, resources)
    ran = CHECKS.names() if checks is None else sorted(checks)
    return ScanResult(
        scopes, len(resources), findings, summary, errors, checks=ran, signals=signals
    )


def _correlated(
    settings: Settings, findings: list[Finding], resources: Sequence[Resource], flows: FlowHistory
) -> tuple[list[Finding], list[Signal]]:
    """Findings with their flow evidence (``details.observed``) and the signals fired."""
    from datetime import UTC, datetime

    from clamp.events.flows.classify import build, inventory_ranges
    from clamp.events.flows.correlate import correlate
    from clamp.model import ResourceType

    own = inventory_ranges(r.facets for r in resources if r.type == ResourceType.AZURE_VNET)
    classifier = build(settings.flow_signals, own)
    done = correlate(findings, flows, classifier, settings.flow_signals, datetime.now(UTC))
    return done.findings, done.signals

"""Scans: collect resources, evaluate every check, record findings with their lifecycle.

A scope (subscription or project) that could not be read is reported in ``errors`` and
left out of the lifecycle update, so its findings are never resolved by a failed read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import CloudError
from clamp.inventory.offline import load_offline
from clamp.model import Finding, Provider, Resource
from clamp.providers.interface import CloudDriver
from clamp.store import ScanSummary, Store

Progress = Callable[[str], None]


@dataclass
class ScanResult:
    """What a scan saw, found and could not read."""

    scopes: list[tuple[Provider, str]]
    resources: int
    findings: list[Finding]
    summary: ScanSummary | None = None
    errors: list[str] = field(default_factory=list)


def scan_clouds(
    settings: Settings,
    store: Store,
    drivers: Callable[[Provider], CloudDriver],
    providers: Sequence[Provider],
    scopes: dict[Provider, list[str]],
    progress: Progress | None = None,
) -> ScanResult:
    """Scan the given (or discovered) subscriptions and projects of each provider."""
    report = progress or (lambda _msg: None)
    resources: list[Resource] = []
    seen: list[tuple[Provider, str]] = []
    errors: list[str] = []
    for provider in providers:
        driver = drivers(provider)
        try:
            targets = scopes.get(provider) or driver.discover_scopes()
        except CloudError as exc:
            errors.append(f"{provider}: cannot list scopes: {exc}")
            continue
        for scope in targets:
            report(f"{provider} {scope}")
            try:
                resources.extend(driver.collect(scope, report))
            except CloudError as exc:
                errors.append(f"{provider} {scope}: not scanned: {exc}")
                continue
            seen.append((provider, scope))
    return _record(settings, store, seen, resources, errors, source="cloud")


def scan_file(settings: Settings, store: Store, path: Path) -> ScanResult:
    """Scan an offline export (Cloud Asset Inventory or Azure resource JSON)."""
    resources = load_offline(path)
    scopes = sorted({(r.provider, r.scope) for r in resources})
    return _record(settings, store, scopes, resources, [], source=f"file:{path.name}")


def _record(
    settings: Settings,
    store: Store,
    scopes: list[tuple[Provider, str]],
    resources: list[Resource],
    errors: list[str],
    *,
    source: str,
) -> ScanResult:
    in_scope = {(p, s) for p, s in scopes}
    findings = [f for f in evaluate(resources, settings) if (f.provider, f.scope) in in_scope]
    summary = store.record_scan(scopes, findings, resources=len(resources), source=source)
    store.rules.record_inventory(scopes, resources)
    return ScanResult(scopes, len(resources), findings, summary, errors)

"""``clamp scan --workers``: one task per subscription or project, wait, record once.

Scopes are discovered here (one call per provider), each batch of scopes goes to a
worker (``clamp.scan_scopes``), and the findings come back to be recorded as one scan:
the same lifecycle update and summary as an in-process scan (``clamp.scanning``). A task
whose worker died is requeued by Celery and done again by another; a task that fails
outright leaves its scopes out (reported, never resolved by a failed read).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from celery import Celery
from celery.exceptions import CeleryError
from celery.result import AsyncResult
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from clamp.checks import CHECKS
from clamp.errors import CloudError, WorkersUnavailable
from clamp.model import Finding, Provider
from clamp.providers.interface import CloudDriver
from clamp.scanning import ScanProgress, ScanResult, call_totals, calls_line
from clamp.store import Store
from clamp.store.codec import record_from_json
from clamp.workers.app import outcome
from clamp.workers.jobs import failure_of

Sent = Callable[[Provider, Sequence[str], AsyncResult], None]
TRANSPORT_ERRORS = (CeleryError, KombuError, RedisError, OSError, RuntimeError)
"""What a broker or result backend that cannot be reached raises (Celery's Redis result
backend gives up reconnecting with a bare ``RuntimeError``)."""


def scan_on_workers(
    store: Store,
    app: Celery,
    drivers: Callable[[Provider], CloudDriver],
    providers: Sequence[Provider],
    scopes: dict[Provider, list[str]],
    progress: ScanProgress | None = None,
    checks: Collection[str] | None = None,
    *,
    batch: int = 1,
    timeout: float = 3600.0,
    sent: Sent | None = None,
) -> ScanResult:
    """Scan like ``scan_clouds``, each ``batch`` of scopes on a worker; wait up to
    ``timeout`` seconds for all of them."""
    bar = progress or ScanProgress()
    result = ScanResult(scopes=[], resources=0, findings=[])
    pending: list[tuple[Provider, list[str], AsyncResult]] = []
    calls: dict[Provider, list[int]] = {}
    for provider in providers:
        asked = scopes.get(provider) or []
        driver = drivers(provider)
        before = call_totals(driver.call_counts())
        try:
            targets = asked or driver.discover_scopes()
        except CloudError as exc:
            result.errors.append(f"{provider}: cannot list scopes: {exc}")
            result.failures.append(exc)
            result.unlisted.append(provider)
            continue
        if driver.call_counts() is not None:  # the listing's calls, then each task's
            calls[provider] = [
                a - b for a, b in zip(call_totals(driver.call_counts()), before, strict=True)
            ]
        bar.scopes(provider, targets)
        for start in range(0, len(targets), batch):
            part = list(targets[start : start + batch])
            args = [provider.value, part, list(asked), sorted(checks) if checks else None]
            try:
                handle = app.send_task("clamp.scan_scopes", args=args)
            except TRANSPORT_ERRORS as exc:
                raise WorkersUnavailable(f"cannot send scan tasks to the broker: {exc}") from exc
            pending.append((provider, part, handle))
            if sent is not None:
                sent(provider, part, handle)
    for provider, part, handle in pending:
        data = _wait(handle, timeout)
        _gather(result, provider, part, data, bar)
        if provider in calls and isinstance(data, dict):
            calls[provider] = [
                a + b for a, b in zip(calls[provider], data.get("calls", (0, 0, 0)), strict=True)
            ]
    result.calls = [(p, calls_line(*totals)) for p, totals in calls.items()]
    return _record(store, result, checks)


def _wait(handle: AsyncResult, timeout: float) -> dict[str, Any] | Exception:
    try:
        data: dict[str, Any] = outcome(handle.get(timeout=timeout, propagate=True))
    except TimeoutError as exc:
        raise WorkersUnavailable(
            f"a scan task did not finish in {timeout:g}s", hint="are `clamp worker`s running?"
        ) from exc
    except TRANSPORT_ERRORS as exc:
        raise WorkersUnavailable(f"the workers' result backend failed: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - a task's own crash, reported per scope below
        return exc
    return data


def _gather(
    result: ScanResult,
    provider: Provider,
    part: list[str],
    data: dict[str, Any] | Exception,
    bar: ScanProgress,
) -> None:
    """Add one task's outcome to ``result``."""
    if isinstance(data, Exception):
        for scope in part:
            error = CloudError(f"the worker failed: {data}")
            result.errors.append(f"{provider} {scope}: not scanned: {error}")
            result.failures.append(error)
            bar.scope_done(provider, scope, 0)
        return
    result.scopes.extend((provider, s) for s in data["scopes"])
    result.resources += int(data["resources"])
    result.findings.extend(record_from_json(Finding, f) for f in data["findings"])
    result.errors.extend(data["errors"])
    result.failures.extend(failure_of(f) for f in data["failures"])
    result.skipped.extend((provider, s, why) for s, why in data["skipped"])
    for scope in part:
        bar.scope_done(provider, scope, 0)


def _record(store: Store, result: ScanResult, checks: Collection[str] | None) -> ScanResult:
    """Record the gathered findings as one scan of the scopes read."""
    result.summary = store.record_scan(
        result.scopes,
        result.findings,
        resources=result.resources,
        source="cloud",
        checks=checks,
    )
    result.checks = CHECKS.names() if checks is None else sorted(checks)
    return result

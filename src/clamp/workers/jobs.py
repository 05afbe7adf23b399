"""The jobs a worker's task runs, and what runs in-process without workers: a batch of
scopes scanned, a fix or an undo applied once per idempotency key, a rule run, an event.

Each job takes plain, JSON-ready arguments and returns JSON, so the same function serves
a Celery task and a direct call. Remediation jobs hold the resource's lease
(``clamp.workers.leases``) and journal under ids derived from the idempotency key: a
retried or duplicated task finds its own journal entry and returns it instead of applying
twice; one a killed worker left in flight is reconciled first, and tried again only when
the cloud shows nothing of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from clamp import errors
from clamp.actions.engine import ActionEngine
from clamp.automation.rules import load_rules
from clamp.automation.runner import RuleRunner
from clamp.compare import matches
from clamp.config import Settings
from clamp.errors import ActionError, ClampError, CloudError, InputError, NotFoundError
from clamp.events.intake import EventIntake
from clamp.events.triggers import EventRules
from clamp.model import ActionRecord, ActionStatus, Provider, Resource
from clamp.providers.interface import CloudDriver
from clamp.roles import EVENTS, Roles
from clamp.scanning import ScanProgress, call_totals, evaluate_checks, read_scope
from clamp.store import Store
from clamp.store.codec import action_to_json, record_to_json
from clamp.users import Accounts
from clamp.workers.leases import resource_lease

Drivers = Callable[[Provider], CloudDriver]
MAX_ATTEMPTS = 3
"""Tries of one idempotency key whose earlier tries a dead worker left with nothing done."""


def scan_scopes(
    settings: Settings,
    store: Store,
    drivers: Drivers,
    provider: Provider,
    scopes: Sequence[str],
    asked: Collection[str],
    checks: Collection[str] | None,
) -> dict[str, Any]:
    """Collect ``scopes``, evaluate ``checks`` on what was read, replace those scopes'
    stored inventory; the findings (``record_to_json``) and what could not be read.

    The scan's lifecycle update is the caller's (``clamp.workers.fanout``): it needs every
    scope's findings at once."""
    driver = drivers(provider)
    before = call_totals(driver.call_counts())
    resources: list[Resource] = []
    read: list[str] = []
    errors_: list[str] = []
    failures: list[dict[str, str]] = []
    skipped: list[list[str]] = []
    for scope in scopes:
        outcome = read_scope(driver, provider, scope, asked, ScanProgress())
        resources.extend(outcome.resources)
        read.extend([scope] if outcome.read else [])
        errors_.extend(outcome.errors)
        failures.extend({"type": type(f).__name__, "message": f.message} for f in outcome.failures)
        skipped.extend([s, why] for _, s, why in outcome.skipped)
    in_scope = set(read)
    findings = [f for f in evaluate_checks(resources, settings, checks) if f.scope in in_scope]
    if read:
        store.rules.record_inventory([(provider, s) for s in read], resources)
    return {
        "provider": provider.value,
        "scopes": read,
        "resources": sum(1 for r in resources if r.scope in in_scope),
        "findings": [record_to_json(f) for f in findings],
        "errors": errors_,
        "failures": failures,
        "skipped": skipped,
        "calls": [a - b for a, b in zip(call_totals(driver.call_counts()), before, strict=True)],
    }


def failure_of(data: Mapping[str, str]) -> CloudError:
    """The cloud error a scan task reported (its class by name, else ``CloudError``)."""
    cls = getattr(errors, data.get("type", ""), CloudError)
    if not (isinstance(cls, type) and issubclass(cls, CloudError)):
        cls = CloudError
    return cls(data.get("message", "unknown error"))


def attempt_id(key: str, attempt: int) -> str:
    """The action id of the ``attempt``-th try of idempotency key ``key`` (``a-`` + 12 hex,
    like ``new_action_id``)."""
    return "a-" + hashlib.sha256(f"{key}#{attempt}".encode()).hexdigest()[:12]


def worker_engine(settings: Settings, store: Store, drivers: Drivers, actor: str) -> ActionEngine:
    """An engine acting as ``actor`` with the roles of the config and of the store's
    users (as the service gives them)."""
    users = Accounts(store).roles().actors
    roles = Roles({**settings.roles.actors, **users})
    if roles.enforced:
        roles = roles.with_machines()
    return ActionEngine(store, drivers, replace(settings, actor=actor, roles=roles))


def fix_finding(
    engine: ActionEngine,
    finding_id: str,
    *,
    key: str,
    actor: str,
    intent: str | None = None,
    params: Mapping[str, Any] | None = None,
    reason: str = "",
    confirm_irreversible: bool = False,
) -> dict[str, Any]:
    """Plan and apply a fix of ``finding_id`` once for idempotency key ``key``; the action."""
    resource = engine.store.finding(finding_id).finding.resource

    def attempt(action_id: str) -> ActionRecord:
        plan = engine.plan(finding_id, intent=intent, params=params)
        return engine.apply(
            plan,
            actor=actor,
            reason=reason or f"fix {finding_id}",
            confirm_irreversible=confirm_irreversible,
            action_id=action_id,
        )

    return action_to_json(_once(engine, resource, key, attempt))


def undo_action(
    engine: ActionEngine, action_id: str, *, key: str, actor: str, reason: str = ""
) -> dict[str, Any]:
    """Undo ``action_id`` once for idempotency key ``key``; the undo action."""
    resource = engine.store.action(action_id).plan.resource

    def attempt(undo_id: str) -> ActionRecord:
        record = engine.start_undo(action_id, actor=actor, reason=reason, undo_id=undo_id)
        return engine.finish_undo(record)

    return action_to_json(_once(engine, resource, key, attempt))


def _once(
    engine: ActionEngine, resource: str, key: str, attempt: Callable[[str], ActionRecord]
) -> ActionRecord:
    """Run ``attempt`` under ``resource``'s lease unless ``key`` already did it."""
    if not key:
        raise InputError("a remediation task needs an idempotency key")
    with resource_lease(engine.store.engine, resource):
        orphans = [
            r
            for r in engine.store.in_flight_actions()
            if r.plan.resource.lower() == resource.lower()
        ]
        engine.reconcile(orphans)  # we hold the lease: whoever journaled these is gone
        latest: ActionRecord | None = None
        for n in range(1, MAX_ATTEMPTS + 1):
            try:
                latest = engine.store.action(attempt_id(key, n))
            except NotFoundError:
                # only the latest try counts: an earlier one was superseded by the next
                if latest is None or _left_nothing(engine, latest):
                    return attempt(attempt_id(key, n))
                return latest
        if latest is not None and not _left_nothing(engine, latest):
            return latest  # done (or failed for a reason of its own): never twice
    raise ActionError(f"idempotency key {key!r} was interrupted {MAX_ATTEMPTS} times; giving up")


def _left_nothing(engine: ActionEngine, record: ActionRecord) -> bool:
    """Whether ``record`` failed with the cloud showing none of its changes (an
    interrupted try a new try may repeat)."""
    if record.status != ActionStatus.FAILED or record.in_flight:
        return False
    driver = engine.drivers(record.plan.provider)
    try:
        return all(matches(c.before, driver.current(c)) for c in record.plan.changes)
    except ClampError:
        return False  # cannot tell: do not repeat


def run_rules(settings: Settings, store: Store, drivers: Drivers, actor: str) -> dict[str, Any]:
    """Run the automation rules file once as ``actor``; the run's id and counts."""
    path = settings.rules_file
    if path is None or not path.is_file():
        raise InputError("no automation rules file configured", hint="set CLAMP_RULES")
    engine = worker_engine(settings, store, drivers, actor)
    report = RuleRunner(store, engine, engine.settings).run(
        load_rules(path, settings.stages), actor=actor
    )
    return {"run": report.run, **report.summary()}


def process_event(settings: Settings, store: Store, drivers: Drivers, event_id: str) -> str:
    """Re-read and re-evaluate a stored event's resource, and run its event rules; what
    was done."""
    intake = EventIntake(store, drivers, settings)

    def runner() -> RuleRunner:
        engine = worker_engine(settings, store, drivers, EVENTS)
        return RuleRunner(store, engine, engine.settings)

    intake.triggers = EventRules(store, settings, runner)
    return intake.process(event_id)

"""The Celery app: configured from ``Settings.workers``, its tasks call ``clamp.workers.jobs``.

Tasks are acknowledged late and requeued when their worker process dies
(``task_acks_late`` + ``task_reject_on_worker_lost``), so a killed worker loses no task:
the scan of a scope is simply done again, and a fix finds its journal entry by its
idempotency key. Arguments and results are JSON. A ``ClampError`` a job raises comes back
as ``{"error": class name, "message": ...}`` and is raised again, typed, by ``outcome``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from celery import Celery

from clamp import errors
from clamp.config import Settings
from clamp.errors import ClampError, ConfigError
from clamp.model import Provider
from clamp.providers.interface import CloudDriver
from clamp.providers.limits import CallBudget
from clamp.store import Store
from clamp.workers import jobs

T = TypeVar("T")


@dataclass
class WorkerContext:
    """What a worker process opens once (after the fork): settings, store, drivers."""

    settings: Settings

    @cached_property
    def store(self) -> Store:
        """The shared store (PostgreSQL for a team), migrated."""
        return Store.open(self.settings.database_url)

    @cached_property
    def drivers(self) -> Callable[[Provider], CloudDriver]:
        """One driver per provider, pacing its calls with the bucket every worker shares
        (``budget``), so a 429's ``Retry-After`` one worker meets holds the account back for
        all of them."""
        from clamp.providers.factory import driver_factory

        return driver_factory(self.settings, budget=self.budget)

    @cached_property
    def budget(self) -> CallBudget | None:
        """The call budget every worker shares (Redis), when a Redis is configured."""
        from clamp.workers.budget import RedisCallBudget

        workers = self.settings.workers
        url = workers.redis_url if workers else None
        return RedisCallBudget.from_url(url) if url else None


_contexts: dict[int, WorkerContext] = {}


def context() -> WorkerContext:
    """This process's context (a forked pool child opens its own store and clients)."""
    pid = os.getpid()
    if pid not in _contexts:
        _contexts[pid] = WorkerContext(Settings.from_env())
    return _contexts[pid]


def preload() -> None:
    """Import the drivers (and their SDKs) now, in the worker's main process: its pool
    processes fork from it, so neither the first task nor a replaced process pays for it."""
    import clamp.providers.azure.driver
    import clamp.providers.gcp.driver  # noqa: F401


def make_app(settings: Settings) -> Celery:
    """The Celery app of ``settings.workers`` with Clamp's tasks registered."""
    workers = settings.workers
    if workers is None:
        raise ConfigError(
            "no workers configured", hint="set [workers] broker in clamp.toml or CLAMP_BROKER_URL"
        )
    app = Celery("clamp", broker=workers.broker, backend=workers.backend, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        task_default_queue=workers.queue,
        result_expires=86400,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": int(workers.visibility_timeout.total_seconds())
        },
        worker_hijack_root_logger=False,
    )
    _register(app)
    return app


def _safely(job: Callable[[], T]) -> T | dict[str, Any]:
    """Run a job; a ``ClampError`` becomes a result the caller raises again, typed."""
    try:
        return job()
    except ClampError as exc:
        return {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}


def outcome(result: Any) -> Any:
    """A task's result, or the ``ClampError`` it reported, raised again."""
    if isinstance(result, Mapping) and set(result) == {"error", "message", "hint"}:
        cls = getattr(errors, str(result["error"]), ClampError)
        if not (isinstance(cls, type) and issubclass(cls, ClampError)):
            cls = ClampError
        raise cls(str(result["message"]), hint=result["hint"])
    return result


def _register(app: Celery) -> None:
    """Clamp's tasks on ``app`` (each a thin call of a ``clamp.workers.jobs`` function)."""

    @app.task(name="clamp.scan_scopes")  # type: ignore[untyped-decorator]
    def scan_scopes(
        provider: str, scopes: list[str], asked: list[str], checks: list[str] | None
    ) -> Any:
        ctx = context()
        return _safely(
            lambda: jobs.scan_scopes(
                ctx.settings, ctx.store, ctx.drivers, Provider(provider), scopes, asked, checks
            )
        )

    @app.task(name="clamp.fix")  # type: ignore[untyped-decorator]
    def fix(finding_id: str, key: str, actor: str, options: dict[str, Any]) -> Any:
        ctx = context()
        return _safely(
            lambda: jobs.fix_finding(
                jobs.worker_engine(ctx.settings, ctx.store, ctx.drivers, actor),
                finding_id,
                key=key,
                actor=actor,
                intent=options.get("intent"),
                params=options.get("params"),
                reason=str(options.get("reason") or ""),
                confirm_irreversible=bool(options.get("confirm_irreversible")),
            )
        )

    @app.task(name="clamp.undo")  # type: ignore[untyped-decorator]
    def undo(action_id: str, key: str, actor: str, reason: str = "") -> Any:
        ctx = context()
        return _safely(
            lambda: jobs.undo_action(
                jobs.worker_engine(ctx.settings, ctx.store, ctx.drivers, actor),
                action_id,
                key=key,
                actor=actor,
                reason=reason,
            )
        )

    @app.task(name="clamp.run_rules")  # type: ignore[untyped-decorator]
    def run_rules(actor: str) -> Any:
        ctx = context()
        return _safely(lambda: jobs.run_rules(ctx.settings, ctx.store, ctx.drivers, actor))

    @app.task(name="clamp.process_event")  # type: ignore[untyped-decorator]
    def process_event(event_id: str) -> Any:
        ctx = context()
        return _safely(lambda: jobs.process_event(ctx.settings, ctx.store, ctx.drivers, event_id))

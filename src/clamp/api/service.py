"""One running Clamp service: the store, the drivers, the users, and work in the background.

Requests act as the signed-in user: each gets an engine whose settings carry the user's
name as the actor and the roles of every enabled user from the store, so the engine's own
role checks and four-eyes compare authenticated identities. Fixes, undos, scans and rule
runs are journaled before the request returns (``202``) and finish on a thread pool; a
crash in between is settled by the engine's reconcile on the next start.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from clamp.actions.engine import ActionEngine
from clamp.automation.rules import load_rules
from clamp.automation.runner import RuleRunner
from clamp.config import Settings
from clamp.errors import ClampError, Forbidden, InputError
from clamp.events.coalesce import Coalescer
from clamp.events.intake import EventIntake
from clamp.events.record import CloudEvent
from clamp.events.triggers import EventRules
from clamp.model import ActionRecord, Plan, Provider
from clamp.providers.factory import driver_factory
from clamp.providers.interface import CloudDriver
from clamp.response import Responder
from clamp.roles import EVENTS, SCHEDULER, Role, Roles
from clamp.scanning import scan_clouds
from clamp.store import Store
from clamp.store.codec import scan_summary_to_json
from clamp.store.jobs import Job, JobStatus
from clamp.store.users import User
from clamp.users import Accounts

if TYPE_CHECKING:
    from clamp.events.flows.model import FlowHistory
    from clamp.events.flows.plan_evidence import PlanEvidence
    from clamp.events.flows.signals import Signal

log = logging.getLogger("clamp.service")
NEWS_WORKERS = 4
"""Threads that re-read fresh resources (and run the rules their findings trigger)."""


def _now() -> datetime:
    return datetime.now(UTC)


class Service:
    """What every request and the scheduler share."""

    def __init__(self, settings: Settings, store: Store | None = None, workers: int = 4) -> None:
        self.settings = settings
        self.store = store if store is not None else Store.open(settings.database_url)
        self._flow_history: FlowHistory | None = None
        self.drivers: Callable[[Provider], CloudDriver] = driver_factory(settings)
        self.accounts = Accounts(self.store)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clamp-work")
        self.news = ThreadPoolExecutor(max_workers=NEWS_WORKERS, thread_name_prefix="clamp-news")
        """Re-reads of fresh resources (``clamp.events.coalesce``): never behind the pool's
        re-reads of busy ones, which may wait for the cloud's budget."""
        self._futures: set[Future[Any]] = set()
        self._waiting: set[str] = set()
        """Events whose delayed rules are running now (never two runs of one at once)."""
        self._lock = threading.Lock()
        self.events = EventIntake(self.store, self.drivers, settings)
        self.events.triggers = EventRules(self.store, settings, lambda: self.rule_runner(EVENTS))
        self.waiting = Coalescer(self.events.reread_key)
        """Events stored and waiting for a worker (``clamp.events.coalesce``)."""

    # -- start and stop -------------------------------------------------------------------
    def settle(self) -> None:
        """What a crash left: actions and runs in flight are finished or rolled back, jobs
        that were running are marked failed, events stored but not processed are processed."""
        responder = self.responder(SCHEDULER)
        responder.engine.reconcile()
        responder.reconcile()
        for job in self.store.jobs.running():
            why = "interrupted: the service stopped before it finished"
            self.store.jobs.save(replace(job, status=JobStatus.FAILED, finished=_now(), result=why))
        for stored in self.events.pending():  # acknowledged, never processed
            self._submit(self.events.process, stored.event.id)

    def warm(self) -> None:
        """Load the drivers of the clouds whose events are configured, so the first
        delivery does not pay for importing their SDKs (a second or more)."""
        wanted = {
            Provider.AZURE: self.settings.events.azure,
            Provider.GCP: self.settings.events.gcp,
        }
        for provider in [p for p, configured in wanted.items() if configured is not None]:
            try:
                self.drivers(provider)
            except ClampError as exc:  # the first event that needs it says so
                log.warning("events: %s driver not ready: %s", provider.value, exc)

    def close(self) -> None:
        """Wait for background work, then release the database."""
        self.news.shutdown(wait=True)
        self.pool.shutdown(wait=True)
        self.store.close()

    def idle(self, timeout: float = 30.0) -> None:
        """Wait until the background work started so far has finished (for tests)."""
        for future in list(self._futures):
            future.exception(timeout=timeout)

    # -- acting as a user -----------------------------------------------------------------
    def roles(self) -> Roles:
        """Every enabled user's roles; the scheduler and event-triggered rules remediate
        (see ``SCHEDULER`` and ``EVENTS``)."""
        return self.accounts.roles().with_machines()

    def settings_for(self, actor: str) -> Settings:
        """The settings a request of ``actor`` runs with."""
        return replace(self.settings, actor=actor, roles=self.roles())

    def engine(self, actor: str) -> ActionEngine:
        """An action engine acting as ``actor``."""
        return ActionEngine(self.store, self.drivers, self.settings_for(actor))

    def responder(self, actor: str) -> Responder:
        """Incident response acting as ``actor``."""
        engine = self.engine(actor)
        return Responder(self.store, engine, engine.settings)

    def rule_runner(self, actor: str) -> RuleRunner:
        """The automation rules' runner acting as ``actor``."""
        engine = self.engine(actor)
        return RuleRunner(self.store, engine, engine.settings)

    @staticmethod
    def require(user: User, roles: tuple[Role, ...], doing: str) -> None:
        """Refuse unless ``user`` holds one of ``roles`` (or is admin)."""
        held = set(user.roles)
        if held & {r.value for r in (*roles, Role.ADMIN)}:
            return
        needed = " or ".join(r.value for r in roles)
        raise Forbidden(f"{user.name} ({', '.join(user.roles)}) may not {doing}: needs {needed}")

    # -- fixes and undo -------------------------------------------------------------------
    def plan(
        self, actor: str, finding_id: str, body: Mapping[str, Any]
    ) -> tuple[ActionEngine, Plan]:
        """The plan a fix of ``finding_id`` would follow (``body``: intent, params, bundle)."""
        engine = self.engine(actor)
        plan = engine.plan(
            finding_id,
            intent=body.get("intent"),
            params=body.get("params") or {},
            bundle=body.get("bundle"),
        )
        return engine, plan

    def plan_evidence(self, engine: ActionEngine, plan: Plan) -> PlanEvidence:
        """A network plan's observed blast radius (``clamp.events.flows.plan_evidence``)
        from ``flow_history``; "no flow logs ingested" while there is none."""
        from clamp.events.flows.plan_evidence import FlowEvidence
        from clamp.events.flows.preview import is_network_plan

        evidence = FlowEvidence(self.flow_history, self.settings.flow_signals)
        wanted = is_network_plan(plan) and self.flow_history is not None
        related = engine.read_target(plan.resource) if wanted else []
        finding = self.store.finding(plan.finding).finding if plan.finding else None
        return evidence.for_plan(plan, finding, related)

    def fix(
        self, actor: str, finding_id: str, body: Mapping[str, Any], *, reason: str = ""
    ) -> ActionRecord:
        """Plan, authorize and journal a fix now; write and verify it in the background."""
        engine, plan = self.plan(actor, finding_id, body)
        record = engine.start(
            plan,
            actor=actor,
            reason=reason or f"fix {finding_id}",
            confirm_irreversible=bool(body.get("confirm_irreversible")),
        )
        self._submit(engine.finish, record)
        return record

    def undo(self, actor: str, action_id: str) -> ActionRecord:
        """Authorize, check for drift and journal an undo now; write it in the background."""
        role = Role.REMEDIATOR if self.store.action(action_id).plan.findings else Role.RESPONDER
        engine = self.engine(actor)
        engine.settings.roles.require(actor, role, f"undo {action_id}")
        record = engine.start_undo(action_id, actor=actor)
        self._submit(engine.finish_undo, record)
        return record

    # -- events ---------------------------------------------------------------------------
    def take_events(self, events: Sequence[CloudEvent]) -> int:
        """Store delivered events (each once) now; process the new ones in the background.
        How many were new."""
        due = self.events.accept(events)
        by_id = {e.id: e for e in events}
        for event_id in due:
            fresh = self.waiting.add(by_id[event_id])
            if fresh is not None:  # a key began to wait: one turn more, for its workers
                self._submit(self._process, fresh, pool=self.news if fresh else self.pool)
        return len(due)

    def _process(self, fresh: bool) -> str:
        """Take the turn due now among the fresh resources or the others
        (``clamp.events.coalesce``)."""
        turn = self.waiting.next(fresh)
        if turn is None:
            return ""
        return self.events.process(turn.event, turn.covers, spare=not turn.fresh)

    def run_delayed(self, now: datetime) -> list[str]:
        """Start the event rules whose enforcement delay has run out at ``now``, on the
        pool; the events they run for."""
        started = []
        for stored in self.events.due(now):
            event_id = stored.event.id
            with self._lock:
                if event_id in self._waiting:
                    continue
                self._waiting.add(event_id)
            self._submit(self._act_delayed, event_id, now)
            started.append(event_id)
        return started

    def _act_delayed(self, event_id: str, now: datetime) -> str:
        try:
            return self.events.act_delayed(event_id, now)
        finally:
            with self._lock:
                self._waiting.discard(event_id)

    @property
    def flow_history(self) -> FlowHistory | None:
        """Kept flow logs for plan previews and signals: the store's aggregates once any
        flow log was ingested (or what was set here); None before."""
        if self._flow_history is not None:
            return self._flow_history
        return self.store.flows if self.store.flows.ingested() else None

    @flow_history.setter
    def flow_history(self, history: FlowHistory | None) -> None:
        self._flow_history = history

    # -- scans and rule runs --------------------------------------------------------------
    def scan(self, actor: str, providers: list[Provider] | None = None) -> Job:
        """Start a scan of every discovered scope (of ``providers``); its job at once."""
        job = Job(f"scan-{uuid.uuid4().hex[:10]}", "scan", actor, _now())
        self.store.jobs.save(job)
        self._submit(self._run_job, job, lambda: self._scan(providers or list(Provider), actor))
        return job

    def run_rules(self, actor: str, *, rehearse: bool = False) -> Job:
        """Start a run of the automation rules file (or a rehearsal of it on a sandbox copy
        of the stored inventory, which changes no cloud and no finding); its job at once."""
        path = self.settings.rules_file
        if path is None or not path.is_file():
            raise InputError(
                "no automation rules file configured", hint="set CLAMP_RULES for the service"
            )
        rules = load_rules(path, self.settings.stages)  # a bad file is refused now
        if rehearse and not self.store.rules.inventory():
            raise InputError("no inventory to rehearse on: run a scan first")
        prefix = "rehearsal" if rehearse else "rules"
        job = Job(f"{prefix}-{uuid.uuid4().hex[:10]}", "rules", actor, _now())
        self.store.jobs.save(job)

        def run() -> tuple[str, dict[str, Any]]:
            if rehearse:
                from clamp.automation.rehearse import rehearse as rehearsal

                report = rehearsal(self.store, self.settings, rules, actor=actor)
            elif self.settings.workers is not None:
                return self._rules_on_workers(actor)
            else:
                report = self.rule_runner(actor).run(rules, actor=actor)
            counts = report.summary()
            done = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing to do"
            words = f"{prefix} {report.run}: {done}" if rehearse else f"{report.run}: {done}"
            return words, {"run": report.run, "rehearsal": rehearse, **counts}

        self._submit(self._run_job, job, run)
        return job

    def _rules_on_workers(self, actor: str) -> tuple[str, dict[str, Any]]:
        """A rule run on a worker (``[workers]``): one task, waited for."""
        from clamp.workers.app import make_app, outcome

        app = make_app(self.settings)
        counts = outcome(app.send_task("clamp.run_rules", args=[actor]).get(timeout=3600))
        run = counts.pop("run")
        done = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing to do"
        return f"{run}: {done}", {"run": run, **counts}

    def ingest_flows(self, actor: str) -> Job:
        """Start a round over the ``[flows] storage_accounts``' flow-log blobs; its job."""
        from clamp.events.flows.storage import ingest_accounts

        job = Job(f"flows-{uuid.uuid4().hex[:10]}", "flows", actor, _now())
        self.store.jobs.save(job)

        def run() -> tuple[str, dict[str, Any]]:
            summary = ingest_accounts(self.store, self.settings)
            return f"{summary.tuples} tuple(s) from {summary.files} blob(s)", summary.as_json()

        self._submit(self._run_job, job, run)
        return job

    def _scan(self, providers: list[Provider], actor: str) -> tuple[str, dict[str, Any]]:
        if self.settings.workers is not None:  # one task per subscription/project
            from clamp.workers.app import make_app
            from clamp.workers.fanout import scan_on_workers

            app = make_app(self.settings)
            result = scan_on_workers(self.store, app, self.drivers, providers, {})
        else:
            result = scan_clouds(
                self.settings, self.store, self.drivers, providers, {}, flows=self.flow_history
            )
        summary = scan_summary_to_json(result.summary) if result.summary else {}
        words = f"{result.resources} resource(s), {len(result.findings)} finding(s)"
        if result.signals:
            words += "; " + self._on_signals(result.signals, actor)
        if result.errors:
            words += "; " + "; ".join(result.errors)
        return words, summary

    def _on_signals(self, signals: Sequence[Signal], actor: str) -> str:
        """Run the rules file's ``on: signal`` rules over a scan's flow signals, as the
        scan's actor; what they did, in words."""
        from clamp.automation.signal_rules import SignalRunner, load_signal_rules

        path = self.settings.rules_file
        try:
            rules = load_signal_rules(path, self.settings.stages) if path and path.is_file() else []
            if not rules:
                return f"{len(signals)} flow signal(s), no on: signal rule"
            done = SignalRunner(self.responder(actor)).run(rules, signals, actor=actor)
        except ClampError as exc:  # the scan itself is recorded; say why the rules did not run
            return f"{len(signals)} flow signal(s); on: signal rules not run: {exc}"
        counts: dict[str, int] = {}
        for outcome in done:
            counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
        return f"{len(signals)} flow signal(s): " + (
            ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no rule acted"
        )

    def _run_job(self, job: Job, work: Callable[[], tuple[str, dict[str, Any]]]) -> Job:
        try:
            result, summary = work()
        except ClampError as exc:
            done = replace(job, status=JobStatus.FAILED, finished=_now(), result=str(exc))
        else:
            done = replace(
                job, status=JobStatus.SUCCEEDED, finished=_now(), result=result, summary=summary
            )
        self.store.jobs.save(done)
        return done

    def _submit(
        self, work: Callable[..., Any], *args: Any, pool: ThreadPoolExecutor | None = None
    ) -> None:
        future = (pool or self.pool).submit(work, *args)
        self._futures.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:
        self._futures.discard(future)
        exc = future.exception()
        if exc is not None and not isinstance(exc, ClampError):
            log.error("background work failed", exc_info=exc)

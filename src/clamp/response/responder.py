"""Runs playbooks against a VM for an incident, undoes them, and keeps the approval queue.

A run is journaled before its first step and after every step; each step goes through the
action engine (plan → journal → apply → verify), so a crash leaves both the run and its
in-flight action recoverable: ``reconcile`` (on every start, after the engine's own)
settles a run whose process is gone and says exactly which steps happened.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from clamp.actions.engine import ActionEngine, new_action_id, provider_of
from clamp.actions.interface import INTENTS
from clamp.approvals import ApprovalQueue, new_approval_id
from clamp.config import Settings
from clamp.errors import ClampError, InputError, NotFoundError, NothingToDo, PlanRefused
from clamp.model import (
    ActionRecord,
    ActionStatus,
    Approval,
    ApprovalKind,
    Decision,
    Incident,
    Plan,
    Resource,
    Run,
    RunStatus,
    RunStep,
    StepStatus,
)
from clamp.providers.objects import resource_from_raw
from clamp.response.playbook import Playbook, with_incident
from clamp.roles import Role
from clamp.store import AuditNote
from clamp.store.codec import record_to_json

if TYPE_CHECKING:
    from clamp.store import Store

DONE = {StepStatus.VERIFIED, StepStatus.SKIPPED}
UNDOABLE = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.UNDO_FAILED}


def _now() -> datetime:
    return datetime.now(UTC)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    """Whether the process that owns a run still runs (on this host; another host's
    runs are never taken over)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


class Responder:
    """Incidents, playbook runs and approvals on top of the action engine."""

    def __init__(self, store: Store, engine: ActionEngine, settings: Settings) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.book = store.incidents
        self.approvals = ApprovalQueue(store, settings)

    # -- incidents ------------------------------------------------------------------------
    def open_incident(
        self,
        title: str,
        resource: str,
        *,
        actor: str,
        evidence: Sequence[Mapping[str, Any]] = (),
        rule: str = "",
    ) -> Incident:
        """Open an incident about ``resource`` (a VM's cloud id); audited, with the
        ``evidence`` (flow signals) and the ``rule`` that opened it, if any."""
        self.settings.roles.require(actor, Role.RESPONDER, "open an incident")
        if not title.strip():
            raise InputError("an incident needs a title")
        provider_of(resource)
        incident = Incident(
            id=f"inc-{uuid.uuid4().hex[:10]}",
            title=title.strip(),
            resource=resource,
            opened_by=actor,
            created=_now(),
        )
        payload: dict[str, Any] = {"incident": incident.id, "title": title, "resource": resource}
        if evidence:
            payload["evidence"] = [dict(e) for e in evidence]
        if rule:
            payload["rule"] = rule
        self.book.save_incident(incident, audit=AuditNote("incident.opened", actor, payload))
        return incident

    def close_incident(self, incident_id: str, *, actor: str, note: str = "") -> Incident:
        """Close an incident (refused while one of its runs is running or awaits approval)."""
        self.settings.roles.require(actor, Role.RESPONDER, "close an incident")
        incident = self.book.incident(incident_id)
        if not incident.open:
            raise InputError(f"incident {incident_id} is already closed")
        busy = [
            r.id
            for r in self.book.runs(incident=incident_id)
            if r.status in (RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL)
        ]
        if busy:
            raise InputError(f"incident {incident_id} has runs in progress: {', '.join(busy)}")
        closed = replace(incident, open=False, closed_by=actor, closed=_now(), note=note)
        payload = {"incident": incident_id, "note": note}
        self.book.save_incident(closed, audit=AuditNote("incident.closed", actor, payload))
        return closed

    # -- runs -----------------------------------------------------------------------------
    def rehearse(
        self,
        playbook: Playbook,
        incident_id: str,
        *,
        target: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[tuple[RunStep, Plan | None, str]]:
        """Each step's plan against the target as it is now (a dry run: nothing changes).

        Later steps are planned against today's state, not the state earlier steps leave."""
        incident = self.book.incident(incident_id)
        out: list[tuple[RunStep, Plan | None, str]] = []
        for step in self._steps(playbook, incident, params):
            try:
                plan = self.engine.plan_containment(
                    step.intent, target or incident.resource, step.params
                )
                out.append((step, plan, plan.summary))
            except ClampError as exc:
                out.append((step, None, str(exc)))
        return out

    def respond(
        self,
        playbook: Playbook,
        incident_id: str,
        *,
        actor: str,
        target: str | None = None,
        params: Mapping[str, Any] | None = None,
        confirm_irreversible: bool = False,
        pre_approved_by: str | None = None,
    ) -> Run:
        """Run ``playbook`` on the target for the incident, or queue it for approval.

        ``pre_approved_by``: the rule (``pre_approved: true`` for this playbook) whose
        standing approval stands in for a second person; the audit says so."""
        incident = self.book.incident(incident_id)
        if not incident.open:
            raise InputError(f"incident {incident_id} is closed; open a new one")
        target = target or incident.resource
        provider_of(target)
        self.settings.roles.require(actor, playbook.role, f"run playbook {playbook.name}")
        if any(s.irreversible for s in playbook.steps) and not confirm_irreversible:
            raise PlanRefused(
                f"playbook {playbook.name} has a step that can never be undone; nothing was done",
                hint="re-run with --i-understand-this-is-irreversible to confirm a second time",
            )
        steps = self._steps(playbook, incident, params)
        self._check_inputs(playbook, steps, target)
        run = Run(
            id=f"run-{uuid.uuid4().hex[:10]}",
            incident=incident.id,
            playbook=playbook.name,
            target=target,
            actor=actor,
            status=RunStatus.RUNNING,
            created=_now(),
            steps=tuple(steps),
            irreversible_confirmed=confirm_irreversible,
        )
        if self.needs_approval(playbook) and self.settings.roles.enforced:
            if pre_approved_by is None:
                return self._queue(run)
            run = replace(run, approved_by=f"pre-approved by rule {pre_approved_by}")
            payload = {
                "run": run.id,
                "incident": run.incident,
                "playbook": run.playbook,
                "target": run.target,
                "rule": pre_approved_by,
                "why": f"rule {pre_approved_by} says pre_approved: true for {playbook.name}; "
                "the second person's approval is skipped within the rule's caps",
            }
            self.store.audit.append("run.pre-approved", actor, payload)
        return self._execute(run)

    def needs_approval(self, playbook: Playbook) -> bool:
        """Whether a run of ``playbook`` waits for a second person: its file says so, or
        the config's ``[approvals] playbooks`` names it (or ``*``)."""
        wanted = self.settings.approve_playbooks
        return playbook.approval or playbook.name in wanted or "*" in wanted

    def _steps(
        self, playbook: Playbook, incident: Incident, params: Mapping[str, Any] | None
    ) -> list[RunStep]:
        """The run's steps: each step's parameters, plus those given for the run that its
        intent takes, plus the incident id."""
        steps = []
        for step in playbook.steps:
            schema = INTENTS.get(step.intent).params_schema
            known = schema.get("properties") or {}
            given = {k: v for k, v in (params or {}).items() if k in known}
            merged = with_incident(schema, {**step.params, **given}, incident.id)
            if INTENTS.get(step.intent).irreversible_with(merged) and not step.irreversible:
                raise InputError(
                    f"step {step.intent} of {playbook.name} would never be undone with "
                    f"{sorted(given)}; nothing was done",
                    hint="run a playbook of your own whose step says irreversible: true",
                )
            steps.append(RunStep(step.intent, merged, step.on_failure))
        unused = set(params or {}) - {k for s in steps for k in s.params}
        if unused:
            raise InputError(f"no step of {playbook.name} takes the parameter(s) {sorted(unused)}")
        return steps

    def _check_inputs(self, playbook: Playbook, steps: Sequence[RunStep], target: str) -> None:
        """Refuse the run before its first step when any step's parameters are bad, so a
        bad value never leaves a run half done. Each step is planned against the target as
        it is now; only bad input refuses (a step an earlier one makes moot is fine)."""
        for n, step in enumerate(steps, 1):
            try:
                self.engine.plan_containment(step.intent, target, step.params)
            except InputError as exc:
                raise InputError(
                    f"{playbook.name} step {n} ({step.intent}): {exc.message}; nothing was done",
                    hint=exc.hint,
                ) from exc
            except ClampError:
                continue

    def _execute(self, run: Run) -> Run:
        run = replace(run, status=RunStatus.RUNNING, owner=_owner(), updated=_now())
        try:
            now = self.engine.read_target(run.target)[0]
        except ClampError as exc:
            return self._finish(run, RunStatus.FAILED, f"cannot read {run.target}: {exc}")
        origin = self._first_seen(run) or now
        run = replace(run, origin={"id": now.id, "raw": now.raw})
        self._save(run, "run.started")
        stopped = False
        for index, step in enumerate(run.steps):
            if stopped:
                run = self._step(
                    run, index, status=StepStatus.NOT_RUN, result="an earlier step failed"
                )
                continue
            taken = self._evidence_taken(run, step)
            if taken:
                run = self._step(run, index, status=StepStatus.SKIPPED, result=taken)
                self._save(run, "run.step")
                continue
            action = new_action_id()  # on the step before it is journaled: a crash keeps the link
            run = self._step(run, index, status=StepStatus.RUNNING, action=action)
            run = self._step(run, index, **self._do(run, index, origin, action))
            stopped = run.steps[index].status == StepStatus.FAILED and step.on_failure == "stop"
            self._save(run, "run.step")
        failed = [s for s in run.steps if s.status not in DONE]
        if not failed:
            return self._finish(run, RunStatus.SUCCEEDED, _tally(run.steps))
        first = next(s for s in run.steps if s.status == StepStatus.FAILED)
        return self._finish(
            run, RunStatus.FAILED, f"{first.intent} failed: {first.result}; {_tally(run.steps)}"
        )

    def _evidence_taken(self, run: Run, step: RunStep) -> str:
        """Why a step that is never undone (evidence: disk snapshots) need not run again:
        an earlier run of the incident on the target took it (empty when none did)."""
        if INTENTS.get(step.intent).reversible:
            return ""
        for earlier in self.book.runs(incident=run.incident):
            if earlier.id == run.id or earlier.target.lower() != run.target.lower():
                continue
            for done in earlier.steps:
                if done.intent == step.intent and done.status == StepStatus.VERIFIED:
                    return f"already done by run {earlier.id} (action {done.action}): kept"
        return ""

    def _first_seen(self, run: Run) -> Resource | None:
        """The target as the incident's first run on it found it: a run after a crash or a
        failure then still revokes the roles of an identity an earlier run detached."""
        earlier = [
            r
            for r in self.book.runs(incident=run.incident)
            if r.target == run.target and r.origin and r.id != run.id
        ]
        if not earlier or earlier[0].origin is None:
            return None
        return resource_from_raw(run.target, earlier[0].origin["raw"])

    def _do(self, run: Run, index: int, origin: Resource, action: str) -> dict[str, Any]:
        """Plan, apply and verify one step as action ``action``; its outcome as ``RunStep``
        fields."""
        step = run.steps[index]
        try:
            plan = self.engine.plan_containment(step.intent, run.target, step.params, origin=origin)
        except NothingToDo as exc:
            return {"status": StepStatus.SKIPPED, "result": str(exc), "action": None}
        except ClampError as exc:
            return {"status": StepStatus.FAILED, "result": f"not planned: {exc}", "action": None}
        try:
            record = self.engine.apply(
                plan,
                actor=run.actor,
                reason=_reason(run, index),
                confirm_irreversible=run.irreversible_confirmed,
                action_id=action,
            )
        except ClampError as exc:
            return {
                "status": StepStatus.FAILED,
                "result": str(exc),
                "summary": plan.summary,
                "action": action if self._journaled(action) else None,
            }
        return {
            "status": StepStatus.VERIFIED,
            "result": record.result,
            "summary": plan.summary,
            "action": record.id,
        }

    def _step(self, run: Run, index: int, **fields: Any) -> Run:
        steps = list(run.steps)
        steps[index] = replace(steps[index], **fields)
        run = replace(run, steps=tuple(steps), updated=_now())
        self.book.save_run(run)
        return run

    def _finish(self, run: Run, status: RunStatus, result: str) -> Run:
        done = replace(run, status=status, result=result, updated=_now())
        self._save(done, "run.finished")
        return done

    # -- undo -----------------------------------------------------------------------------
    def undo(self, run_id: str, *, actor: str) -> Run:
        """Undo every step of a run in reverse order, each verified; evidence is kept."""
        run = self.book.run(run_id)
        if run.status not in UNDOABLE:
            raise InputError(f"run {run_id} is {run.status}; it has nothing to undo")
        holding = self._held_elsewhere(run)
        if holding:
            raise InputError(
                f"{run.target} is also contained for open incident(s) {', '.join(holding)}; "
                f"releasing it for {run.incident} would release it for them too; nothing was "
                "undone",
                hint="close those incidents (or undo their runs) first",
            )
        steps = list(run.steps)
        for index in reversed(range(len(steps))):
            step = steps[index]
            if step.status != StepStatus.VERIFIED or step.action is None:
                continue
            action = self.store.action(step.action)
            if action.status == ActionStatus.UNDONE:
                steps[index] = replace(step, status=StepStatus.UNDONE)
            elif not action.plan.reversible:
                steps[index] = replace(
                    step, status=StepStatus.KEPT, result="kept: never undone (evidence)"
                )
            else:
                try:
                    undone = self.engine.undo(step.action, actor=actor, reason=f"undo of {run_id}")
                    steps[index] = replace(step, status=StepStatus.UNDONE, result=undone.result)
                except ClampError as exc:
                    steps[index] = replace(step, result=f"undo failed: {exc}")
            run = replace(run, steps=tuple(steps), updated=_now())
            self.book.save_run(run)
        left = [s.intent for s in steps if s.status == StepStatus.VERIFIED]
        status = RunStatus.UNDO_FAILED if left else RunStatus.UNDONE
        result = f"not undone: {', '.join(left)}" if left else "every step undone and verified"
        done = replace(run, status=status, result=result, updated=_now())
        self._save(done, "run.undone" if not left else "run.undo_failed", actor)
        return done

    def _held_elsewhere(self, run: Run) -> list[str]:
        """Other open incidents whose runs still contain the same target."""
        open_incidents = {i.id for i in self.book.incidents(open_only=True)}
        return sorted(
            {
                other.incident
                for other in self.book.runs()
                if other.incident != run.incident
                and other.incident in open_incidents
                and other.target.lower() == run.target.lower()
                and other.status in UNDOABLE
                and (
                    other.status == RunStatus.SUCCEEDED  # its steps may rely on this run's
                    or any(s.status == StepStatus.VERIFIED for s in other.steps)
                )
            }
        )

    # -- approvals ------------------------------------------------------------------------
    def _queue(self, run: Run) -> Run:
        run = replace(run, status=RunStatus.AWAITING_APPROVAL)
        self._save(run, "run.queued")
        self.approvals.request(
            Approval(
                id=new_approval_id(),
                subject=run.id,
                requester=run.actor,
                created=_now(),
                summary=f"run {run.playbook} on {run.target} for incident {run.incident}",
            )
        )
        return run

    def decide(self, approval_id: str, *, actor: str, approve: bool, reason: str = "") -> Run:
        """Approve (and run) or reject a queued run; never by the one who asked for it."""
        verb = "approve" if approve else "reject"
        approval = self.approvals.pending(approval_id, ApprovalKind.RUN, actor=actor, verb=verb)
        decision = Decision.APPROVED if approve else Decision.REJECTED
        self.approvals.close(approval, decision, actor=actor, reason=reason)
        run = self.book.run(approval.subject)
        if not approve:
            return self._finish(run, RunStatus.REJECTED, f"rejected by {actor}: {reason}")
        return self._execute(replace(run, approved_by=actor))

    # -- crash recovery -------------------------------------------------------------------
    def reconcile(self) -> list[Run]:
        """Settle runs left ``running`` by a process that is gone: each step's outcome from
        the journal (the engine has settled the in-flight action first)."""
        settled = []
        for run in self.book.runs(status=RunStatus.RUNNING):
            if run.owner and _alive(run.owner):
                continue
            steps = [self._settled(run, i, s) for i, s in enumerate(run.steps)]
            done = [s.intent for s in steps if s.status in DONE]
            result = (
                f"interrupted: the process running it ({run.owner}) stopped; "
                f"done: {', '.join(done) or 'nothing'}; not run: "
                + (", ".join(s.intent for s in steps if s.status == StepStatus.NOT_RUN) or "none")
                + f"; `clamp undo {run.id}` releases what was done, or run the playbook again"
            )
            interrupted = replace(run, steps=tuple(steps))
            settled.append(self._finish(interrupted, RunStatus.INTERRUPTED, result))
        return settled

    def _settled(self, run: Run, index: int, step: RunStep) -> RunStep:
        if step.status not in (StepStatus.RUNNING, StepStatus.PENDING):
            return step
        action = self._journaled(step.action) if step.action else None
        if action is None:
            return replace(
                step, status=StepStatus.NOT_RUN, action=None, result="interrupted before it began"
            )
        status = (
            StepStatus.VERIFIED if action.status == ActionStatus.VERIFIED else StepStatus.FAILED
        )
        return replace(step, status=status, action=action.id, result=action.result)

    # -- journal --------------------------------------------------------------------------
    def _journaled(self, action_id: str) -> ActionRecord | None:
        """The engine's journal entry of a step's action, if it got that far."""
        try:
            return self.store.action(action_id)
        except NotFoundError:
            return None

    def _save(self, run: Run, event: str, actor: str | None = None) -> None:
        """Save the run with its audit entry, in one transaction."""
        payload = {
            "run": run.id,
            "incident": run.incident,
            "playbook": run.playbook,
            "status": run.status.value,
            "steps": [record_to_json(s) for s in run.steps],
        }
        self.book.save_run(run, audit=AuditNote(event, actor or run.actor, payload))


def _reason(run: Run, index: int) -> str:
    """The reason a step's action is journaled with (how a crashed run finds it again)."""
    return f"incident {run.incident}: {run.id} step {index + 1} ({run.steps[index].intent})"


def _tally(steps: Sequence[RunStep]) -> str:
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.status.value] = counts.get(step.status.value, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in counts.items())

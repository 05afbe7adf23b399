"""The action engine: plan → journal → apply → verify → record, undo, and crash recovery.

Every path that changes a cloud resource goes through ``ActionEngine``. The intent is
journaled (``in_flight``) before the first write; if the process dies mid-way,
``reconcile()`` on the next start compares the cloud with the plan and finishes or
rolls back, so nothing is left half-done or unexplained.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from clamp.actions.audit_trail import Observer, audit_note
from clamp.actions.bundles import plan_bundle
from clamp.actions.interface import INTENTS, Intent, remediations
from clamp.checks import evaluate
from clamp.compare import matches
from clamp.config import Settings
from clamp.errors import (
    ActionError,
    ClampError,
    ConflictError,
    InputError,
    PlanRefused,
    ResourceNotFound,
    UndoRefused,
    VerificationFailed,
)
from clamp.imports.verify import confirm as confirm_imported
from clamp.model import (
    ActionRecord,
    ActionStatus,
    Change,
    Finding,
    Plan,
    Provider,
    Resource,
    Severity,
)
from clamp.providers.interface import CloudDriver
from clamp.roles import Role

if TYPE_CHECKING:
    from clamp.store import Store

DriverFactory = Callable[[Provider], CloudDriver]


def _now() -> datetime:
    return datetime.now(UTC)


def new_action_id() -> str:
    """A fresh action id (a caller may take one before ``apply`` to link to the action)."""
    return f"a-{uuid.uuid4().hex[:12]}"


def provider_of(target: str) -> Provider:
    """The cloud of a target's id: an ARM id, or a Google full resource name."""
    if target.lower().startswith("/subscriptions/"):
        return Provider.AZURE
    if target.startswith("//"):
        return Provider.GCP
    raise InputError(
        f"not a cloud resource id: {target!r} (an ARM id or //compute.googleapis.com/...)"
    )


def _outcome(plan: Plan) -> str:
    """What a verified plan achieved, in words."""
    if plan.accepts:
        return "the changes hold; manual steps remain for " + ", ".join(plan.accepts)
    count = len(plan.findings)
    return "the finding is gone" if count == 1 else f"all {count} findings are gone"


def described(plan: Plan, driver: CloudDriver) -> Plan:
    """``plan`` naming the SDK call of each change as the driver makes it, and listing the
    permissions those calls need besides the ones the intent named."""
    calls = [driver.describe(change) for change in plan.changes]
    changes = tuple(
        replace(change, api_call=call.api) for change, call in zip(plan.changes, calls, strict=True)
    )
    needed = [p for call in calls for p in call.permissions]
    return replace(
        plan, changes=changes, permissions=tuple(dict.fromkeys([*plan.permissions, *needed]))
    )


def _opened(findings: Sequence[Finding], plan: Plan, baseline: Mapping[str, str]) -> list[Finding]:
    """Findings the change brought: not there before it, or more severe than before."""
    wanted = set(plan.findings)
    return [
        f
        for f in findings
        if f.id not in wanted
        and (f.id not in baseline or f.severity.rank > Severity(baseline[f.id]).rank)
    ]


def _only_accepted(finding: Finding, plan: Plan) -> bool:
    """Whether all that keeps ``finding`` open are the manual steps the plan listed."""
    left = finding.details.get("not_met")
    return bool(plan.accepts) and isinstance(left, list) and set(left) <= set(plan.accepts)


FRESH_READ = 2.0
"""Seconds a resource noted as just read (``ActionEngine.seen``) stands for reading it."""


class ActionEngine:
    """Runs intents against the clouds with a plan first, a check after, and an undo."""

    def __init__(
        self,
        store: Store,
        drivers: DriverFactory,
        settings: Settings,
        observers: Sequence[Observer] = (),
    ) -> None:
        self.store = store
        self.drivers = drivers
        self.settings = settings
        self.observers: list[Observer] = list(observers)
        self._seen: dict[str, tuple[float, list[Resource]]] = {}
        """Resources read a moment ago (``seen``), by lower-cased id, with when."""

    def seen(self, related: Sequence[Resource]) -> None:
        """Note a resource just read from its cloud (first: the resource, then what was
        read with it): planning and the baseline within ``FRESH_READ`` seconds, until a
        change is started, use it instead of reading it again. An event's rules plan from
        the event's re-read; the write itself still compares with the cloud as it is then
        (If-Match, re-read), and verification always reads anew."""
        if related:
            self._seen[related[0].id.lower()] = (time.monotonic(), list(related))

    def _read_related(self, driver: CloudDriver, resource_id: str) -> list[Resource]:
        """``driver.read_related``, or what ``seen`` noted of it a moment ago."""
        noted = self._seen.get(resource_id.lower())
        if noted is not None and time.monotonic() - noted[0] <= FRESH_READ:
            return noted[1]
        return driver.read_related(resource_id)

    # -- planning -------------------------------------------------------------------------
    def choose_intent(self, check: str, intent: str | None) -> Intent:
        """The intent to fix ``check``: the one named, or the check's default (its first)."""
        if intent is not None:
            chosen = INTENTS.get(intent)
            if check not in chosen.fixes:
                valid = ", ".join(remediations(check)) or "none"
                raise PlanRefused(f"intent {intent!r} does not fix {check!r}; valid: {valid}")
            return chosen()
        defaults = remediations(check)
        if not defaults:
            raise PlanRefused(f"no intent fixes {check!r} yet")
        return INTENTS.get(defaults[0])()

    def plan(
        self,
        finding_id: str,
        *,
        intent: str | None = None,
        params: Mapping[str, Any] | None = None,
        bundle: str | None = None,
    ) -> Plan:
        """Read the finding's resource from the cloud now and plan the fix (no change).

        ``bundle`` plans every protection of a bundle (``data-protection``) at once."""
        record = self.store.finding(finding_id)
        finding = record.finding
        if bundle is not None and (intent is not None or params):
            raise InputError("--bundle chooses its own intents and parameters")
        chosen = None if bundle is not None else self.choose_intent(finding.check, intent)
        if chosen is not None:
            chosen.check_values(dict(params or {}))  # before the cloud is even read
        driver = self.drivers(finding.provider)
        related = self._read_related(driver, finding.resource)
        finding = confirm_imported(finding, related, self.settings)  # another tool's: verify
        if bundle is not None:
            return described(plan_bundle(bundle, finding, related[0], self.settings), driver)
        assert chosen is not None
        plan = chosen.plan(finding, related[0], dict(params or {}), self.settings, related)
        alternatives = tuple(i for i in remediations(finding.check) if i != plan.intent)
        return described(replace(plan, alternatives=alternatives), driver)

    def plan_containment(
        self,
        intent: str,
        target: str,
        params: Mapping[str, Any] | None = None,
        *,
        origin: Resource | None = None,
    ) -> Plan:
        """Read ``target`` (a VM's cloud id) now and plan an intent that acts on it directly
        (a containment intent, or ``detach_identity``/``revoke_identity_roles``).

        ``origin``: the VM as read when the incident response began (see ``Intent.contain``).
        """
        chosen = INTENTS.get(intent)()
        if not chosen.targets:
            raise PlanRefused(f"{intent} fixes findings; it does not act on a target")
        chosen.check_values(dict(params or {}))
        driver = self.drivers(provider_of(target))
        related = driver.read_related(target)
        if related[0].type not in chosen.targets:
            raise PlanRefused(f"{intent} cannot act on a {related[0].type}")
        plan = chosen.contain(related[0], dict(params or {}), self.settings, related, origin=origin)
        return described(plan, driver)

    def read_target(self, target: str) -> list[Resource]:
        """A target read from its cloud now, with what is read with it (first: the target)."""
        return self.drivers(provider_of(target)).read_related(target)

    # -- applying -------------------------------------------------------------------------
    def apply(
        self,
        plan: Plan,
        *,
        actor: str,
        reason: str = "",
        confirm_irreversible: bool = False,
        authorized_by: str | None = None,
        action_id: str | None = None,
    ) -> ActionRecord:
        """Journal, apply, verify and record ``plan``; raise if it could not be verified.

        An irreversible plan is refused unless ``confirm_irreversible`` says the user
        confirmed it a second time, explicitly. ``authorized_by``: whose role allows it when
        the actor is automation (``rule:NAME``) set going by a person. ``action_id``: the id
        to journal it under (``new_action_id``), for a caller that records it first."""
        record = self.start(
            plan,
            actor=actor,
            reason=reason,
            confirm_irreversible=confirm_irreversible,
            authorized_by=authorized_by,
            action_id=action_id,
        )
        return self.finish(record)

    def start(
        self,
        plan: Plan,
        *,
        actor: str,
        reason: str = "",
        confirm_irreversible: bool = False,
        authorized_by: str | None = None,
        action_id: str | None = None,
    ) -> ActionRecord:
        """The first half of ``apply``: authorize, read the baseline and journal the plan
        (``planned``, in flight; nothing written yet). ``finish`` makes the changes."""
        self._authorize(plan, authorized_by or actor, "apply")
        if plan.irreversible and not confirm_irreversible:
            raise PlanRefused(
                f"{plan.intent} can never be undone: {plan.blast_radius}",
                hint="re-run with --i-understand-this-is-irreversible if you are sure",
            )
        driver = self.drivers(plan.provider)
        touched = self._findings_on_touched(plan, driver, noted=True)
        baseline = {f.id: str(f.severity) for f in touched}
        self._seen.clear()  # a change starts: later plans read the cloud as it will be
        return self._journal(
            plan,
            actor=actor,
            reason=reason,
            event="action.planned",
            baseline=baseline,
            action_id=action_id,
        )

    def finish(self, record: ActionRecord) -> ActionRecord:
        """The second half of ``apply``: write a journaled plan's changes and verify them."""
        driver = self.drivers(record.plan.provider)
        applied = self._write(record, driver, failed_event="action.failed")
        self._save(applied, "action.applied")
        return self._verify(applied, driver)

    def _authorize(self, plan: Plan, actor: str, verb: str) -> None:
        """Containment (a plan on a target, no finding) needs a responder; remediation a
        remediator (``clamp.roles``)."""
        if plan.findings:
            self.settings.roles.require(actor, Role.REMEDIATOR, f"{verb} remediation {plan.intent}")
        else:
            self.settings.roles.require(actor, Role.RESPONDER, f"{verb} containment {plan.intent}")

    def _journal(
        self,
        plan: Plan,
        *,
        actor: str,
        reason: str,
        event: str,
        undoes: str | None = None,
        baseline: Mapping[str, str] | None = None,
        action_id: str | None = None,
    ) -> ActionRecord:
        """Record the intent (in flight) before the first write."""
        record = ActionRecord(
            id=action_id or new_action_id(),
            finding=plan.finding,
            intent=plan.intent,
            status=ActionStatus.PLANNED,
            actor=actor,
            created=_now(),
            plan=plan,
            reason=reason,
            in_flight=True,
            undoes=undoes,
            baseline=dict(baseline or {}),
        )
        self._save(record, event)
        return record

    def _write(
        self, record: ActionRecord, driver: CloudDriver, *, failed_event: str
    ) -> ActionRecord:
        """Make the plan's changes in order; on an error roll back what was made and raise."""
        applied: list[Change] = []
        try:
            for change in record.plan.changes:
                driver.apply(change)
                applied.append(replace(change, after=driver.current(change)))
        except ClampError as exc:
            rollback = self._roll_back(driver, applied)
            self._settle(record, ActionStatus.FAILED, f"{exc}; {rollback}", failed_event)
            raise
        return replace(record, status=ActionStatus.APPLIED, applied=tuple(applied), updated=_now())

    def _roll_back(self, driver: CloudDriver, applied: Sequence[Change]) -> str:
        if not applied:
            return "nothing was changed"
        for change in reversed(applied):
            driver.apply(change.inverse())
        return f"the {len(applied)} change(s) already made were rolled back"

    def _findings_on_touched(
        self, plan: Plan, driver: CloudDriver, *, noted: bool = False
    ) -> list[Finding]:
        """The findings on the plan's resource and on every resource holding an object the
        plan creates or changes (a split's new rule, a quarantine NSG, a new firewall), as
        the cloud has them now (with ``noted``, before any change: as ``seen`` noted them a
        moment ago); objects not there (yet, or any more) are left out."""
        ids = [plan.resource, *(driver.resource_of(c) for c in plan.changes)]
        resources: dict[str, Resource] = {}
        for resource_id in dict.fromkeys(i for i in ids if i):
            try:
                related = (
                    self._read_related(driver, resource_id)
                    if noted
                    else driver.read_related(resource_id)
                )
            except ResourceNotFound:
                continue
            for resource in related:
                resources.setdefault(resource.id.lower(), resource)
        return evaluate(list(resources.values()), self.settings)

    def _verify(self, record: ActionRecord, driver: CloudDriver) -> ActionRecord:
        """Re-read everything the plan touched and re-evaluate: the plan's findings must be
        gone, and nothing else may have appeared or got worse (else it is rolled back)."""
        plan = record.plan
        findings = self._findings_on_touched(plan, driver)
        opened = _opened(findings, plan, record.baseline)
        if opened:
            self._fail_opened(record, driver, opened)
        if not plan.findings:
            return self._verify_state(record, driver)
        wanted = set(plan.findings)
        still = [f for f in findings if f.id in wanted and not _only_accepted(f, plan)]
        if still:
            ids = ", ".join(f.id for f in still)
            why = f"verification failed: still present after the change: {ids}"
            self._settle(record, ActionStatus.FAILED, why, "action.failed")
            raise VerificationFailed(
                f"action {record.id} applied but {ids} is still present; "
                f"run `clamp undo {record.id}` to restore the previous state"
            )
        done = f"verified: re-read from the cloud, {_outcome(plan)}"
        settled = self._settle(record, ActionStatus.VERIFIED, done, "action.verified")
        # the re-evaluation proved these gone: they resolve now, not at the next scan
        self.store.record_fixed(wanted - {f.id for f in findings}, fixed=True, actor=record.actor)
        return settled

    def _verify_state(self, record: ActionRecord, driver: CloudDriver) -> ActionRecord:
        """Verify a plan with no finding (containment): every object shows its after-image."""
        drifted = [c.target for c in record.plan.changes if not matches(c.after, driver.current(c))]
        if drifted:
            why = f"verification failed: {', '.join(drifted)} does not show the change"
            self._settle(record, ActionStatus.FAILED, why, "action.failed")
            raise VerificationFailed(f"action {record.id} applied but could not be verified")
        done = "verified: re-read from the cloud, every change holds"
        return self._settle(record, ActionStatus.VERIFIED, done, "action.verified")

    def _fail_opened(
        self, record: ActionRecord, driver: CloudDriver, opened: Sequence[Finding]
    ) -> NoReturn:
        """A change that opened something is never verified: roll it back and say what."""
        what = "; ".join(f"{f.check} ({f.severity}) on {f.resource}" for f in opened)
        try:
            rollback = self._roll_back(driver, record.applied)
        except ClampError as exc:
            rollback = f"rolling back failed too: {exc}; run `clamp undo {record.id}`"
        why = f"verification failed: the change opened {what}; {rollback}"
        self._settle(record, ActionStatus.FAILED, why, "action.failed")
        raise VerificationFailed(
            f"action {record.id} was rolled back: after the change, re-evaluation found {what}",
            hint="review the plan's parameters (e.g. --allow, forensics_cidr) and plan again",
        )

    # -- undo -----------------------------------------------------------------------------
    def undo_plan(self, action_id: str) -> Plan:
        """The plan that restores an action's before-image (refuses when impossible)."""
        record = self.store.action(action_id)
        if record.status not in (ActionStatus.VERIFIED, ActionStatus.APPLIED):
            raise UndoRefused(
                f"action {action_id} is {record.status}; only applied or "
                "verified actions can be undone"
            )
        if not record.plan.reversible:
            raise UndoRefused(f"action {action_id} ({record.intent}) cannot be undone")
        inverse = tuple(change.inverse() for change in reversed(record.applied))
        driver = self.drivers(record.plan.provider)
        undo = replace(
            record.plan,
            summary=f"undo {record.id}: {record.plan.summary}",
            changes=inverse,
            permissions=(),
        )
        return described(undo, driver)

    def undo(self, action_id: str, *, actor: str, reason: str = "") -> ActionRecord:
        """Restore an action's before-image, refusing if the resource drifted since."""
        return self.finish_undo(self.start_undo(action_id, actor=actor, reason=reason))

    def start_undo(
        self, action_id: str, *, actor: str, reason: str = "", undo_id: str | None = None
    ) -> ActionRecord:
        """The first half of ``undo``: authorize, refuse on drift, journal the undo plan
        (under ``undo_id`` when given)."""
        plan = self.undo_plan(action_id)
        self._authorize(plan, actor, "undo")
        driver = self.drivers(plan.provider)
        for change in plan.changes:
            if not matches(change.before, driver.current(change)):
                raise UndoRefused(
                    f"{change.target} changed since action {action_id} was applied; "
                    "nothing was undone",
                    hint="re-scan, review the resource and fix it by hand or with `clamp fix`",
                )
        return self._journal(
            plan,
            actor=actor,
            reason=reason or f"undo of {action_id}",
            event="undo.planned",
            undoes=action_id,
            action_id=undo_id,
        )

    def finish_undo(self, record: ActionRecord) -> ActionRecord:
        """The second half of ``undo``: write the journaled undo, verify that every object
        is back to its before-image, and mark the original action undone."""
        undoes = record.undoes
        if undoes is None:
            raise InputError(f"action {record.id} is not an undo")
        plan = record.plan
        driver = self.drivers(plan.provider)
        applied = self._write(record, driver, failed_event="undo.failed").applied
        restored = all(matches(c.after, driver.current(c)) for c in plan.changes)
        record = replace(record, applied=tuple(applied))
        if not restored:
            why = "the cloud does not show the before-image after undo"
            self._settle(record, ActionStatus.FAILED, why, "undo.failed")
            raise VerificationFailed(f"undo {record.id} could not be verified")
        done = "verified: the before-image is restored"
        settled = self._settle(record, ActionStatus.VERIFIED, done, "undo.verified")
        original = self.store.action(undoes)
        self._save(
            replace(original, status=ActionStatus.UNDONE, updated=_now()),
            "action.undone",
            record.actor,
        )
        # the before-image is back, and with it what the original action fixed
        self.store.record_fixed(original.plan.findings, fixed=False, actor=record.actor)
        return settled

    # -- crash recovery -------------------------------------------------------------------
    def reconcile(self, records: Sequence[ActionRecord] | None = None) -> list[ActionRecord]:
        """Finish or roll back actions a crash left in flight (``records``: only these, e.g.
        the ones a worker holds the resource lease of); return what was settled."""
        settled = []
        for record in self.store.in_flight_actions() if records is None else records:
            settled.append(self._reconcile_one(record))
        return settled

    def _reconcile_one(self, record: ActionRecord) -> ActionRecord:
        driver = self.drivers(record.plan.provider)
        landed: list[Change] = []
        for change in record.plan.changes:
            now = driver.current(change)
            if matches(change.after, now) and not matches(change.before, now):
                landed.append(replace(change, after=now))
            elif not matches(change.before, now):
                result = (
                    f"interrupted; {change.target} matches neither the plan's before "
                    "nor after image: review it by hand"
                )
                seen = replace(record, applied=tuple(landed))
                return self._settle(seen, ActionStatus.FAILED, result, "action.reconciled")
        if not landed:
            result = "interrupted before apply; nothing was changed"
        elif len(landed) < len(record.plan.changes):
            result = "interrupted mid-apply; " + self._roll_back(driver, landed)
        elif record.undoes is not None:
            done = self._settle(
                replace(record, applied=tuple(landed)),
                ActionStatus.VERIFIED,
                "verified on restart: the before-image is restored",
                "undo.reconciled",
            )
            original = self.store.action(record.undoes)
            self._save(
                replace(original, status=ActionStatus.UNDONE, updated=_now()),
                "action.undone",
                record.actor,
            )
            return done
        else:
            applied = replace(record, status=ActionStatus.APPLIED, applied=tuple(landed))
            self._save(applied, "action.reconciled")
            try:
                return self._verify(applied, driver)
            except VerificationFailed:
                return self.store.action(record.id)
        return self._settle(record, ActionStatus.FAILED, result, "action.reconciled")

    # -- journal and observers ----------------------------------------------------------------
    def _settle(
        self, record: ActionRecord, status: ActionStatus, result: str, event: str
    ) -> ActionRecord:
        """``record`` no longer in flight, with its status and result, journaled."""
        done = replace(record, status=status, in_flight=False, updated=_now(), result=result)
        self._save(done, event)
        return done

    def _save(self, record: ActionRecord, event: str, actor: str | None = None) -> None:
        """Journal ``record`` with its audit entry (one transaction), then tell the
        observers."""
        who = actor or record.actor
        self.store.save_action(record, audit=audit_note(event, record, who))
        for observer in self.observers:
            observer(event, record, who)


__all__ = ["ActionEngine", "ActionError", "ConflictError"]

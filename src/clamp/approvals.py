"""The one approval flow: requests, four-eyes decisions and their audit, for playbook runs
and rules' plans alike.

``ApprovalQueue.request`` stores a request and audits it; ``pending`` hands back a request
the actor may decide (still pending, of the expected kind, and the actor neither asked for
it nor set its rule going — ``clamp.roles.authorize_decision``); ``close`` records the
decision and audits it. What an approved request then does (run a playbook, apply a plan)
is the caller's.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from clamp.config import Settings
from clamp.errors import InputError
from clamp.model import Approval, ApprovalKind, Decision
from clamp.roles import authorize_decision
from clamp.store import AuditNote

if TYPE_CHECKING:
    from clamp.store import Store

WHO_DECIDES = {
    ApprovalKind.RUN: "a playbook run: `clamp approvals approve` runs it",
    ApprovalKind.PLAN: "a rule's plan: `clamp approvals approve` applies it",
}


def new_approval_id() -> str:
    """A fresh approval id."""
    return f"apr-{uuid.uuid4().hex[:10]}"


class ApprovalQueue:
    """Approval requests in the store, decided by a second person."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def request(self, approval: Approval) -> Approval:
        """Queue ``approval`` and audit the request."""
        note = _note("approval.requested", approval.requester, approval)
        self.store.incidents.save_approval(approval, audit=note)
        return approval

    def pending(self, approval_id: str, kind: ApprovalKind, *, actor: str, verb: str) -> Approval:
        """The pending request ``approval_id`` of ``kind``, if ``actor`` may ``verb`` it."""
        approval = self.store.incidents.approval(approval_id)
        if approval.kind != kind:
            raise InputError(f"approval {approval_id} is {WHO_DECIDES[approval.kind]}")
        if approval.decision != Decision.PENDING:
            raise InputError(f"approval {approval_id} was already {approval.decision}")
        authorize_decision(self.settings.roles, approval, actor, verb)
        return approval

    def close(
        self, approval: Approval, decision: Decision, *, actor: str, reason: str = ""
    ) -> Approval:
        """Record ``decision`` on a pending request and audit it."""
        decided = replace(
            approval, decision=decision, decided_by=actor, decided=datetime.now(UTC), reason=reason
        )
        self.store.incidents.save_approval(
            decided, audit=_note(f"approval.{decision}", actor, decided)
        )
        return decided


def _note(event: str, actor: str, approval: Approval) -> AuditNote:
    """The audit entry of a request or decision, written with it."""
    payload: dict[str, Any] = {
        "approval": approval.id,
        "kind": str(approval.kind),
        "subject": approval.subject,
        "summary": approval.summary,
        "reason": approval.reason,
    }
    if approval.rule:
        payload["rule"] = approval.rule
    return AuditNote(event, actor, payload)

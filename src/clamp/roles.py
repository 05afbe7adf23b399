"""Who may do what: a role per actor, from the ``[roles]`` table of Clamp's config file.

    [roles]
    alice = "remediator"            # security team: may fix findings
    bob = "responder"               # incident response: may contain VMs, run playbooks
    carol = ["approver", "viewer"]  # may approve what others asked for
    dana = "admin"

``viewer`` reads; ``remediator`` runs remediation intents (and undoes them);
``responder`` runs containment intents and playbooks (and undoes them); ``approver``
approves or rejects queued requests, never their own (four-eyes); ``admin`` may do all.
With no ``[roles]`` table every actor is ``admin`` and nothing waits for approval, so a
one-person install works out of the box.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from clamp.errors import ConfigError, Forbidden
from clamp.model import Approval


class Role(StrEnum):
    """What an actor may do."""

    VIEWER = "viewer"
    REMEDIATOR = "remediator"
    RESPONDER = "responder"
    APPROVER = "approver"
    ADMIN = "admin"


SCHEDULER = "schedule"
"""The actor of the service's scheduled scans, flow ingests and rule runs."""
EVENTS = "events"
"""The actor of event-triggered rule runs (their authority is the service's rules file,
which only its operators can change)."""
MACHINE_ROLES: Mapping[str, frozenset[Role]] = {
    SCHEDULER: frozenset({Role.REMEDIATOR}),
    EVENTS: frozenset({Role.REMEDIATOR}),
}
"""The service's own actors remediate, in the service and on its workers alike."""


@dataclass(frozen=True)
class Roles:
    """The roles of each actor; empty means a one-person install (everyone is admin)."""

    actors: Mapping[str, frozenset[Role]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> Roles:
        """The ``[roles]`` table, each role checked (errors name ``where`` and the actor)."""
        actors: dict[str, frozenset[Role]] = {}
        valid = ", ".join(r.value for r in Role)
        for actor, value in data.items():
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not names:
                raise ConfigError(f"{where}: roles.{actor} must be a role or a list of roles")
            try:
                actors[actor] = frozenset(Role(str(n)) for n in names)
            except ValueError:
                raise ConfigError(
                    f"{where}: roles.{actor}: unknown role in {names}; valid: {valid}"
                ) from None
        return cls(actors)

    @property
    def enforced(self) -> bool:
        """Whether roles (and approvals) apply: as soon as the config names any."""
        return bool(self.actors)

    def with_machines(self) -> Roles:
        """These roles and the service's own actors' (``MACHINE_ROLES``)."""
        return Roles({**self.actors, **MACHINE_ROLES})

    def of(self, actor: str) -> frozenset[Role]:
        """The roles of ``actor`` (admin for everyone when none are configured)."""
        if not self.enforced:
            return frozenset({Role.ADMIN})
        return self.actors.get(actor, frozenset())

    def require(self, actor: str, role: Role, doing: str) -> None:
        """Raise ``Forbidden`` unless ``actor`` holds ``role`` (or is admin)."""
        held = self.of(actor)
        if role in held or Role.ADMIN in held:
            return
        has = ", ".join(sorted(held)) or "no role"
        raise Forbidden(
            f"{actor} ({has}) may not {doing}: it needs the {role} role",
            hint="ask someone with that role, or an admin to change [roles] in the config",
        )


def authorize_decision(roles: Roles, approval: Approval, actor: str, verb: str) -> None:
    """Four-eyes: the decider is an approver and not who asked (nor who set a rule going).
    A one-person install (no roles configured) decides its own queue."""
    if not roles.enforced:
        return
    if actor in (approval.requester, approval.authorized_by):
        raise Forbidden(
            f"{actor} asked for {approval.summary}; a second person must {verb} it (four-eyes)"
        )
    roles.require(actor, Role.APPROVER, f"{verb} {approval.summary}")

"""What route functions take: the service and the signed-in user, and the role gates."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from clamp.api.auth import current_user, service_of
from clamp.api.service import Service
from clamp.roles import Role
from clamp.store.users import User

ServiceDep = Annotated[Service, Depends(service_of)]
UserDep = Annotated[User, Depends(current_user)]

REMEDIATE = (Role.REMEDIATOR,)
RESPOND = (Role.RESPONDER,)
OPERATE = (Role.REMEDIATOR, Role.RESPONDER)
"""Who may start scans: the people who act on what they find."""
DECIDE = (Role.APPROVER,)
ADMINISTER = (Role.ADMIN,)

"""``/api/v1/me`` and ``/api/v1/users``: who is signed in, and user administration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clamp.api.deps import ADMINISTER, ServiceDep, UserDep
from clamp.store.codec import iso
from clamp.store.users import User

router = APIRouter(tags=["users"])


class NewUser(BaseModel):
    """A user to add: name, roles, an optional console password."""

    name: str = Field(min_length=1, max_length=128)
    roles: list[str] = Field(min_length=1)
    password: str | None = None


class UserChange(BaseModel):
    """What to change of a user."""

    roles: list[str] | None = None
    disabled: bool | None = None


def user_to_json(user: User) -> dict[str, Any]:
    """A user without secrets."""
    return {
        "name": user.name,
        "roles": list(user.roles),
        "disabled": user.disabled,
        "console": user.password_hash is not None,
        "created": iso(user.created),
    }


@router.get("/me")
def me(user: UserDep) -> dict[str, Any]:
    """The signed-in user."""
    return user_to_json(user)


@router.get("/users")
def list_users(service: ServiceDep, user: UserDep) -> list[dict[str, Any]]:
    """Every user (admins only)."""
    service.require(user, ADMINISTER, "list users")
    return [user_to_json(u) for u in service.accounts.users()]


@router.post("/users", status_code=201)
def add_user(service: ServiceDep, user: UserDep, body: NewUser) -> dict[str, Any]:
    """Add a user (admins only); the answer holds their first API token, shown once."""
    service.require(user, ADMINISTER, "add users")
    token = service.accounts.add(body.name, body.roles, actor=user.name, password=body.password)
    return {**user_to_json(service.accounts.book.get(body.name)), "token": token}


@router.post("/users/{name}")
def change_user(service: ServiceDep, user: UserDep, name: str, body: UserChange) -> dict[str, Any]:
    """Change a user's roles, or disable or enable them (admins only)."""
    service.require(user, ADMINISTER, "change users")
    changed = service.accounts.book.get(name)
    if body.roles is not None:
        changed = service.accounts.set_roles(name, body.roles, actor=user.name)
    if body.disabled is not None:
        changed = service.accounts.set_disabled(name, body.disabled, actor=user.name)
    return user_to_json(changed)

"""Clamp's settings, read from the environment once and passed down explicitly.

- ``CLAMP_SANDBOX_URL``: use the sandbox at this URL instead of the real clouds.
- ``CLAMP_DATABASE_URL``: SQLAlchemy URL of the store (default: SQLite in the user data dir).
- ``CLAMP_ACTOR``: who is acting, for the audit log (default: the OS user).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from clamp.model import PortRange

ADMIN_PORTS: tuple[PortRange, ...] = tuple(
    PortRange(lo, hi)
    for lo, hi in [
        (21, 21),
        (22, 22),
        (23, 23),
        (135, 135),
        (137, 139),
        (445, 445),
        (3389, 3389),
        (5900, 5900),
        (5985, 5986),
    ]
)
DATABASE_PORTS: tuple[PortRange, ...] = tuple(
    PortRange(lo, hi)
    for lo, hi in [
        (1433, 1434),
        (1521, 1521),
        (2483, 2484),
        (3306, 3306),
        (5432, 5432),
        (5984, 5984),
        (6379, 6379),
        (7000, 7001),
        (9042, 9042),
        (9200, 9200),
        (9300, 9300),
        (11211, 11211),
        (27017, 27019),
        (50000, 50000),
    ]
)


def data_dir() -> Path:
    """Clamp's per-user data directory (created on demand)."""
    path = Path(platformdirs.user_data_dir("clamp", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    """A SQLite file in the user's data directory."""
    return f"sqlite:///{data_dir() / 'clamp.db'}"


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once at start."""

    database_url: str = field(default_factory=default_database_url)
    sandbox_url: str | None = None
    actor: str = field(default_factory=_default_actor)
    admin_ports: tuple[PortRange, ...] = ADMIN_PORTS
    database_ports: tuple[PortRange, ...] = DATABASE_PORTS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``CLAMP_*`` environment variables, defaults elsewhere."""
        env = os.environ if env is None else env
        kwargs: dict[str, str] = {}
        if url := env.get("CLAMP_DATABASE_URL"):
            kwargs["database_url"] = url
        if sandbox := env.get("CLAMP_SANDBOX_URL"):
            kwargs["sandbox_url"] = sandbox
        if actor := env.get("CLAMP_ACTOR"):
            kwargs["actor"] = actor
        return cls(**kwargs)  # type: ignore[arg-type]

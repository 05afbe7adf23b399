"""What every command needs: settings, the store, drivers, the action engine and the
responder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from clamp.actions.engine import ActionEngine
from clamp.config import Settings
from clamp.model import Provider
from clamp.providers.factory import driver_factory
from clamp.providers.interface import CloudDriver
from clamp.response import Responder
from clamp.store import Store


@dataclass
class Context:
    """Built once per command from the environment; parts open lazily."""

    settings: Settings

    @cached_property
    def store(self) -> Store:
        """The store, migrated to the latest schema."""
        return Store.open(self.settings.database_url)

    @cached_property
    def drivers(self) -> Callable[[Provider], CloudDriver]:
        """One driver per provider, built on first use."""
        return driver_factory(self.settings)

    @cached_property
    def engine(self) -> ActionEngine:
        """The action engine; actions a crash left in flight are settled first."""
        engine = ActionEngine(self.store, self.drivers, self.settings)
        engine.reconcile()
        return engine

    @cached_property
    def responder(self) -> Responder:
        """Incident response; runs a crash left behind are settled first."""
        responder = Responder(self.store, self.engine, self.settings)
        responder.reconcile()
        return responder

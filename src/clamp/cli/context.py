"""What every command needs: settings, the store, drivers, the action engine and the
responder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import typer

from clamp.config import Settings
from clamp.errors import ClampError
from clamp.model import Provider, RunStatus

# Each part's modules load when a command first uses it (a fast start for the others).
if TYPE_CHECKING:
    from clamp.actions.engine import ActionEngine
    from clamp.events.flows.model import FlowHistory
    from clamp.providers.interface import CloudDriver
    from clamp.response import Responder
    from clamp.store import Store


@dataclass
class Context:
    """Built once per command from the environment; parts open lazily."""

    settings: Settings

    @cached_property
    def store(self) -> Store:
        """The store, migrated to the latest schema; what a crash left in flight (actions,
        playbook runs) is settled first, whatever the command."""
        from clamp.store import Store

        store = Store.open(self.settings.database_url)
        if store.in_flight_actions() or store.incidents.runs(status=RunStatus.RUNNING):
            self.__dict__["store"] = store  # the engine and responder below use this one
            try:
                _ = self.responder  # settles the engine's actions first, then the runs
            except ClampError as exc:
                typer.echo(
                    f"warning: what a crash left in flight could not be settled yet: {exc}",
                    err=True,
                )
        return store

    @cached_property
    def flow_history(self) -> FlowHistory | None:
        """Kept flow logs (the store's aggregates), for plan previews, signals and
        ``--allow-observed``; None while no flow log was ever ingested."""
        return self.store.flows if self.store.flows.ingested() else None

    @cached_property
    def drivers(self) -> Callable[[Provider], CloudDriver]:
        """One driver per provider, built on first use."""
        from clamp.providers.factory import driver_factory

        return driver_factory(self.settings)

    @cached_property
    def engine(self) -> ActionEngine:
        """The action engine; actions a crash left in flight are settled first."""
        from clamp.actions.engine import ActionEngine

        engine = ActionEngine(self.store, self.drivers, self.settings)
        engine.reconcile()
        return engine

    @cached_property
    def responder(self) -> Responder:
        """Incident response; runs a crash left behind are settled first."""
        from clamp.response import Responder

        responder = Responder(self.store, self.engine, self.settings)
        responder.reconcile()
        return responder

"""An action engine wired to a started sandbox and a fresh SQLite store, after one scan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clamp.actions.engine import ActionEngine, Observer
from clamp.config import Settings
from clamp.model import FindingStatus, Provider
from clamp.providers.factory import driver_factory
from clamp.sandbox.server import Sandbox
from clamp.scanning import scan_clouds
from clamp.store import FindingRecord, Store


@dataclass
class Rig:
    """Everything a test of the action engine touches."""

    sandbox: Sandbox
    settings: Settings
    store: Store
    engine: ActionEngine

    def engine_with(self, *observers: Observer) -> ActionEngine:
        """A second engine over the same store and clouds (e.g. a restarted process)."""
        return ActionEngine(self.store, self.engine.drivers, self.settings, observers)

    def scan(self) -> None:
        """Scan both clouds of the sandbox."""
        scan_clouds(self.settings, self.store, self.engine.drivers, list(Provider), {})

    def finding(self, provider: Provider, check: str, name: str) -> FindingRecord:
        """The open finding of ``check`` on the resource whose id ends with ``name``."""
        for record in self.store.findings(status=FindingStatus.OPEN):
            f = record.finding
            if f.provider == provider and f.check == check and f.resource.endswith("/" + name):
                return record
        raise AssertionError(f"no open {check} finding on {name}")

    def state(self) -> dict[str, Any]:
        """The sandbox estate right now."""
        return self.sandbox.state.to_scenario()

    def nsg_rules(self, nsg: str) -> dict[str, dict[str, Any]]:
        """The custom security rules of the Azure NSG named ``nsg``, by name."""
        group = next(
            o for objs in self.state()["azure"].values() for o in objs if o.get("name") == nsg
        )
        return {r["name"]: r for r in group["properties"]["securityRules"]}

    def firewalls(self) -> dict[str, dict[str, Any]]:
        """Every GCP firewall of the sandbox, by name."""
        return {
            o["name"]: o
            for objs in self.state()["gcp"].values()
            for o in objs
            if o.get("kind") == "compute#firewall"
        }


def make_rig(sandbox: Sandbox, tmp_path: Path, *, scan: bool = True) -> Rig:
    """Settings, store and engine over ``sandbox`` (and the store in ``tmp_path``), after a
    scan of both clouds unless ``scan`` is false."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'clamp.db'}", sandbox_url=sandbox.url, actor="tester"
    )
    store = Store.open(settings.database_url)
    engine = ActionEngine(store, driver_factory(settings), settings)
    rig = Rig(sandbox, settings, store, engine)
    if scan:
        rig.scan()
    return rig

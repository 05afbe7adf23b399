"""Every kind of change a driver applies is a ``ChangeType``, and each one's writes are in
its cloud's call table (so plans and undos can name them and their permissions)."""

from __future__ import annotations

from clamp.config import Settings
from clamp.model import ChangeType
from clamp.providers.azure.driver import AzureDriver
from clamp.providers.gcp.driver import GcpDriver

SETTINGS = Settings(database_url="sqlite://")


def test_every_change_type_a_driver_applies_is_named_once_and_has_its_calls() -> None:
    azure, gcp = AzureDriver(SETTINGS), GcpDriver(SETTINGS)
    applied = {
        azure: {t for s in (*azure.services, azure.entra) for t in s.change_types},
        gcp: {t for s in gcp.services for t in s.change_types},
    }
    for driver, types in applied.items():
        assert types <= set(ChangeType), sorted(types - set(ChangeType))
        in_table = {kind for kind, _op in driver.calls}
        assert types == in_table, (sorted(types - in_table), sorted(in_table - types))
    assert applied[azure].isdisjoint(applied[gcp])
    assert applied[azure] | applied[gcp] == set(ChangeType)

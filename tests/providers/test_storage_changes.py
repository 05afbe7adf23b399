"""Each cloud's storage protections (``clamp.providers.storage_changes``), applied to a
draft of an account or bucket read from the sandbox through the real SDKs: every change is
one its driver knows how to make, by the call the change names, and the edited resource no
longer has the gaps the protections close."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import InputError, PlanRefused
from clamp.model import Provider
from clamp.providers.factory import STORAGE_CHANGES, storage_changes
from clamp.providers.storage_changes import Draft, StorageChanges
from rig import Rig

SUB = "00000000-0000-4000-8000-000000000001"
ACCOUNT = (
    f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Storage/"
    "storageAccounts/clampdemodata"
)
BUCKET = "//storage.googleapis.com/clamp-demo-prod-backups"
SETTINGS = Settings(database_url="sqlite://")
Protection = Callable[[StorageChanges, Draft], None]
# Every protection of each cloud, in the order the data-protection bundle takes them.
PROTECTIONS: dict[Provider, list[Protection]] = {
    Provider.AZURE: [
        lambda c, d: c.require_secure_transport(d),
        lambda c, d: c.block_public_access(d),
        lambda c, d: c.enable_soft_delete(d, 14),
        lambda c, d: c.enable_versioning(d),
        lambda c, d: c.protect_from_deletion(d, "f-1", None, None),
    ],
    Provider.GCP: [
        lambda c, d: c.block_public_access(d),
        lambda c, d: c.enable_soft_delete(d, 14),
        lambda c, d: c.protect_from_deletion(d, "f-1", "versioning", None),
    ],
}


def test_every_provider_has_its_storage_changes() -> None:
    assert set(STORAGE_CHANGES) == set(Provider)
    assert all(storage_changes(p).provider == p for p in Provider)


@pytest.mark.parametrize("target", [ACCOUNT, BUCKET])
def test_each_change_is_made_by_the_call_it_names_and_closes_every_gap(
    demo_rig: Rig, target: str
) -> None:
    resource = demo_rig.engine.read_target(target)[0]
    cloud = storage_changes(resource.provider)
    driver = demo_rig.engine.drivers(resource.provider)
    draft = Draft.of(resource)
    assert any(f.check.startswith("storage-") for f in evaluate([resource], SETTINGS))

    for protect in PROTECTIONS[resource.provider]:
        protect(cloud, draft)
    changes = cloud.changes(draft)

    assert changes
    for change in changes:
        assert driver.describe(change).api == change.api_call, change
        assert driver.describe(change.inverse()).api, change
    assert [f.check for f in evaluate([cloud.edited(draft)], SETTINGS)] == []


def test_a_locked_retention_policy_is_made_by_the_call_it_names(demo_rig: Rig) -> None:
    bucket = demo_rig.engine.read_target(BUCKET)[0]
    cloud = storage_changes(Provider.GCP)
    draft = Draft.of(bucket)

    cloud.lock_retention(draft, 10)

    [change] = cloud.changes(draft)
    assert (change.after or {})["retentionPolicy"] == {
        "retentionPeriod": "864000",
        "isLocked": True,
    }
    assert demo_rig.engine.drivers(Provider.GCP).describe(change).api == change.api_call


def test_a_protection_the_cloud_has_not_is_refused(demo_rig: Rig) -> None:
    account = Draft.of(demo_rig.engine.read_target(ACCOUNT)[0])
    with pytest.raises(PlanRefused, match="no retention policy on Azure"):
        storage_changes(Provider.AZURE).lock_retention(account, 10)
    with pytest.raises(InputError, match=r"no parameters on Azure, not \['method'\]"):
        storage_changes(Provider.AZURE).protect_from_deletion(account, "f", "versioning", None)
    bucket = Draft.of(demo_rig.engine.read_target(BUCKET)[0])
    with pytest.raises(PlanRefused, match="no transport setting"):
        storage_changes(Provider.GCP).require_secure_transport(bucket)
    with pytest.raises(InputError, match="7 to 90 days, not 3"):
        storage_changes(Provider.GCP).enable_soft_delete(bucket, 3)
    assert account.steps == bucket.steps == []

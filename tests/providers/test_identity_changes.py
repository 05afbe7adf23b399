"""Each cloud's identity changes (``clamp.providers.identity_changes``), built from VMs read
from the sandbox through the real SDKs: every change is one its driver knows how to make,
by the call the change names, and its undo can be described too."""

from __future__ import annotations

import pytest

from clamp.errors import NothingToDo, PlanRefused
from clamp.model import Change, Provider
from clamp.providers.factory import IDENTITY_CHANGES, identity_changes
from clamp.providers.identity_changes import Detach
from rig import Rig

SUB = "00000000-0000-4000-8000-000000000001"
VM = f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Compute/virtualMachines/web-1"
GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/mgmt-1"
CHECK = "vm-identity-overprivileged"
LEAST = "least@clamp-demo-prod.iam.gserviceaccount.com"


def test_every_provider_has_its_identity_changes() -> None:
    assert set(IDENTITY_CHANGES) == set(Provider)
    assert all(identity_changes(p).provider == p for p in Provider)


@pytest.mark.parametrize("target", [VM, GCE])
def test_each_change_is_made_by_the_call_it_names(demo_rig: Rig, target: str) -> None:
    vm, *context = demo_rig.engine.read_target(target)
    identity = identity_changes(vm.provider)
    driver = demo_rig.engine.drivers(vm.provider)
    finding = demo_rig.finding(vm.provider, CHECK, vm.name).finding
    everything = Detach(disable_system=True) if vm.provider == Provider.AZURE else Detach(LEAST)

    broad = identity.revocation(vm, context, identity.flagged(vm, finding), broad_only=True)
    every = identity.revocation(vm, context, identity.holders(vm), broad_only=False)
    changes: list[Change] = [
        *broad.changes,
        *every.changes,
        identity.detach_flagged(vm, finding, Detach()).change,
        identity.detach_all(vm, everything).change,
    ]

    assert broad.changes and every.changes
    for change in changes:
        assert driver.describe(change).api == change.api_call, change
        assert driver.describe(change.inverse()).api, change


@pytest.mark.parametrize("target", [VM, GCE])
def test_revoking_every_role_leaves_the_identity_holding_none(demo_rig: Rig, target: str) -> None:
    vm, *context = demo_rig.engine.read_target(target)
    identity = identity_changes(vm.provider)
    holders = identity.holders(vm)

    after = identity.revocation(vm, context, holders, broad_only=False).after

    assert identity.revocation(vm, after, holders, broad_only=False).changes == ()


def test_the_other_clouds_options_are_refused(demo_rig: Rig) -> None:
    azure = demo_rig.engine.read_target(VM)[0]
    with pytest.raises(PlanRefused, match="service_account is for GCP"):
        identity_changes(Provider.AZURE).detach_all(azure, Detach(LEAST, disable_system=True))
    gce = demo_rig.engine.read_target(GCE)[0]
    with pytest.raises(PlanRefused, match="system_identity is for Azure"):
        identity_changes(Provider.GCP).detach_all(gce, Detach(disable_system=False))


def test_a_system_identity_is_kept_unless_turning_it_off_is_asked_for(demo_rig: Rig) -> None:
    azure = demo_rig.engine.read_target(VM)[0]
    identity = identity_changes(Provider.AZURE)
    with pytest.raises(NothingToDo, match="no user-assigned identity"):
        identity.detach_all(azure, Detach())

    off = identity.detach_all(azure, Detach(disable_system=True))

    assert off.irreversible
    assert (off.change.after or {})["identity"]["type"] == "None"

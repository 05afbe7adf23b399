"""Each cloud's containment changes (``clamp.providers.containment``), built from VMs read
from the sandbox through the real SDKs: the power states read back as Clamp's terms, and
every change is one its driver knows how to make, by the call the change names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clamp.errors import PlanRefused
from clamp.model import Change, ChangeOp, Provider, Resource
from clamp.providers.containment import PowerState, VmChanges
from clamp.providers.factory import VM_CHANGES, vm_changes
from rig import Rig

SUB = "00000000-0000-4000-8000-000000000001"
VM = f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Compute/virtualMachines/web-1"
GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"


def _changes(vm: VmChanges, related: list[Resource]) -> list[Change]:
    """Every kind of change containment asks of ``vm``'s cloud for the VM ``related[0]``."""
    target = related[0]
    source = vm.disks(target).sources[0]
    return [
        vm.mark(target, "clamp-incident", "INC 7"),
        *(vm.power_change(target, state) for state in sorted(vm.power_states)),
        vm.snapshot(target, source, "clamp-incident", "INC 7", "20261202t010203"),
        vm.deletion(target),
        *vm.quarantine(target, related, ["203.0.113.0/24"], True).changes,
    ]


def test_every_provider_has_its_containment_changes() -> None:
    assert set(VM_CHANGES) == set(Provider)
    assert all(vm_changes(p).provider == p for p in Provider)


@pytest.mark.parametrize("target", [VM, GCE])
def test_each_change_is_made_by_the_call_it_names(demo_rig: Rig, target: str) -> None:
    related = demo_rig.engine.read_target(target)
    vm = vm_changes(related[0].provider)
    driver = demo_rig.engine.drivers(related[0].provider)

    for change in _changes(vm, related):
        assert driver.describe(change).api == change.api_call, change
        if change.op != ChangeOp.DELETE:  # a deleted VM is never re-created
            assert driver.describe(change.inverse()).api, change


@pytest.mark.parametrize("target", [VM, GCE])
def test_a_running_vm_reads_as_running_and_a_stop_reads_back_as_stopped(
    demo_rig: Rig, target: str
) -> None:
    read = demo_rig.engine.read_target(target)[0]
    vm = vm_changes(read.provider)
    assert vm.power(read).state is PowerState.RUNNING

    for state in vm.power_states:
        after = vm.power_change(read, state).after or {}
        if read.provider == Provider.AZURE:
            stopped = replace(read, facets={**read.facets, "power_state": after["powerState"]})
        else:
            stopped = replace(read, raw={**read.raw, "status": after["status"]})
        assert vm.power(stopped).state is state


def test_a_power_state_the_cloud_has_not_is_refused(demo_rig: Rig) -> None:
    azure = demo_rig.engine.read_target(VM)[0]
    with pytest.raises(PlanRefused, match="cannot take a VM to suspended"):
        vm_changes(Provider.AZURE).power_change(azure, PowerState.SUSPENDED)
    gce = demo_rig.engine.read_target(GCE)[0]
    stopped = replace(gce, raw={**gce.raw, "status": "TERMINATED"})
    with pytest.raises(PlanRefused, match="from TERMINATED to suspended"):
        vm_changes(Provider.GCP).power_change(stopped, PowerState.SUSPENDED)

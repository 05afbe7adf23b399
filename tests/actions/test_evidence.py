"""Evidence and termination on a target VM, through the real SDKs against the sandbox:
snapshot_disks (one snapshot per disk, kept, never undone) and terminate_instance
(irreversible, refused without the second confirmation)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from clamp.actions import evidence
from clamp.actions.evidence import snapshot_name
from clamp.errors import ConflictError, InputError, PlanRefused, ResourceNotFound, UndoRefused
from clamp.model import ActionStatus, Change, ChangeOp, Provider
from rig import Rig

SUB = "00000000-0000-4000-8000-000000000001"
GROUP = f"/subscriptions/{SUB}/resourceGroups/clamp-demo"
DB_VM = f"{GROUP}/providers/Microsoft.Compute/virtualMachines/db-1"
WEB_VM = f"{GROUP}/providers/Microsoft.Compute/virtualMachines/web-1"
DISKS = f"{GROUP}/providers/Microsoft.Compute/disks"
PROJECT = "clamp-demo-prod"
ZONE_B = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/europe-west1-b"
MYSQL = f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west1-b/instances/mysql-1"
WEB_GCE = f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west1-b/instances/web-1"
PLANNED_AT = datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)
GCP_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
AZURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")


@pytest.fixture
def rig(demo_rig: Rig, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setattr(evidence, "_now", lambda: PLANNED_AT)
    return demo_rig


def _azure(rig: Rig, kind: str) -> dict[str, dict[str, Any]]:
    """The subscription's objects of one type (``snapshots``, ``disks``...), by id."""
    return {o["id"]: o for o in rig.state()["azure"][SUB] if f"/{kind}/" in o["id"]}


def _gcp(rig: Rig, kind: str) -> dict[str, dict[str, Any]]:
    """The project's objects of one kind (``compute#snapshot``...), by name."""
    return {o["name"]: o for o in rig.state()["gcp"][PROJECT] if o.get("kind") == kind}


def test_snapshot_disks_copies_every_managed_disk_of_an_azure_vm(rig: Rig) -> None:
    vm_before = _azure(rig, "virtualMachines")[DB_VM]

    plan = rig.engine.plan_containment("snapshot_disks", DB_VM, {"incident": "INC-42"})

    assert [c.op for c in plan.changes] == [ChangeOp.CREATE, ChangeOp.CREATE]
    assert {c.type for c in plan.changes} == {"Microsoft.Compute/snapshots"}
    assert [c.target for c in plan.changes] == [
        f"{GROUP}/providers/Microsoft.Compute/snapshots/db-1-osdisk-INC-42-20261129t010203",
        f"{GROUP}/providers/Microsoft.Compute/snapshots/db-1-data-INC-42-20261129t010203",
    ]
    assert not plan.reversible and not plan.irreversible
    record = rig.engine.apply(plan, actor="responder")

    assert record.status == ActionStatus.VERIFIED, record.result
    snapshots = _azure(rig, "snapshots")
    assert sorted(
        s["properties"]["creationData"]["sourceResourceId"] for s in snapshots.values()
    ) == [f"{DISKS}/db-1-data", f"{DISKS}/db-1-osdisk"]
    for snapshot in snapshots.values():
        assert snapshot["tags"] == {"clamp-incident": "INC-42"}
        assert snapshot["location"] == "westeurope"
        assert snapshot["properties"]["creationData"]["createOption"] == "Copy"
        assert snapshot["properties"]["provisioningState"] == "Succeeded"
    assert _azure(rig, "virtualMachines")[DB_VM] == vm_before  # the VM itself is untouched
    with pytest.raises(UndoRefused, match="cannot be undone"):
        rig.engine.undo_plan(record.id)


def test_snapshot_disks_snapshots_every_persistent_disk_of_a_gce_instance(rig: Rig) -> None:
    plan = rig.engine.plan_containment("snapshot_disks", MYSQL, {"incident": "INC-42"})

    assert [c.target for c in plan.changes] == [
        f"//compute.googleapis.com/projects/{PROJECT}/global/snapshots/"
        "mysql-1-inc-42-20261129t010203",
        f"//compute.googleapis.com/projects/{PROJECT}/global/snapshots/"
        "mysql-1-data-inc-42-20261129t010203",
    ]
    assert {c.type for c in plan.changes} == {"compute#snapshot"}
    record = rig.engine.apply(plan, actor="responder")

    assert record.status == ActionStatus.VERIFIED, record.result
    snapshots = _gcp(rig, "compute#snapshot")
    assert {name: s["sourceDisk"] for name, s in snapshots.items()} == {
        "mysql-1-inc-42-20261129t010203": f"{ZONE_B}/disks/mysql-1",
        "mysql-1-data-inc-42-20261129t010203": f"{ZONE_B}/disks/mysql-1-data",
    }
    for snapshot in snapshots.values():
        assert snapshot["labels"] == {"clamp-incident": "inc-42"}
        assert snapshot["status"] == "READY"
    with pytest.raises(UndoRefused, match="cannot be undone"):
        rig.engine.undo_plan(record.id)


def _source(change: Change) -> str:
    """The disk a snapshot change copies (an ARM id or a Compute URL)."""
    after = change.after or {}
    return str(after.get("sourceDisk") or after["properties"]["creationData"]["sourceResourceId"])


def test_a_snapshot_of_a_missing_disk_fails_clearly_and_leaves_nothing_behind(rig: Rig) -> None:
    for target in (DB_VM, MYSQL):
        plan = rig.engine.plan_containment("snapshot_disks", target, {"incident": "INC-9"})
        missing = _source(plan.changes[1])  # the data disk; the OS disk is snapshotted first
        with rig.sandbox.state.lock:  # someone deletes the data disk after the plan
            for objects in (*rig.sandbox.state.azure.values(), *rig.sandbox.state.gcp.values()):
                objects[:] = [o for o in objects if missing not in (o.get("id"), o.get("selfLink"))]

        with pytest.raises(ResourceNotFound, match="does not exist"):
            rig.engine.apply(plan, actor="responder")

        [failed] = [a for a in rig.store.actions() if a.plan.resource == target]
        assert failed.status == ActionStatus.FAILED
        assert "rolled back" in failed.result
    # The OS disks' snapshots, made before the failure, were deleted again.
    assert not _azure(rig, "snapshots")
    assert not _gcp(rig, "compute#snapshot")


def test_evidence_is_never_overwritten(rig: Rig) -> None:
    for target in (DB_VM, MYSQL):
        first = rig.engine.plan_containment("snapshot_disks", target, {"incident": "INC-1"})
        rig.engine.apply(first, actor="responder")
        same_time = rig.engine.plan_containment("snapshot_disks", target, {"incident": "INC-1"})

        with pytest.raises(ConflictError, match="already exists"):
            rig.engine.apply(same_time, actor="responder")

    assert len(_azure(rig, "snapshots")) == 2 and len(_gcp(rig, "compute#snapshot")) == 2


def test_a_vm_without_disks_is_refused(rig: Rig) -> None:
    with rig.sandbox.state.lock:
        for obj in rig.sandbox.state.azure[SUB]:
            if obj["id"] == DB_VM:
                obj["properties"]["storageProfile"] = {}
        for obj in rig.sandbox.state.gcp[PROJECT]:
            if obj.get("name") == "mysql-1" and obj.get("kind") == "compute#instance":
                obj["disks"] = []

    for target in (DB_VM, MYSQL):
        with pytest.raises(PlanRefused, match="no disk Clamp can snapshot"):
            rig.engine.plan_containment("snapshot_disks", target, {"incident": "INC-1"})


def test_snapshot_disks_needs_an_incident(rig: Rig) -> None:
    with pytest.raises(InputError, match="incident"):
        rig.engine.plan_containment("snapshot_disks", DB_VM)


def test_snapshot_names_follow_each_clouds_rules() -> None:
    stamp = PLANNED_AT.strftime(evidence.STAMP)
    long_disk = "Data_Disk.Premium" + "x" * 70

    gcp = snapshot_name(long_disk, "INC 2026/11 #7", stamp, Provider.GCP)
    azure = snapshot_name(long_disk, "INC 2026/11 #7", stamp, Provider.AZURE)
    other = snapshot_name(long_disk + "2", "INC 2026/11 #7", stamp, Provider.GCP)

    assert GCP_NAME.fullmatch(gcp) and len(gcp) <= 63, gcp
    assert AZURE_NAME.fullmatch(azure) and len(azure) <= 80, azure
    assert gcp.endswith(f"-{stamp}") and azure.endswith(f"-{stamp}")
    assert gcp != other  # shortened names of two disks stay apart
    assert snapshot_name("9disk", "x", stamp, Provider.GCP).startswith("s-9disk-x-")
    assert snapshot_name("os", "INC_1", stamp, Provider.AZURE) == f"os-INC_1-{stamp}"


def test_terminate_is_refused_without_the_second_confirmation(rig: Rig) -> None:
    for target in (WEB_VM, WEB_GCE):
        plan = rig.engine.plan_containment("terminate_instance", target)

        assert plan.irreversible and not plan.reversible
        assert [c.op for c in plan.changes] == [ChangeOp.DELETE]
        with pytest.raises(PlanRefused, match="can never be undone"):
            rig.engine.apply(plan, actor="responder")

    assert WEB_VM in _azure(rig, "virtualMachines")
    assert "web-1" in _gcp(rig, "compute#instance")
    assert not rig.store.actions()


def test_terminating_an_azure_vm_deletes_it_and_what_is_set_to_go_with_it(rig: Rig) -> None:
    plan = rig.engine.plan_containment("terminate_instance", WEB_VM)
    assert "deleted with it (deleteOption Delete): web-1-osdisk" in plan.blast_radius
    assert "kept (detached): web-1-nic" in plan.blast_radius

    record = rig.engine.apply(plan, actor="responder", confirm_irreversible=True)

    assert record.status == ActionStatus.VERIFIED, record.result
    assert WEB_VM not in _azure(rig, "virtualMachines")
    assert f"{DISKS}/web-1-osdisk" not in _azure(rig, "disks")
    nic = _azure(rig, "networkInterfaces")[
        f"{GROUP}/providers/Microsoft.Network/networkInterfaces/web-1-nic"
    ]
    assert "virtualMachine" not in nic["properties"]
    with pytest.raises(UndoRefused):
        rig.engine.undo_plan(record.id)


def test_terminating_a_gce_instance_deletes_its_auto_delete_disks_only(rig: Rig) -> None:
    plan = rig.engine.plan_containment("terminate_instance", MYSQL)
    assert "autoDelete): mysql-1 (boot)" in plan.blast_radius
    assert "disks kept: mysql-1-data" in plan.blast_radius

    record = rig.engine.apply(plan, actor="responder", confirm_irreversible=True)

    assert record.status == ActionStatus.VERIFIED, record.result
    assert "mysql-1" not in _gcp(rig, "compute#instance")
    disks = _gcp(rig, "compute#disk")
    assert "mysql-1" not in disks
    assert not disks["mysql-1-data"].get("users")


def test_snapshot_then_terminate_keeps_the_evidence(rig: Rig) -> None:
    snapped = rig.engine.apply(
        rig.engine.plan_containment("snapshot_disks", WEB_GCE, {"incident": "INC-5"}),
        actor="responder",
    )
    rig.engine.apply(
        rig.engine.plan_containment("terminate_instance", WEB_GCE),
        actor="responder",
        confirm_irreversible=True,
    )

    assert snapped.status == ActionStatus.VERIFIED
    assert "web-1" not in _gcp(rig, "compute#disk")  # the boot disk went with the instance
    [snapshot] = _gcp(rig, "compute#snapshot").values()
    assert snapshot["sourceDisk"] == f"{ZONE_B}/disks/web-1"


def test_an_azure_vm_changed_since_the_plan_is_not_deleted(rig: Rig) -> None:
    tagged = rig.engine.plan_containment("tag_instance", WEB_VM, {"incident": "INC-1"})
    rig.engine.apply(tagged, actor="responder")  # the VM now carries an etag
    plan = rig.engine.plan_containment("terminate_instance", WEB_VM)
    with rig.sandbox.state.lock:  # someone else changes the VM after the plan
        vm = next(o for o in rig.sandbox.state.azure[SUB] if o["id"] == WEB_VM)
        vm["tags"] = {**vm.get("tags", {}), "owner": "someone-else"}
        vm["etag"] = 'W/"changed-elsewhere"'

    with pytest.raises(ConflictError):
        rig.engine.apply(plan, actor="responder", confirm_irreversible=True)

    assert WEB_VM in _azure(rig, "virtualMachines")

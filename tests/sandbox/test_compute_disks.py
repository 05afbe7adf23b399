"""The sandbox's disks, snapshots and VM deletion, driven by the official azure-mgmt-compute
and google-cloud-compute clients the way Clamp's drivers build them in sandbox mode."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute.models import Snapshot
from google.api_core import exceptions as gexc
from google.cloud import compute_v1

from clamp.config import Settings
from clamp.providers.azure.clients import AzureClients
from clamp.providers.gcp.clients import GcpClients
from clamp.sandbox.server import Sandbox

SUB = "00000000-0000-4000-8000-000000000001"
GROUP = f"/subscriptions/{SUB}/resourceGroups/clamp-demo"
DISKS = f"{GROUP}/providers/Microsoft.Compute/disks"
PROJECT = "clamp-demo-prod"
ZONE = "europe-west1-b"
ZONE_URL = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}"


def _settings(sandbox: Sandbox) -> Settings:
    return Settings(database_url="sqlite://", sandbox_url=sandbox.url)


def _snapshot(source: str, location: str = "westeurope") -> Snapshot:
    return Snapshot(
        {
            "location": location,
            "tags": {"clamp-incident": "INC-1"},
            "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source}},
        }
    )


def _azure(sandbox: Sandbox, arm_id: str) -> dict[str, Any] | None:
    return next((o for o in sandbox.state.azure[SUB] if o["id"].lower() == arm_id.lower()), None)


def test_an_azure_snapshot_copies_an_existing_disk_of_its_region(sandbox: Sandbox) -> None:
    compute = AzureClients(_settings(sandbox)).compute(SUB)

    made = compute.snapshots.begin_create_or_update(
        "clamp-demo", "evidence-1", _snapshot(f"{DISKS}/db-1-data")
    ).result()

    assert made.id == f"{GROUP}/providers/Microsoft.Compute/snapshots/evidence-1"
    assert made.disk_size_gb == 128 and made.time_created and made.unique_id
    assert made.creation_data.source_resource_id == f"{DISKS}/db-1-data"
    assert made.provisioning_state == "Succeeded" and made.tags == {"clamp-incident": "INC-1"}
    assert compute.disks.get("clamp-demo", "db-1-data").managed_by.endswith("/db-1")
    with pytest.raises(ResourceNotFoundError):
        compute.snapshots.begin_create_or_update(
            "clamp-demo", "evidence-2", _snapshot(f"{DISKS}/no-such-disk")
        ).result()
    with pytest.raises(HttpResponseError) as elsewhere:
        compute.snapshots.begin_create_or_update(
            "clamp-demo", "evidence-3", _snapshot(f"{DISKS}/db-1-data", "northeurope")
        ).result()
    assert elsewhere.value.status_code == 400


def test_an_azure_snapshot_keeps_its_source_and_ignores_conditions(sandbox: Sandbox) -> None:
    # Compute declares no If-None-Match on a snapshot PUT (azure-mgmt-compute 39,
    # build_snapshots_create_or_update_request): a second PUT is an update, never a copy of
    # another disk. Clamp keeps evidence by re-reading first (test_evidence_is_never_overwritten).
    snapshots = AzureClients(_settings(sandbox)).compute(SUB).snapshots
    made = snapshots.begin_create_or_update(
        "clamp-demo", "ev", _snapshot(f"{DISKS}/db-1-data")
    ).result()

    again = snapshots.begin_create_or_update(
        "clamp-demo", "ev", _snapshot(f"{DISKS}/db-1-data"), headers={"If-None-Match": "*"}
    ).result()
    with pytest.raises(HttpResponseError) as other_source:
        snapshots.begin_create_or_update(
            "clamp-demo", "ev", _snapshot(f"{DISKS}/db-1-osdisk")
        ).result()

    assert again.unique_id == made.unique_id and again.time_created == made.time_created
    assert other_source.value.status_code == 409
    kept = snapshots.get("clamp-demo", "ev")
    assert kept.creation_data.source_resource_id == f"{DISKS}/db-1-data"
    snapshots.begin_delete("clamp-demo", "ev").result()
    assert _azure(sandbox, f"{GROUP}/providers/Microsoft.Compute/snapshots/ev") is None


def test_deleting_an_azure_vm_deletes_only_what_is_set_to_go_with_it(sandbox: Sandbox) -> None:
    compute = AzureClients(_settings(sandbox)).compute(SUB)

    compute.virtual_machines.begin_delete("clamp-demo", "db-1").result()

    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machines.get("clamp-demo", "db-1")
    # db-1's disks and NIC are set to Detach: kept, and free.
    data = compute.disks.get("clamp-demo", "db-1-data")
    assert data.managed_by is None and data.disk_state == "Unattached"
    nic = _azure(sandbox, f"{GROUP}/providers/Microsoft.Network/networkInterfaces/db-1-nic")
    assert nic is not None and "virtualMachine" not in nic["properties"]
    # web-1's OS disk is set to Delete: it goes with the VM.
    compute.virtual_machines.begin_delete("clamp-demo", "web-1").result()
    with pytest.raises(ResourceNotFoundError):
        compute.disks.get("clamp-demo", "web-1-osdisk")


def test_a_nic_put_keeps_what_arm_computes(sandbox: Sandbox) -> None:
    network = AzureClients(_settings(sandbox)).network(SUB)
    nic = network.network_interfaces.get("clamp-demo", "db-1-nic")

    network.network_interfaces.begin_create_or_update("clamp-demo", "db-1-nic", nic).result()

    stored = _azure(sandbox, f"{GROUP}/providers/Microsoft.Network/networkInterfaces/db-1-nic")
    assert stored is not None
    assert stored["properties"]["virtualMachine"]["id"].endswith("/virtualMachines/db-1")
    [config] = stored["properties"]["ipConfigurations"]
    assert config["type"] == "Microsoft.Network/networkInterfaces/ipConfigurations"
    assert config["etag"] == stored["etag"]


def _gcp(sandbox: Sandbox) -> GcpClients:
    return GcpClients(_settings(sandbox))


def _done(clients: GcpClients, op: compute_v1.Operation, zone: str | None = ZONE) -> None:
    waited = (
        clients.zone_operations.wait(project=PROJECT, zone=zone, operation=op.name)
        if zone
        else clients.global_operations.wait(project=PROJECT, operation=op.name)
    )
    assert waited.status == compute_v1.Operation.Status.DONE and not waited.error.errors


def test_a_gce_snapshot_of_a_disk_through_its_zone_operation(sandbox: Sandbox) -> None:
    clients = _gcp(sandbox)
    disks = compute_v1.DisksClient(**clients.options)
    snapshots = compute_v1.SnapshotsClient(**clients.options)
    disk = disks.get(project=PROJECT, zone=ZONE, disk="mysql-1-data")
    assert disk.users == [f"{ZONE_URL}/instances/mysql-1"] and disk.size_gb == 200

    op = disks.create_snapshot_unary(
        project=PROJECT,
        zone=ZONE,
        disk="mysql-1-data",
        snapshot_resource=compute_v1.Snapshot(name="ev-1", labels={"clamp-incident": "inc-1"}),
    )
    _done(clients, op)

    assert op.operation_type == "createSnapshot" and op.target_link == disk.self_link
    got = snapshots.get(project=PROJECT, snapshot="ev-1")
    assert got.source_disk == disk.self_link and got.source_disk_id == str(disk.id)
    assert got.status == "READY" and got.storage_bytes > 0 and got.storage_locations == ["eu"]
    assert dict(got.labels) == {"clamp-incident": "inc-1"}
    assert [s.name for s in snapshots.list(project=PROJECT)] == ["ev-1"]
    _done(clients, snapshots.delete_unary(project=PROJECT, snapshot="ev-1"), zone=None)
    with pytest.raises(gexc.NotFound):
        snapshots.get(project=PROJECT, snapshot="ev-1")


@pytest.mark.parametrize(
    ("disk", "name", "refusal"),
    [
        ("mysql-1", "taken", gexc.Conflict),  # snapshot names are unique in the project
        ("no-such-disk", "ev-2", gexc.NotFound),
        ("mysql-1", "Not_A_Name", gexc.BadRequest),
    ],
)
def test_a_gce_snapshot_is_refused_and_nothing_made(
    sandbox: Sandbox, disk: str, name: str, refusal: type[Exception]
) -> None:
    clients = _gcp(sandbox)
    disks = compute_v1.DisksClient(**clients.options)
    taken = compute_v1.Snapshot(name="taken")
    _done(
        clients,
        disks.create_snapshot_unary(
            project=PROJECT, zone=ZONE, disk="web-1", snapshot_resource=taken
        ),
    )

    with pytest.raises(refusal):
        disks.create_snapshot_unary(
            project=PROJECT, zone=ZONE, disk=disk, snapshot_resource=compute_v1.Snapshot(name=name)
        )

    snapshots = [o for o in sandbox.state.gcp[PROJECT] if o.get("kind") == "compute#snapshot"]
    assert [(s["name"], s["sourceDisk"]) for s in snapshots] == [
        ("taken", f"{ZONE_URL}/disks/web-1")
    ]


def test_deleting_a_gce_instance_takes_its_auto_delete_disks(sandbox: Sandbox) -> None:
    clients = _gcp(sandbox)
    disks = compute_v1.DisksClient(**clients.options)

    _done(clients, clients.instances.delete_unary(project=PROJECT, zone=ZONE, instance="mysql-1"))

    with pytest.raises(gexc.NotFound):
        clients.instances.get(project=PROJECT, zone=ZONE, instance="mysql-1")
    with pytest.raises(gexc.NotFound):
        disks.get(project=PROJECT, zone=ZONE, disk="mysql-1")  # the boot disk, autoDelete
    kept = disks.get(project=PROJECT, zone=ZONE, disk="mysql-1-data")
    assert not kept.users

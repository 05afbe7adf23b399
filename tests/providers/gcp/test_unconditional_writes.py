"""Writes Compute offers no condition for (firewall update/patch/delete and snapshot
deletion: no fingerprint, no If-Match in the discovery document): the driver re-reads the
object just before writing and refuses if it is no longer what the plan read."""

from __future__ import annotations

from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import compute_v1

from clamp.config import Settings
from clamp.errors import CloudError, ConflictError
from clamp.model import Change, ChangeOp
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.server import Sandbox

PROJECT = "clamp-demo-prod"
FW = f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls/allow-mysql"
TYPE = "compute.googleapis.com/Firewall"


def _someone_else_patches(sandbox: Sandbox, name: str, **fields: Any) -> None:
    """Another administrator edits the rule through the Compute API meanwhile."""
    options: dict[str, Any] = {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": sandbox.url},
    }
    op = compute_v1.FirewallsClient(**options).patch_unary(
        project=PROJECT, firewall=name, firewall_resource=compute_v1.Firewall(**fields)
    )
    compute_v1.GlobalOperationsClient(**options).wait(project=PROJECT, operation=op.name)


def _planned_update(driver: GcpDriver) -> Change:
    current = driver.current(Change(ChangeOp.UPDATE, FW, TYPE, None, None, "t"))
    assert current is not None
    after = {**current, "sourceRanges": ["10.0.0.0/8"]}
    return Change(ChangeOp.UPDATE, FW, TYPE, current, after, "FirewallsClient.update")


@pytest.mark.parametrize(
    "edit",
    [
        {"source_ranges": ["0.0.0.0/0", "192.168.0.0/16"]},
        {"priority": 10},
        # Fields the planned image did not have at all count too.
        {"source_tags": ["bastion"]},
        {"allowed": [compute_v1.Allowed(I_p_protocol="tcp", ports=["3306", "33060"])]},
    ],
    ids=["sources", "priority", "added source tags", "ports"],
)
def test_update_is_refused_when_the_rule_changed_between_plan_and_apply(
    sandbox: Sandbox, sandbox_settings: Settings, edit: dict[str, Any]
) -> None:
    driver = GcpDriver(sandbox_settings)
    planned = _planned_update(driver)
    _someone_else_patches(sandbox, "allow-mysql", **edit)
    edited = driver.current(planned)

    with pytest.raises(ConflictError, match="nothing was changed"):
        driver.apply(planned)

    assert driver.current(planned) == edited


def test_delete_is_refused_when_the_rule_changed_since_it_was_created(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    body = {
        "name": "clamp-split",
        "network": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/prod-vpc",
        "sourceRanges": ["10.0.0.0/8"],
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
    }
    create = Change(
        ChangeOp.CREATE, FW.replace("allow-mysql", "clamp-split"), TYPE, None, body, "t"
    )
    driver.apply(create)
    _someone_else_patches(sandbox, "clamp-split", source_ranges=["10.0.0.0/8", "172.16.0.0/12"])
    edited = driver.current(create)

    with pytest.raises(ConflictError):
        driver.apply(create.inverse())  # the undo of the create

    assert driver.current(create) == edited


def test_undo_of_a_create_deletes_the_rule_it_created(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    body = {
        "name": "clamp-split",
        "network": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/prod-vpc",
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
    }  # no source: Compute fills in 0.0.0.0/0, which is no drift
    create = Change(
        ChangeOp.CREATE, FW.replace("allow-mysql", "clamp-split"), TYPE, None, body, "t"
    )
    driver.apply(create)

    driver.apply(create.inverse())

    assert driver.current(create) is None
    driver.apply(create.inverse())  # a rule already gone: nothing to do, no error


SNAP_TYPE = "compute#snapshot"
DISK = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/europe-west1-b/disks/web-1"


def test_snapshot_deletion_also_re_reads_and_refuses_a_changed_snapshot(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    target = f"//compute.googleapis.com/projects/{PROJECT}/global/snapshots/evidence-1"
    body = {"name": "evidence-1", "sourceDisk": DISK, "labels": {"incident": "inc-1"}}
    create = Change(ChangeOp.CREATE, target, SNAP_TYPE, None, body, "t")
    driver.apply(create)
    with sandbox.state.lock:  # someone relabels the evidence meanwhile
        stored = next(o for o in sandbox.state.gcp[PROJECT] if o.get("name") == "evidence-1")
        stored["labels"] = {"incident": "inc-2"}

    with pytest.raises(ConflictError):
        driver.apply(create.inverse())
    assert driver.current(create) is not None

    with sandbox.state.lock:
        stored["labels"] = {"incident": "inc-1"}
    driver.apply(create.inverse())
    assert driver.current(create) is None
    driver.apply(create.inverse())  # gone already: nothing to do


def test_deleting_a_protected_instance_is_refused_clearly_and_nothing_changes(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    driver = GcpDriver(sandbox_settings)
    target = f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west1-b/instances/web-1"
    with sandbox.state.lock:
        web = next(o for o in sandbox.state.gcp[PROJECT] if o.get("name") == "web-1")
        web["deletionProtection"] = True
    probe = Change(ChangeOp.DELETE, target, "compute#instance/lifecycle", None, None, "t")
    before = sandbox.state.to_scenario()

    with pytest.raises(CloudError, match="protected against deletion"):
        driver.apply(Change(ChangeOp.DELETE, target, probe.type, driver.current(probe), None, "t"))

    assert sandbox.state.to_scenario() == before

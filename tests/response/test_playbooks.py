"""Playbooks end to end through the real SDKs against the sandbox: the cloud-side state
after a run and after its undo, a failing step, and a crash mid-run."""

from __future__ import annotations

import copy
import socket
from dataclasses import replace
from typing import Any

import pytest

from clamp.errors import ClampError, InputError
from clamp.model import ActionStatus, RunStatus, StepStatus
from clamp.response import Responder, load_playbook
from clamp.response.playbook import parse_playbook
from clamp.sandbox.state import Fault
from rig import Rig

SUB = "00000000-0000-4000-8000-000000000001"
GROUP = f"/subscriptions/{SUB}/resourceGroups/clamp-demo"
DB_VM = f"{GROUP}/providers/Microsoft.Compute/virtualMachines/db-1"
GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"
POLICY = "cloudresourcemanager#policy"
# What every write changes (etags, fingerprints) and what ARM stamps on a re-created role
# assignment: not part of the state undo restores.
VOLATILE = {
    "etag",
    "fingerprint",
    "labelFingerprint",
    "provisioningState",
    "time",
    "createdOn",
    "updatedOn",
}


@pytest.fixture
def rig(demo_rig: Rig) -> Rig:
    return demo_rig


def _responder(rig: Rig) -> Responder:
    return Responder(rig.store, rig.engine, rig.settings)


def _stable(value: Any) -> Any:
    """A cloud object without the fields every write changes (etags, fingerprints)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _azure(rig: Rig) -> dict[str, Any]:
    """The Azure estate that containment touches: VMs, NICs, NSGs, role assignments."""
    kinds = ("virtualMachines", "networkInterfaces", "networkSecurityGroups", "roleAssignments")
    return {
        o["id"]: _stable(o)
        for o in rig.state()["azure"][SUB]
        if any(f"/{k}/" in o["id"] for k in kinds)
    }


def _gcp(rig: Rig) -> dict[str, Any]:
    """The GCP project as containment touches it: instances, firewalls, the IAM policy."""
    objects = rig.state()["gcp"]["clamp-demo-prod"]
    kinds = ("compute#instance", "compute#firewall", POLICY)
    return {o.get("selfLink") or o["kind"]: _stable(o) for o in objects if o.get("kind") in kinds}


def test_contain_compromised_vm_on_azure_then_undo_restores_it_exactly(rig: Rig) -> None:
    responder = _responder(rig)
    incident = responder.open_incident("db-1 beaconing", DB_VM, actor="tester")
    before = copy.deepcopy(_azure(rig))

    run = responder.respond(load_playbook("contain-compromised-vm"), incident.id, actor="tester")

    assert run.status == RunStatus.SUCCEEDED, run.result
    assert [s.status for s in run.steps] == [StepStatus.VERIFIED] * len(run.steps)
    after = _azure(rig)
    vm = after[DB_VM]
    assert vm["tags"]["clamp-incident"] == incident.id
    assert (vm.get("identity") or {}).get("type", "None") == "None"
    assert "PowerState/deallocated" in [
        s["code"] for s in vm["properties"]["instanceView"]["statuses"]
    ]
    quarantine = f"{GROUP}/providers/Microsoft.Network/networkSecurityGroups/clamp-quarantine-db-1"
    nic = after[f"{GROUP}/providers/Microsoft.Network/networkInterfaces/db-1-nic"]
    assert nic["properties"]["networkSecurityGroup"]["id"] == quarantine
    principal = "bbbbbbbb-0000-4000-8000-000000000002"
    assert not [
        o for o in after.values() if o.get("properties", {}).get("principalId") == principal
    ]
    assert rig.store.audit.verify() > 0

    undone = responder.undo(run.id, actor="tester")

    assert undone.status == RunStatus.UNDONE, undone.result
    restored = _azure(rig)
    snapshots = {k for k in restored if "/snapshots/" in k}
    assert {k: v for k, v in restored.items() if k not in snapshots} == before


def test_contain_compromised_vm_on_gcp_then_undo_restores_it_exactly(rig: Rig) -> None:
    responder = _responder(rig)
    incident = responder.open_incident("crypto-miner on web-1", GCE, actor="tester")
    before = copy.deepcopy(_gcp(rig))

    run = responder.respond(load_playbook("contain-compromised-vm"), incident.id, actor="tester")

    assert run.status == RunStatus.SUCCEEDED, run.result
    instance = next(v for k, v in _gcp(rig).items() if k.endswith("/instances/web-1"))
    assert instance["status"] == "TERMINATED"
    assert instance["labels"]["clamp-incident"] == incident.id
    assert "clamp-quarantine-web-1" in instance["tags"]["items"]
    assert not instance.get("serviceAccounts")

    undone = responder.undo(run.id, actor="tester")

    assert undone.status == RunStatus.UNDONE, undone.result
    assert _gcp(rig) == before


def test_a_failing_stop_step_stops_the_run_and_continue_goes_on(rig: Rig) -> None:
    responder = _responder(rig)
    incident = responder.open_incident("web-1", GCE, actor="tester")
    failing = {"intent": "detach_identity", "params": {"service_account": "x@y.iam"}}
    book = parse_playbook(
        {
            "name": "t",
            "steps": [
                {"intent": "tag_instance"},
                {**failing, "on_failure": "continue"},
                {"intent": "isolate_instance"},
                failing,
                {"intent": "stop_instance"},
            ],
        },
        "test.yaml",
    )
    rig.sandbox.state.faults.append(
        Fault(status=403, provider="gcp", path="/instances/web-1/setServiceAccount", times=2)
    )

    run = responder.respond(book, incident.id, actor="tester")

    statuses = [s.status for s in run.steps]
    assert statuses == [
        StepStatus.VERIFIED,
        StepStatus.FAILED,
        StepStatus.VERIFIED,
        StepStatus.FAILED,
        StepStatus.NOT_RUN,
    ]
    assert run.status == RunStatus.FAILED and "detach_identity failed" in run.result
    instance = next(v for k, v in _gcp(rig).items() if k.endswith("/instances/web-1"))
    assert instance["status"] == "RUNNING"  # restarted after the failed change, never stopped
    assert "clamp-quarantine-web-1" in instance["tags"]["items"]


def test_a_crash_mid_playbook_is_reconciled_on_restart(rig: Rig) -> None:
    responder = _responder(rig)
    incident = responder.open_incident("web-1", GCE, actor="tester")
    crash = RuntimeError("the process died")

    def die_on_isolate(event: str, record: Any, _actor: str) -> None:
        if event == "action.applied" and record.intent == "isolate_instance":
            raise crash

    crashing = Responder(rig.store, rig.engine_with(die_on_isolate), rig.settings)
    with pytest.raises(RuntimeError):
        crashing.respond(load_playbook("quarantine-network-only"), incident.id, actor="tester")
    [left] = rig.store.incidents.runs(incident=incident.id)
    assert left.status == RunStatus.RUNNING
    rig.store.incidents.save_run(replace(left, owner=f"{socket.gethostname()}:999999999"))

    restarted = Responder(rig.store, rig.engine_with(), rig.settings)
    assert [a.intent for a in restarted.engine.reconcile()] == ["isolate_instance"]
    [settled] = restarted.reconcile()

    assert settled.status == RunStatus.INTERRUPTED
    assert [s.status for s in settled.steps] == [StepStatus.VERIFIED, StepStatus.VERIFIED]
    assert "clamp undo" in settled.result
    assert rig.store.action(settled.steps[1].action or "").status == ActionStatus.VERIFIED
    assert restarted.undo(settled.id, actor="tester").status == RunStatus.UNDONE
    instance = next(v for k, v in _gcp(rig).items() if k.endswith("/instances/web-1"))
    assert "clamp-quarantine-web-1" not in (instance["tags"].get("items") or [])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"steps": [{"intent": "tag_instance"}]}, "field name"),
        ({"name": "x", "steps": []}, "field steps"),
        ({"name": "x", "steps": [{"intent": "nope"}]}, "step 1 (nope): field intent"),
        ({"name": "x", "steps": [{"intent": "restrict_ingress"}]}, "does not act on a VM"),
        (
            {
                "name": "x",
                "steps": [
                    {"intent": "tag_instance"},
                    {"intent": "stop_instance", "params": {"mode": "x"}},
                ],
            },
            "step 2 (stop_instance): field params",
        ),
        (
            {"name": "x", "steps": [{"intent": "tag_instance", "on_failure": "retry"}]},
            "field on_failure",
        ),
        ({"name": "x", "role": "boss", "steps": [{"intent": "tag_instance"}]}, "field role"),
        ({"name": "x", "steps": [{"intent": "tag_instance", "colour": 1}]}, "unknown field"),
    ],
)
def test_playbook_errors_name_the_file_step_and_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=r"book\.yaml") as caught:
        parse_playbook(data, "book.yaml")
    assert message in str(caught.value)


def test_the_shipped_playbooks_load() -> None:
    for name in ("contain-compromised-vm", "revoke-vm-identity", "quarantine-network-only"):
        assert load_playbook(name).steps
    with pytest.raises(ClampError, match="shipped"):
        load_playbook("no-such-playbook")


def test_a_run_after_a_crash_still_revokes_the_roles_of_the_identity_it_detached(
    rig: Rig,
) -> None:
    responder = _responder(rig)
    incident = responder.open_incident("stolen token on web-1", GCE, actor="tester")
    account = "serviceAccount:123456789012-compute@developer.gserviceaccount.com"

    def die_after_detach(event: str, record: Any, _actor: str) -> None:
        if event == "action.verified" and record.intent == "detach_identity":
            raise RuntimeError("the process died")

    crashing = Responder(rig.store, rig.engine_with(die_after_detach), rig.settings)
    with pytest.raises(RuntimeError):
        crashing.respond(load_playbook("revoke-vm-identity"), incident.id, actor="tester")
    [left] = rig.store.incidents.runs(incident=incident.id)
    rig.store.incidents.save_run(replace(left, owner=f"{socket.gethostname()}:999999999"))
    [settled] = Responder(rig.store, rig.engine_with(), rig.settings).reconcile()
    assert [s.status for s in settled.steps] == [
        StepStatus.VERIFIED,
        StepStatus.VERIFIED,
        StepStatus.NOT_RUN,
    ]

    again = responder.respond(load_playbook("revoke-vm-identity"), incident.id, actor="tester")

    assert [s.status for s in again.steps] == [
        StepStatus.SKIPPED,  # already marked
        StepStatus.SKIPPED,  # the identity is already off the instance
        StepStatus.VERIFIED,  # its roles, as the first run found them, are revoked now
    ]
    policy = _gcp(rig)[POLICY]
    assert not [b for b in policy["bindings"] if account in b["members"]]


WEB_VM = f"{GROUP}/providers/Microsoft.Compute/virtualMachines/web-1"
DISABLE_SYSTEM_IDENTITY = {
    "name": "strip-every-identity",
    "steps": [
        {"intent": "tag_instance"},
        {"intent": "detach_identity", "params": {"system_identity": "disable"}},
    ],
}


def test_disabling_a_system_identity_needs_a_step_marked_irreversible() -> None:
    with pytest.raises(InputError, match="field irreversible"):
        parse_playbook(DISABLE_SYSTEM_IDENTITY, "strip.yaml")


def test_the_run_parameter_cannot_make_an_unmarked_step_irreversible(rig: Rig) -> None:
    responder = _responder(rig)
    incident = responder.open_incident("web-1 compromised", WEB_VM, actor="tester")
    before = _azure(rig)

    with pytest.raises(InputError, match="never be undone"):
        responder.respond(
            load_playbook("contain-compromised-vm"),
            incident.id,
            actor="tester",
            params={"system_identity": "disable"},
        )

    assert _azure(rig) == before
    assert rig.store.actions() == []


def test_a_marked_step_disables_the_system_identity_after_the_second_confirmation(
    rig: Rig,
) -> None:
    marked = copy.deepcopy(DISABLE_SYSTEM_IDENTITY)
    marked["steps"][1]["irreversible"] = True
    playbook = parse_playbook(marked, "strip.yaml")
    responder = _responder(rig)
    incident = responder.open_incident("web-1 compromised", WEB_VM, actor="tester")
    assert _azure(rig)[WEB_VM]["identity"]["type"] == "SystemAssigned"

    with pytest.raises(ClampError, match="never be undone"):
        responder.respond(playbook, incident.id, actor="tester")
    assert _azure(rig)[WEB_VM]["identity"]["type"] == "SystemAssigned"

    run = responder.respond(playbook, incident.id, actor="tester", confirm_irreversible=True)

    assert run.status == RunStatus.SUCCEEDED, run.result
    assert "identity" not in _azure(rig)[WEB_VM]


def test_a_bad_parameter_of_a_later_step_refuses_the_run_before_its_first_step(rig: Rig) -> None:
    responder = _responder(rig)
    incident = responder.open_incident("web-1 miner", GCE, actor="tester")
    before = _gcp(rig)

    with pytest.raises(InputError, match=r"step 2 \(isolate_instance\): forensics_cidr 'bogus'"):
        responder.respond(
            load_playbook("quarantine-network-only"),
            incident.id,
            actor="tester",
            params={"forensics_cidr": "bogus"},
        )

    assert _gcp(rig) == before  # not even the tag of step 1
    assert rig.store.actions() == []


def test_releasing_a_vm_another_open_incident_still_contains_is_refused(rig: Rig) -> None:
    responder = _responder(rig)
    first = responder.open_incident("web-1 miner", GCE, actor="tester")
    second = responder.open_incident("web-1 exfiltration", GCE, actor="tester")
    playbook = load_playbook("quarantine-network-only")
    run = responder.respond(playbook, first.id, actor="tester")
    other = responder.respond(playbook, second.id, actor="tester")
    assert run.status == other.status == RunStatus.SUCCEEDED
    contained = _gcp(rig)

    with pytest.raises(InputError, match=second.id):
        responder.undo(run.id, actor="tester")

    assert _gcp(rig) == contained
    responder.close_incident(second.id, actor="tester")
    released = responder.undo(run.id, actor="tester")
    isolate = next(s for s in released.steps if s.intent == "isolate_instance")
    assert isolate.status == StepStatus.UNDONE  # the second run's own tag is drift: kept


def test_running_a_playbook_again_keeps_the_evidence_it_already_took(rig: Rig) -> None:
    responder = _responder(rig)
    incident = responder.open_incident("web-1 miner", GCE, actor="tester")
    playbook = load_playbook("contain-compromised-vm")
    first = responder.respond(playbook, incident.id, actor="tester")

    def snapshots() -> list[str]:
        objects = rig.state()["gcp"]["clamp-demo-prod"]
        return sorted(o["name"] for o in objects if o.get("kind") == "compute#snapshot")

    taken = snapshots()
    again = responder.respond(playbook, incident.id, actor="tester")

    assert first.status == again.status == RunStatus.SUCCEEDED, again.result
    assert taken and snapshots() == taken
    step = next(s for s in again.steps if s.intent == "snapshot_disks")
    assert step.status == StepStatus.SKIPPED and first.id in step.result


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "0.0.0.0/2"])
def test_a_playbook_that_would_open_the_quarantine_to_the_internet_is_refused(cidr: str) -> None:
    book = {
        "name": "x",
        "steps": [{"intent": "isolate_instance", "params": {"forensics_cidr": cidr}}],
    }
    with pytest.raises(InputError, match="field params: forensics_cidr"):
        parse_playbook(book, "book.yaml")

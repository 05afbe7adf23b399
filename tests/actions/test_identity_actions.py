"""Over-powered VM identities end to end: scan, revoke roles or detach the identity, verify,
undo — through azure-mgmt-authorization/-compute and google-cloud-compute/-resource-manager
against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builders import SUB
from clamp.errors import ClampError, ConflictError, NothingToDo, PlanRefused
from clamp.model import ActionStatus, FindingStatus
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault, SandboxState
from rig import Rig, make_rig

GROUP = f"/subscriptions/{SUB}/resourceGroups/app"
VM = f"{GROUP}/providers/Microsoft.Compute/virtualMachines"
UAI = f"{GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/deployer"
ROLES = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions"
CONTRIBUTOR = f"{ROLES}/b24988ac-6180-42a0-ab88-20f7382dd24c"
OWNER = f"{ROLES}/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = f"{ROLES}/acdd72a7-3385-48ef-bd42-f606fba81ae7"
PROJECT = "acme-prod"
ZONE = "europe-west1-b"
DEFAULT_SA = "111122223333-compute@developer.gserviceaccount.com"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def _vm(name: str, identity: dict[str, Any] | None) -> dict[str, Any]:
    vm: dict[str, Any] = {
        "id": f"{VM}/{name}",
        "name": name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": "westeurope",
        "properties": {"provisioningState": "Succeeded", "networkProfile": {}},
    }
    if identity:
        vm["identity"] = identity
    return vm


def _assignment(guid: str, scope: str, role: str, principal: str) -> dict[str, Any]:
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}",
        "name": guid,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": role,
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
        },
    }


def _instance(name: str, email: str, scopes: list[str]) -> dict[str, Any]:
    return {
        "kind": "compute#instance",
        "id": str(abs(hash(name)) % 10**12),
        "name": name,
        "zone": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}",
        "status": "RUNNING",
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}/instances/{name}",
        "networkInterfaces": [],
        "serviceAccounts": [{"email": email, "scopes": scopes}],
    }


def scenario() -> dict[str, Any]:
    """A VM whose system identity is Contributor on the subscription, one whose user-assigned
    identity is Owner of its group, one with only Reader; GCP instances running as the
    default account, as an owner with cloud-platform, and as a narrow account."""
    return {
        "azure": {
            SUB: [
                _vm("web", {"type": "SystemAssigned", "principalId": "aaaa0001"}),
                _vm(
                    "deploy",
                    {
                        "type": "UserAssigned",
                        "userAssignedIdentities": {
                            UAI: {"principalId": "bbbb0002", "clientId": "cccc0003"}
                        },
                    },
                ),
                _vm("reader", {"type": "SystemAssigned", "principalId": "dddd0004"}),
                _assignment("a1", f"/subscriptions/{SUB}", CONTRIBUTOR, "aaaa0001"),
                _assignment("a2", GROUP, OWNER, "bbbb0002"),
                _assignment("a3", f"/subscriptions/{SUB}", READER, "dddd0004"),
                _assignment("a4", GROUP, READER, "aaaa0001"),
            ]
        },
        "gcp": {
            PROJECT: [
                _instance("web", DEFAULT_SA, [CLOUD_PLATFORM]),
                _instance("ops", f"ops@{PROJECT}.iam.gserviceaccount.com", [CLOUD_PLATFORM]),
                _instance(
                    "app",
                    f"app@{PROJECT}.iam.gserviceaccount.com",
                    ["https://www.googleapis.com/auth/devstorage.read_only"],
                ),
                {
                    "kind": "cloudresourcemanager#policy",
                    "resource": f"projects/{PROJECT}",
                    "version": 1,
                    "etag": "BwXhqDzrVcs=",
                    "bindings": [
                        {"role": "roles/editor", "members": [f"serviceAccount:{DEFAULT_SA}"]},
                        {
                            "role": "roles/owner",
                            "members": [
                                "user:admin@example.com",
                                f"serviceAccount:ops@{PROJECT}.iam.gserviceaccount.com",
                            ],
                        },
                        {
                            "role": "roles/storage.objectViewer",
                            "members": [f"serviceAccount:app@{PROJECT}.iam.gserviceaccount.com"],
                        },
                    ],
                },
            ]
        },
    }


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Sandbox(SandboxState.from_scenario(scenario())) as sandbox:
        yield make_rig(sandbox, tmp_path)


def _open(rig: Rig) -> dict[str, Any]:
    return {
        r.finding.resource.rsplit("/", 1)[-1] + "@" + r.finding.provider: r.finding
        for r in rig.store.findings(status=FindingStatus.OPEN)
        if r.finding.check == "vm-identity-overprivileged"
    }


def _azure_objects(rig: Rig, kind: str) -> list[dict[str, Any]]:
    return [o for o in rig.state()["azure"][SUB] if o["type"].endswith(kind)]


def _gcp(rig: Rig, name: str) -> dict[str, Any]:
    return dict(
        next(
            o
            for o in rig.state()["gcp"][PROJECT]
            if o.get("name") == name or (name == "policy" and "resource" in o)
        )
    )


def test_the_scan_names_the_overpowered_identities_and_their_roles(rig: Rig) -> None:
    findings = _open(rig)

    assert set(findings) == {"web@azure", "deploy@azure", "web@gcp", "ops@gcp"}
    web = findings["web@azure"].details
    assert web["roles"] == [
        {
            "role": "Contributor",
            "scope": f"/subscriptions/{SUB}",
            "assignment": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/a1",
        }
    ]
    assert findings["deploy@azure"].severity == "critical"  # Owner can grant access
    assert findings["ops@gcp"].details["roles"] == [
        {"role": "roles/owner", "member": f"serviceAccount:ops@{PROJECT}.iam.gserviceaccount.com"}
    ]
    assert findings["web@gcp"].details["identities"][0]["default"] is True


def test_revoking_azure_roles_deletes_only_the_broad_assignment_and_undo_restores_it(
    rig: Rig,
) -> None:
    finding = _open(rig)["web@azure"]

    plan = rig.engine.plan(finding.id)
    record = rig.engine.apply(plan, actor="tester")

    assert plan.intent == "revoke_identity_roles"  # the check's default remediation
    assert plan.alternatives == ("detach_identity",)
    assert record.status == ActionStatus.VERIFIED
    names = {o["name"] for o in _azure_objects(rig, "roleAssignments")}
    assert names == {"a2", "a3", "a4"}  # the narrow Reader of the same identity stays

    rig.engine.undo(record.id, actor="tester")

    restored = {o["name"]: o for o in _azure_objects(rig, "roleAssignments")}
    assert restored["a1"]["properties"]["roleDefinitionId"] == CONTRIBUTOR
    assert restored["a1"]["properties"]["principalId"] == "aaaa0001"


def test_detaching_a_user_assigned_identity_is_undone_with_the_same_principal(rig: Rig) -> None:
    finding = _open(rig)["deploy@azure"]

    plan = rig.engine.plan(finding.id, intent="detach_identity")
    record = rig.engine.apply(plan, actor="tester")

    assert record.status == ActionStatus.VERIFIED and plan.reversible
    vm = next(o for o in _azure_objects(rig, "virtualMachines") if o["name"] == "deploy")
    assert "identity" not in vm
    rig.engine.undo(record.id, actor="tester")
    vm = next(o for o in _azure_objects(rig, "virtualMachines") if o["name"] == "deploy")
    assert vm["identity"]["userAssignedIdentities"][UAI]["principalId"] == "bbbb0002"


def test_turning_a_system_identity_off_is_planned_as_irreversible_for_undo(rig: Rig) -> None:
    plan = rig.engine.plan(_open(rig)["web@azure"].id, intent="detach_identity")

    assert not plan.reversible and plan.irreversible
    assert "new principal" in plan.blast_radius
    with pytest.raises(PlanRefused, match="never be undone"):
        rig.engine.apply(plan, actor="tester")  # no second confirmation


def test_a_responder_may_disable_a_system_identity_with_a_second_confirmation(rig: Rig) -> None:
    target = f"{VM}/web"
    with pytest.raises(NothingToDo, match="system_identity=disable"):
        rig.engine.plan_containment("detach_identity", target)

    plan = rig.engine.plan_containment("detach_identity", target, {"system_identity": "disable"})
    assert plan.irreversible and not plan.reversible
    with pytest.raises(PlanRefused):
        rig.engine.apply(plan, actor="tester")
    vm = next(o for o in _azure_objects(rig, "virtualMachines") if o["name"] == "web")
    assert vm["identity"]["principalId"] == "aaaa0001"  # refused: nothing changed

    record = rig.engine.apply(plan, actor="tester", confirm_irreversible=True)

    assert record.status == ActionStatus.VERIFIED
    vm = next(o for o in _azure_objects(rig, "virtualMachines") if o["name"] == "web")
    assert "identity" not in vm
    with pytest.raises(ClampError, match="cannot be undone"):
        rig.engine.undo(record.id, actor="tester")


def test_system_identity_is_an_azure_parameter_only(rig: Rig) -> None:
    target = f"//compute.googleapis.com/projects/{PROJECT}/zones/{ZONE}/instances/ops"
    with pytest.raises(PlanRefused, match="Azure"):
        rig.engine.plan_containment("detach_identity", target, {"system_identity": "disable"})


def test_revoking_gcp_roles_removes_only_that_member_with_the_policy_etag(rig: Rig) -> None:
    finding = _open(rig)["ops@gcp"]

    record = rig.engine.apply(rig.engine.plan(finding.id), actor="tester")

    assert record.status == ActionStatus.VERIFIED
    bindings = {b["role"]: b["members"] for b in _gcp(rig, "policy")["bindings"]}
    assert bindings["roles/owner"] == ["user:admin@example.com"]
    assert bindings["roles/editor"] == [f"serviceAccount:{DEFAULT_SA}"]
    assert "every workload running as" in record.plan.blast_radius
    rig.engine.undo(record.id, actor="tester")
    bindings = {b["role"]: b["members"] for b in _gcp(rig, "policy")["bindings"]}
    assert f"serviceAccount:ops@{PROJECT}.iam.gserviceaccount.com" in bindings["roles/owner"]


def test_a_concurrent_project_grant_is_never_lost(rig: Rig) -> None:
    plan = rig.engine.plan(_open(rig)["ops@gcp"].id)
    with rig.sandbox.state.lock:
        policy = next(o for o in rig.sandbox.state.gcp[PROJECT] if "resource" in o)
        policy["bindings"].append({"role": "roles/viewer", "members": ["group:sre@example.com"]})
        policy["etag"] = "BwXhqDzrVcz="

    with pytest.raises(ConflictError):
        rig.engine.apply(plan, actor="tester")

    roles = {b["role"] for b in _gcp(rig, "policy")["bindings"]}
    assert "roles/viewer" in roles and "roles/owner" in roles


def test_the_default_account_needs_detach_and_the_instance_is_stopped_and_restarted(
    rig: Rig,
) -> None:
    finding = _open(rig)["web@gcp"]
    with pytest.raises(PlanRefused, match="detach_identity"):
        rig.engine.plan(finding.id, intent="revoke_identity_roles")

    plan = rig.engine.plan(finding.id, intent="detach_identity")
    record = rig.engine.apply(plan, actor="tester")

    assert "STOP it" in plan.summary and "START it again" in plan.summary
    assert record.status == ActionStatus.VERIFIED
    web = _gcp(rig, "web")
    assert (web["status"], web["serviceAccounts"]) == ("RUNNING", [])
    rig.engine.undo(record.id, actor="tester")
    web = _gcp(rig, "web")
    assert web["serviceAccounts"] == [{"email": DEFAULT_SA, "scopes": [CLOUD_PLATFORM]}]
    assert web["status"] == "RUNNING"


def test_a_failed_set_service_account_restarts_the_instance_as_it_was(rig: Rig) -> None:
    plan = rig.engine.plan(_open(rig)["web@gcp"].id, intent="detach_identity")
    rig.sandbox.state.faults.append(
        Fault(status=403, provider="gcp", path="/instances/web/setServiceAccount", times=1)
    )

    with pytest.raises(ClampError, match="started again with its original service account"):
        rig.engine.apply(plan, actor="tester")

    web = _gcp(rig, "web")
    assert (web["status"], web["serviceAccounts"][0]["email"]) == ("RUNNING", DEFAULT_SA)
    [action] = rig.store.actions()
    assert action.status == ActionStatus.FAILED

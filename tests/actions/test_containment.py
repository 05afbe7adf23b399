"""Containment intents on a target VM, through the real SDKs against the sandbox: the
cloud-side state after each step and after undo."""

from __future__ import annotations

from typing import Any

import pytest

from clamp.errors import ConflictError, NothingToDo, PlanRefused
from clamp.model import ActionStatus
from rig import Rig

SUB = "00000000-0000-4000-8000-000000000001"
VM = f"/subscriptions/{SUB}/resourceGroups/clamp-demo/providers/Microsoft.Compute/virtualMachines/web-1"
GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"


@pytest.fixture
def rig(demo_rig: Rig) -> Rig:
    return demo_rig


def _azure_vm(rig: Rig) -> dict[str, Any]:
    return dict(next(o for o in rig.state()["azure"][SUB] if o["id"] == VM))


def _power(rig: Rig) -> list[str]:
    statuses = _azure_vm(rig)["properties"]["instanceView"]["statuses"]
    return [s["code"] for s in statuses if s["code"].startswith("PowerState/")]


def _gce(rig: Rig) -> dict[str, Any]:
    return dict(next(o for o in rig.state()["gcp"]["clamp-demo-prod"] if o.get("name") == "web-1"))


def test_tagging_marks_the_vm_on_both_clouds_and_undo_removes_only_the_mark(rig: Rig) -> None:
    before_tags = dict(_azure_vm(rig).get("tags") or {})
    for target in (VM, GCE):
        plan = rig.engine.plan_containment("tag_instance", target, {"incident": "INC-42"})
        record = rig.engine.apply(plan, actor="responder")
        assert record.status == ActionStatus.VERIFIED, record.result

    assert _azure_vm(rig)["tags"] == {**before_tags, "clamp-incident": "INC-42"}
    assert _gce(rig)["labels"]["clamp-incident"] == "inc-42"

    for record in rig.store.actions():
        if record.status == ActionStatus.VERIFIED and not record.undoes:
            rig.engine.undo(record.id, actor="responder")

    assert _azure_vm(rig).get("tags") == before_tags
    assert "clamp-incident" not in (_gce(rig).get("labels") or {})


def test_stopping_deallocates_an_azure_vm_and_undo_starts_it(rig: Rig) -> None:
    plan = rig.engine.plan_containment("stop_instance", VM)

    record = rig.engine.apply(plan, actor="responder")

    assert record.status == ActionStatus.VERIFIED
    assert _power(rig) == ["PowerState/deallocated"]
    assert "deallocated" in plan.blast_radius
    rig.engine.undo(record.id, actor="responder")
    assert _power(rig) == ["PowerState/running"]


def test_power_off_keeps_the_allocation_when_asked(rig: Rig) -> None:
    plan = rig.engine.plan_containment("stop_instance", VM, {"mode": "power_off"})
    rig.engine.apply(plan, actor="responder")

    assert _power(rig) == ["PowerState/stopped"]


def test_gcp_stop_and_suspend_and_their_undo(rig: Rig) -> None:
    suspended = rig.engine.apply(
        rig.engine.plan_containment("suspend_instance", GCE), actor="responder"
    )
    assert _gce(rig)["status"] == "SUSPENDED"
    rig.engine.undo(suspended.id, actor="responder")
    assert _gce(rig)["status"] == "RUNNING"

    stopped = rig.engine.apply(rig.engine.plan_containment("stop_instance", GCE), actor="r")
    assert _gce(rig)["status"] == "TERMINATED"
    rig.engine.undo(stopped.id, actor="responder")
    assert _gce(rig)["status"] == "RUNNING"


def test_azure_cannot_suspend_and_a_stopped_vm_is_not_stopped_again(rig: Rig) -> None:
    with pytest.raises(PlanRefused, match="deallocate"):
        rig.engine.plan_containment("suspend_instance", VM)
    rig.engine.apply(rig.engine.plan_containment("stop_instance", VM), actor="responder")
    with pytest.raises(PlanRefused, match="nothing to stop"):
        rig.engine.plan_containment("stop_instance", VM)


def test_a_label_changed_since_the_plan_is_not_overwritten(rig: Rig) -> None:
    plan = rig.engine.plan_containment("tag_instance", GCE, {"incident": "INC-7"})
    with rig.sandbox.state.lock:
        instance = next(
            o for o in rig.sandbox.state.gcp["clamp-demo-prod"] if o.get("name") == "web-1"
        )
        instance["labels"] = {"owner": "web-team"}
        instance["labelFingerprint"] = "c29tZW9uZS1lbHNl"

    with pytest.raises(ConflictError):
        rig.engine.apply(plan, actor="responder")

    assert _gce(rig)["labels"] == {"owner": "web-team"}


def test_a_remediation_intent_is_not_a_containment_step(rig: Rig) -> None:
    with pytest.raises(PlanRefused, match="it does not act on a target"):
        rig.engine.plan_containment("restrict_ingress", VM)


def _firewalls(rig: Rig) -> dict[str, dict[str, Any]]:
    return {
        o["name"]: o
        for o in rig.state()["gcp"]["clamp-demo-prod"]
        if o.get("kind") == "compute#firewall"
    }


def test_isolating_a_gce_instance_quarantines_only_it_and_undo_releases_it(rig: Rig) -> None:
    before = set(_firewalls(rig))
    tags_before = list(_gce(rig)["tags"].get("items") or [])

    plan = rig.engine.plan_containment("isolate_instance", GCE, {"forensics_cidr": "10.99.0.0/24"})
    record = rig.engine.apply(plan, actor="responder")

    assert record.status == ActionStatus.VERIFIED, record.result
    tag = "clamp-quarantine-web-1"
    assert _gce(rig)["tags"]["items"] == [*tags_before, tag]
    added = {n: f for n, f in _firewalls(rig).items() if n not in before}
    assert set(added) == {f"{tag}-in", f"{tag}-out", f"{tag}-forensics"}
    assert added[f"{tag}-in"]["denied"] == [{"IPProtocol": "all"}]
    assert added[f"{tag}-out"]["direction"] == "EGRESS"
    assert added[f"{tag}-forensics"]["sourceRanges"] == ["10.99.0.0/24"]
    assert added[f"{tag}-forensics"]["priority"] < added[f"{tag}-in"]["priority"]
    assert all(f["targetTags"] == [tag] for f in added.values())

    rig.engine.undo(record.id, actor="responder")

    assert set(_firewalls(rig)) == before
    assert list(_gce(rig)["tags"].get("items") or []) == tags_before


def _arm(rig: Rig, arm_id: str) -> dict[str, Any] | None:
    return next((o for o in rig.state()["azure"][SUB] if o["id"].lower() == arm_id.lower()), None)


def test_isolating_an_azure_vm_puts_every_nic_on_a_quarantine_nsg_and_undo_restores_them(
    rig: Rig,
) -> None:
    nics = _azure_vm(rig)["properties"]["networkProfile"]["networkInterfaces"]
    before = {
        n["id"]: (_arm(rig, n["id"]) or {})["properties"].get("networkSecurityGroup") for n in nics
    }

    plan = rig.engine.plan_containment("isolate_instance", VM, {"forensics_cidr": "10.99.0.0/24"})
    record = rig.engine.apply(plan, actor="responder")

    assert record.status == ActionStatus.VERIFIED, record.result
    quarantine = plan.changes[0].target
    assert quarantine.endswith("/networkSecurityGroups/clamp-quarantine-web-1")
    for nic in before:
        assert (_arm(rig, nic) or {})["properties"]["networkSecurityGroup"]["id"] == quarantine
    rules = {
        r["name"]: r["properties"]
        for r in (_arm(rig, quarantine) or {})["properties"]["securityRules"]
    }
    assert rules["clamp-deny-all-in"]["access"] == "Deny"
    assert rules["clamp-deny-all-out"]["direction"] == "Outbound"
    assert rules["clamp-forensics-in"]["sourceAddressPrefixes"] == ["10.99.0.0/24"]
    assert rules["clamp-forensics-in"]["priority"] < rules["clamp-deny-all-in"]["priority"]
    with pytest.raises(NothingToDo):
        rig.engine.plan_containment("isolate_instance", VM)

    rig.engine.undo(record.id, actor="responder")

    assert _arm(rig, quarantine) is None
    for nic, nsg in before.items():
        assert (_arm(rig, nic) or {})["properties"].get("networkSecurityGroup") == nsg


def test_isolation_can_also_drop_the_public_ips_and_undo_gives_them_back(rig: Rig) -> None:
    nic_id = VM.replace(
        "Microsoft.Compute/virtualMachines/web-1", "Microsoft.Network/networkInterfaces/web-1-nic"
    )

    def public_ip() -> Any:
        configs = (_arm(rig, nic_id) or {})["properties"]["ipConfigurations"]
        return configs[0]["properties"].get("publicIPAddress")

    def external() -> list[Any]:
        return list(_gce(rig)["networkInterfaces"][0].get("accessConfigs") or [])

    pip, nat = public_ip(), external()
    assert pip and nat
    records = [
        rig.engine.apply(
            rig.engine.plan_containment("isolate_instance", target, {"drop_public_ip": True}),
            actor="responder",
        )
        for target in (VM, GCE)
    ]

    assert all(r.status == ActionStatus.VERIFIED for r in records)
    assert public_ip() is None and external() == []
    assert (_arm(rig, pip["id"]) or {}).get("id")  # the public IP resource itself is kept

    for record in records:
        rig.engine.undo(record.id, actor="responder")

    assert public_ip() == pip
    assert [(c["name"], c["natIP"]) for c in external()] == [(c["name"], c["natIP"]) for c in nat]

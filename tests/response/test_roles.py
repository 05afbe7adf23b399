"""Roles and approvals: the split between remediation and response, and four-eyes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from clamp.actions.engine import ActionEngine
from clamp.errors import ConfigError, Forbidden
from clamp.model import Approval, Provider, RunStatus
from clamp.response import Responder, load_playbook
from clamp.roles import Role, Roles, authorize_decision
from rig import Rig

GCE = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"
TEAM = {
    "rita": "remediator",
    "ross": "responder",
    "ann": ["approver", "responder"],
    "abe": "approver",
    "vic": "viewer",
}


@pytest.fixture
def rig(demo_rig: Rig) -> Rig:
    settings = replace(demo_rig.settings, roles=Roles.from_mapping(TEAM, "clamp.toml"))
    demo_rig.settings = settings
    demo_rig.engine = ActionEngine(demo_rig.store, demo_rig.engine.drivers, settings)
    return demo_rig


def _labels(rig: Rig) -> dict[str, str]:
    objects = rig.state()["gcp"]["clamp-demo-prod"]
    return dict(next(o for o in objects if o.get("name") == "web-1").get("labels") or {})


def test_a_remediator_is_refused_containment_and_nothing_changes(rig: Rig) -> None:
    plan = rig.engine.plan_containment("tag_instance", GCE, {"incident": "inc-1"})
    with pytest.raises(Forbidden, match="rita \\(remediator\\) may not apply containment"):
        rig.engine.apply(plan, actor="rita")
    assert "clamp-incident" not in _labels(rig)
    assert rig.store.actions() == []


def test_a_responder_is_refused_remediation_but_may_contain(rig: Rig) -> None:
    finding = rig.finding(Provider.GCP, "exposed-admin-port", "allow-ssh-web")
    plan = rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]})
    with pytest.raises(Forbidden, match="needs the remediator role"):
        rig.engine.apply(plan, actor="ross")
    assert rig.engine.apply(plan, actor="rita").status == "verified"

    contain = rig.engine.plan_containment("tag_instance", GCE, {"incident": "inc-1"})
    assert rig.engine.apply(contain, actor="ross").status == "verified"


def test_a_viewer_may_not_run_a_playbook(rig: Rig) -> None:
    responder = Responder(rig.store, rig.engine, rig.settings)
    with pytest.raises(Forbidden, match="vic \\(viewer\\) may not open an incident"):
        responder.open_incident("web-1", GCE, actor="vic")
    incident = responder.open_incident("web-1", GCE, actor="ross")
    with pytest.raises(Forbidden, match="needs the responder role"):
        responder.respond(load_playbook("quarantine-network-only"), incident.id, actor="vic")
    with pytest.raises(Forbidden, match="needs the responder role"):
        responder.close_incident(incident.id, actor="rita")


def test_a_playbook_that_needs_approval_waits_and_the_requester_cannot_approve_it(
    rig: Rig,
) -> None:
    book = replace(load_playbook("quarantine-network-only"), approval=True)
    responder = Responder(rig.store, rig.engine, rig.settings)
    incident = responder.open_incident("web-1", GCE, actor="ann")

    run = responder.respond(book, incident.id, actor="ann")

    assert run.status == RunStatus.AWAITING_APPROVAL
    assert "clamp-incident" not in _labels(rig)
    [request] = rig.store.incidents.approvals()
    with pytest.raises(Forbidden, match="four-eyes"):
        responder.decide(request.id, actor="ann", approve=True)
    with pytest.raises(Forbidden, match="needs the approver role"):
        responder.decide(request.id, actor="ross", approve=True)
    assert rig.store.incidents.approvals() == [request]

    done = responder.decide(request.id, actor="abe", approve=True, reason="confirmed C2 traffic")

    assert done.status == RunStatus.SUCCEEDED and done.approved_by == "abe"
    assert _labels(rig)["clamp-incident"] == incident.id
    events = [e.event for e in rig.store.audit.entries()]
    assert "approval.requested" in events and "approval.approved" in events
    assert rig.store.incidents.approvals() == []


def test_a_rejected_run_changes_nothing(rig: Rig) -> None:
    book = replace(load_playbook("quarantine-network-only"), approval=True)
    responder = Responder(rig.store, rig.engine, rig.settings)
    incident = responder.open_incident("web-1", GCE, actor="ross")
    responder.respond(book, incident.id, actor="ross")
    [request] = rig.store.incidents.approvals()

    run = responder.decide(request.id, actor="abe", approve=False, reason="false positive")

    assert run.status == RunStatus.REJECTED
    assert "clamp-incident" not in _labels(rig)
    assert rig.store.audit.entries()[-1].event in ("run.finished", "approval.rejected")


def test_no_roles_configured_means_everyone_is_admin() -> None:
    assert Roles().of("anyone") == {Role.ADMIN}
    Roles().require("anyone", Role.RESPONDER, "contain")


def test_an_unknown_role_in_the_config_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"clamp\.toml: roles\.bob: unknown role"):
        Roles.from_mapping({"bob": "boss"}, "clamp.toml")


def test_four_eyes_applies_once_roles_are_configured() -> None:
    request = Approval(
        id="apr-1",
        subject="f-1",
        requester="rule:close-ports",
        created=datetime.now(UTC),
        summary="rule close-ports: narrow ssh",
        kind="plan",
        authorized_by="me",
    )
    authorize_decision(Roles(), request, "me", "approve")  # a one-person install
    with pytest.raises(Forbidden, match="four-eyes"):
        authorize_decision(Roles.from_mapping({"me": "approver"}, "x"), request, "me", "approve")

"""The action engine end to end: real drivers and SDKs against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from clamp.errors import ConflictError, PlanRefused, UndoRefused
from clamp.model import ActionStatus, FindingStatus, Provider

ADMIN = "exposed-admin-port"
DATABASE = "exposed-database-port"


class Crash(BaseException):
    """Stands for the process dying: nothing in Clamp catches it."""


def azure_rules(rig: Any) -> dict[str, dict[str, Any]]:
    nsg = next(o for objs in rig.state()["azure"].values() for o in objs if o["name"] == "web-nsg")
    return {r["name"]: r for r in nsg["properties"]["securityRules"]}


def gcp_firewalls(rig: Any) -> dict[str, dict[str, Any]]:
    return {
        o["name"]: o
        for objs in rig.state()["gcp"].values()
        for o in objs
        if o.get("kind") == "compute#firewall"
    }


def _props(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule["properties"].items() if k != "provisioningState"}


def _sources(rule: dict[str, Any]) -> list[str]:
    props = rule["properties"]
    return props.get("sourceAddressPrefixes") or [props["sourceAddressPrefix"]]


def _ports(rule: dict[str, Any]) -> list[str]:
    props = rule["properties"]
    return props.get("destinationPortRanges") or [props["destinationPortRange"]]


def test_fix_on_azure_splits_ssh_from_https_verifies_and_undo_restores(rig: Any) -> None:
    before = azure_rules(rig)
    finding = rig.finding(Provider.AZURE, ADMIN, "web-nsg")

    plan = rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]})
    record = rig.engine.apply(plan, actor="tester", reason="test")

    assert record.status == ActionStatus.VERIFIED
    after = azure_rules(rig)
    assert _ports(after["allow-ssh-https"]) == ["443"]
    assert _sources(after["allow-ssh-https"]) == ["Internet"]
    assert "Internet" not in _sources(after["allow-rdp"])
    assert "10.0.0.0/8" in _sources(after["allow-rdp"])
    # Untouched, though it carries the NSG's new etag (Azure gives every rule its NSG's).
    assert _props(after["allow-app"]) == _props(before["allow-app"])
    assert after["allow-app"]["etag"] == after["allow-rdp"]["etag"] != before["allow-app"]["etag"]
    ssh = [r for name, r in after.items() if name not in before]
    assert len(ssh) == 1 and _ports(ssh[0]) == ["22"] and _sources(ssh[0]) == ["10.0.0.0/8"]
    rig.scan()
    assert rig.store.finding(finding.id).status == FindingStatus.RESOLVED

    undo = rig.engine.undo(record.id, actor="tester")

    assert undo.status == ActionStatus.VERIFIED
    assert rig.store.action(record.id).status == ActionStatus.UNDONE
    restored = azure_rules(rig)
    assert set(restored) == set(before)
    assert {n: _props(r) for n, r in restored.items()} == {n: _props(r) for n, r in before.items()}
    rig.scan()
    assert rig.store.finding(finding.id).status == FindingStatus.OPEN


def test_fix_on_gcp_keeps_private_ranges_verifies_and_undo_restores(rig: Any) -> None:
    before = gcp_firewalls(rig)
    finding = rig.finding(Provider.GCP, DATABASE, "allow-mysql")

    record = rig.engine.apply(rig.engine.plan(finding.id), actor="tester")

    assert record.status == ActionStatus.VERIFIED
    assert gcp_firewalls(rig)["allow-mysql"]["sourceRanges"] == ["10.20.0.0/16"]
    undo = rig.engine.undo(record.id, actor="tester")
    assert undo.status == ActionStatus.VERIFIED
    assert (
        gcp_firewalls(rig)["allow-mysql"]["sourceRanges"] == before["allow-mysql"]["sourceRanges"]
    )


def test_fix_on_gcp_splits_ssh_from_https(rig: Any) -> None:
    finding = rig.finding(Provider.GCP, ADMIN, "allow-ssh-web")

    record = rig.engine.apply(
        rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]}), actor="tester"
    )

    assert record.status == ActionStatus.VERIFIED
    firewalls = gcp_firewalls(rig)
    assert firewalls["allow-ssh-web"]["allowed"] == [{"IPProtocol": "tcp", "ports": ["443"]}]
    assert firewalls["allow-ssh-web"]["sourceRanges"] == ["0.0.0.0/0"]
    created = [f for name, f in firewalls.items() if name not in ("allow-ssh-web", "allow-mysql")]
    assert len(created) == 1
    assert created[0]["sourceRanges"] == ["10.0.0.0/8"]
    assert created[0]["targetTags"] == ["web"]


def test_apply_refuses_when_the_rule_changed_after_the_plan(rig: Any) -> None:
    finding = rig.finding(Provider.AZURE, ADMIN, "web-nsg")
    plan = rig.engine.plan(finding.id)
    with rig.sandbox.state.lock:  # another administrator edits the rule meanwhile
        rule = next(
            r
            for objs in rig.sandbox.state.azure.values()
            for o in objs
            for r in o["properties"].get("securityRules", [])
            if r["name"] == "allow-ssh-https"
        )
        rule["properties"]["description"] = "edited by someone else"
        rule["etag"] = 'W/"someone-else"'
    edited = azure_rules(rig)

    with pytest.raises(ConflictError):
        rig.engine.apply(plan, actor="tester")

    assert azure_rules(rig) == edited
    [record] = rig.store.actions()
    assert record.status == ActionStatus.FAILED and not record.in_flight


def test_apply_refuses_when_the_firewall_changed_after_the_plan(rig: Any) -> None:
    finding = rig.finding(Provider.GCP, DATABASE, "allow-mysql")
    plan = rig.engine.plan(finding.id)
    with rig.sandbox.state.lock:
        for objs in rig.sandbox.state.gcp.values():
            for o in objs:
                if o.get("name") == "allow-mysql":
                    o["sourceRanges"] = ["0.0.0.0/0", "192.168.0.0/16"]
    edited = gcp_firewalls(rig)

    with pytest.raises(ConflictError):
        rig.engine.apply(plan, actor="tester")

    assert gcp_firewalls(rig) == edited


def test_crash_between_journal_and_apply_is_reconciled_on_next_start(rig: Any) -> None:
    before = azure_rules(rig)
    finding = rig.finding(Provider.AZURE, ADMIN, "web-nsg")

    def die_after_journal(event: str, _record: Any, _actor: str) -> None:
        if event == "action.planned":
            raise Crash

    crashing = rig.engine_with(die_after_journal)
    with pytest.raises(Crash):
        crashing.apply(crashing.plan(finding.id), actor="tester")
    [journaled] = rig.store.in_flight_actions()

    [settled] = rig.engine_with().reconcile()

    assert settled.id == journaled.id
    assert settled.status == ActionStatus.FAILED
    assert "nothing was changed" in settled.result
    assert rig.store.in_flight_actions() == []
    assert azure_rules(rig) == before


def test_crash_after_apply_is_verified_on_next_start(rig: Any) -> None:
    finding = rig.finding(Provider.GCP, DATABASE, "allow-mysql")

    def die_after_apply(event: str, _record: Any, _actor: str) -> None:
        if event == "action.applied":
            raise Crash

    crashing = rig.engine_with(die_after_apply)
    with pytest.raises(Crash):
        crashing.apply(crashing.plan(finding.id), actor="tester")

    [settled] = rig.engine_with().reconcile()

    assert settled.status == ActionStatus.VERIFIED
    assert rig.engine.undo(settled.id, actor="tester").status == ActionStatus.VERIFIED


def test_undo_refuses_when_the_resource_drifted_since_the_fix(rig: Any) -> None:
    finding = rig.finding(Provider.GCP, DATABASE, "allow-mysql")
    record = rig.engine.apply(rig.engine.plan(finding.id), actor="tester")
    with rig.sandbox.state.lock:
        for objs in rig.sandbox.state.gcp.values():
            for o in objs:
                if o.get("name") == "allow-mysql":
                    o["sourceRanges"] = ["10.20.0.0/16", "172.16.0.0/12"]
    drifted = gcp_firewalls(rig)

    with pytest.raises(UndoRefused, match="changed since"):
        rig.engine.undo(record.id, actor="tester")

    assert gcp_firewalls(rig) == drifted
    assert rig.store.action(record.id).status == ActionStatus.VERIFIED


def test_fix_succeeds_through_an_injected_rate_limit(rig: Any) -> None:
    from clamp.sandbox.state import Fault

    finding = rig.finding(Provider.AZURE, ADMIN, "web-nsg")
    plan = rig.engine.plan(finding.id)
    rig.sandbox.state.faults.append(
        Fault(status=429, retry_after=0.01, provider="azure", method="PUT", times=1)
    )

    record = rig.engine.apply(plan, actor="tester")

    assert record.status == ActionStatus.VERIFIED
    assert rig.sandbox.state.faults[0].times == 0


def test_every_step_is_in_the_audit_chain(rig: Any) -> None:
    finding = rig.finding(Provider.GCP, DATABASE, "allow-mysql")
    record = rig.engine.apply(rig.engine.plan(finding.id), actor="alice")
    rig.engine.undo(record.id, actor="bob")

    entries = rig.store.audit.entries()
    events = [(e.event, e.actor) for e in entries if e.payload.get("action") == record.id]
    assert ("action.planned", "alice") in events
    assert ("action.verified", "alice") in events
    assert ("action.undone", "bob") in events
    assert rig.store.audit.verify() == len(entries)


def test_the_journal_and_the_audit_log_never_disagree_after_a_crash(
    rig: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clamp.store.audit import AuditLog

    append_in = AuditLog.append_in

    def die_on_verified(self: AuditLog, session: Any, event: str, *args: Any) -> Any:
        if event == "action.verified":
            raise Crash  # the process dies while recording that the fix was verified
        return append_in(self, session, event, *args)

    monkeypatch.setattr(AuditLog, "append_in", die_on_verified)
    finding = rig.finding(Provider.AZURE, ADMIN, "web-nsg")
    with pytest.raises(Crash):
        rig.engine.apply(rig.engine.plan(finding.id), actor="tester")

    [record] = rig.store.actions()
    assert record.status == ActionStatus.APPLIED and record.in_flight  # not "verified"
    assert rig.store.audit.entries()[-1].event == "action.applied"  # the log agrees
    monkeypatch.setattr(AuditLog, "append_in", append_in)

    [settled] = rig.engine_with().reconcile()

    assert settled.status == ActionStatus.VERIFIED
    assert rig.store.audit.entries()[-1].event == "action.verified"
    assert rig.store.audit.verify() == len(rig.store.audit.entries())


def test_a_plan_starts_from_a_resource_noted_as_just_read_and_verification_reads_anew(
    rig: Any,
) -> None:
    finding = rig.finding(Provider.AZURE, ADMIN, "web-nsg")
    driver = rig.engine.drivers(Provider.AZURE)

    def calls() -> int:
        return sum(driver.call_counts().made.values())

    rig.engine.seen(driver.read_related(finding.resource))  # as an event's re-read
    before = calls()
    plan = rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]})
    assert calls() == before  # planned from what was just read: no read of its own
    record = rig.engine.apply(plan, actor="tester", reason="test")

    assert record.status == ActionStatus.VERIFIED  # its check re-read the NSG as fixed
    assert "Internet" not in _sources(azure_rules(rig)["allow-rdp"])
    again = calls()
    with pytest.raises(PlanRefused, match="no longer present"):  # read anew: fixed
        rig.engine.plan(finding.id, params={"allow": ["10.0.0.0/8"]})
    assert calls() > again

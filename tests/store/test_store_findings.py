"""Findings lifecycle: open, resolved by a later scan of their scope, reopened, suppressed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from clamp.errors import InputError, NotFoundError
from clamp.model import Finding, FindingStatus, Provider, Severity
from clamp.store import Store
from clamp.store.codec import finding_to_json
from clamp.store.rows import FindingRow

MakeFinding = Callable[..., Finding]
AZ = (Provider.AZURE, "sub-1")


def test_new_findings_are_open_with_first_and_last_seen(
    store: Store, make_finding: MakeFinding
) -> None:
    summary = store.record_scan(
        [AZ], [make_finding("nsg-a"), make_finding("nsg-b")], resources=10, source="cloud"
    )
    assert (summary.new, summary.open, summary.resolved, summary.reopened) == (2, 2, 0, 0)
    assert str(summary) == "2 new, 2 open, 0 resolved, 0 reopened"
    records = store.findings(status=FindingStatus.OPEN)
    assert len(records) == 2
    for record in records:
        assert record.status is FindingStatus.OPEN
        assert record.first_seen.tzinfo is not None
        assert record.first_seen.utcoffset() == timedelta(0)
        assert record.first_seen == record.last_seen
        assert record.resolved_at is None


def test_finding_resolves_when_a_later_scan_of_its_scope_no_longer_sees_it(
    store: Store, make_finding: MakeFinding
) -> None:
    gone, stays = make_finding("nsg-a"), make_finding("nsg-b")
    store.record_scan([AZ], [gone, stays], resources=2, source="cloud")
    summary = store.record_scan([AZ], [stays], resources=2, source="cloud")
    assert (summary.new, summary.open, summary.resolved) == (0, 1, 1)
    record = store.finding(gone.id)
    assert record.status is FindingStatus.RESOLVED
    assert record.resolved_at is not None and record.resolved_at >= record.last_seen
    assert [r.id for r in store.findings(status=FindingStatus.OPEN)] == [stays.id]
    assert [r.id for r in store.findings(status=FindingStatus.RESOLVED)] == [gone.id]


def test_scan_of_another_scope_does_not_resolve_a_finding(
    store: Store, make_finding: MakeFinding
) -> None:
    azure = make_finding("nsg-a", scope="sub-1")
    gcp = make_finding("fw-a", scope="sub-1", provider=Provider.GCP)
    store.record_scan([AZ, (Provider.GCP, "sub-1")], [azure, gcp], resources=2, source="cloud")
    summary = store.record_scan(
        [(Provider.AZURE, "sub-2"), (Provider.GCP, "other")], [], resources=0, source="cloud"
    )
    assert summary.resolved == 0
    assert store.finding(azure.id).status is FindingStatus.OPEN
    assert store.finding(gcp.id).status is FindingStatus.OPEN
    # same scope name on the other cloud resolves only that cloud's finding
    store.record_scan([(Provider.GCP, "sub-1")], [], resources=0, source="cloud")
    assert store.finding(gcp.id).status is FindingStatus.RESOLVED
    assert store.finding(azure.id).status is FindingStatus.OPEN


def test_scope_match_ignores_case_of_subscription_ids(
    store: Store, make_finding: MakeFinding
) -> None:
    finding = make_finding("nsg-a", scope="ABC-DEF")
    store.record_scan([(Provider.AZURE, "ABC-DEF")], [finding], resources=1, source="cloud")
    store.record_scan([(Provider.AZURE, "abc-def")], [], resources=0, source="file:x.json")
    assert store.finding(finding.id).status is FindingStatus.RESOLVED


def test_resolved_finding_reopens_when_seen_again(store: Store, make_finding: MakeFinding) -> None:
    finding = make_finding("nsg-a")
    store.record_scan([AZ], [finding], resources=1, source="cloud")
    first_seen = store.finding(finding.id).first_seen
    store.record_scan([AZ], [], resources=1, source="cloud")
    summary = store.record_scan([AZ], [finding], resources=1, source="cloud")
    assert (summary.new, summary.reopened, summary.open) == (0, 1, 1)
    record = store.finding(finding.id)
    assert record.status is FindingStatus.OPEN
    assert record.resolved_at is None
    assert record.first_seen == first_seen
    assert record.last_seen > first_seen


def test_seen_again_refreshes_severity_and_details(store: Store, make_finding: MakeFinding) -> None:
    store.record_scan([AZ], [make_finding("nsg-a")], resources=1, source="cloud")
    worse = make_finding("nsg-a", severity=Severity.CRITICAL, ports=(22, 3389))
    store.record_scan([AZ], [worse], resources=1, source="cloud")
    record = store.finding(worse.id)
    assert record.severity is Severity.CRITICAL
    assert record.details["ports"] == [22, 3389]
    assert len(store.findings()) == 1


def test_suppressed_finding_stays_suppressed_across_scans(
    store: Store, make_finding: MakeFinding
) -> None:
    finding = make_finding("nsg-a")
    store.record_scan([AZ], [finding], resources=1, source="cloud")
    until = datetime.now(UTC) + timedelta(days=30)
    record = store.suppress(finding.id, reason="bastion host", until=until, actor="alice")
    assert record.status is FindingStatus.SUPPRESSED
    assert record.suppressed_until == until
    seen = store.record_scan([AZ], [finding], resources=1, source="cloud")
    assert (seen.open, seen.suppressed) == (0, 1)
    assert store.finding(finding.id).status is FindingStatus.SUPPRESSED
    store.record_scan([AZ], [], resources=1, source="cloud")
    assert store.finding(finding.id).status is FindingStatus.SUPPRESSED
    assert [r.id for r in store.findings(status=FindingStatus.SUPPRESSED)] == [finding.id]
    assert store.findings(status=FindingStatus.OPEN) == []


def test_suppressing_again_without_an_expiry_keeps_the_one_it_has(
    store: Store, make_finding: MakeFinding
) -> None:
    finding = make_finding("nsg-a")
    store.record_scan([AZ], [finding], resources=1, source="cloud")
    until = datetime.now(UTC) + timedelta(days=30)
    store.suppress(finding.id, reason="bastion host", until=until, actor="alice")

    again = store.suppress(finding.id, reason="bastion host, reviewed", until=None, actor="bob")

    assert again.suppressed_until == until and again.suppressed_reason == "bastion host, reviewed"
    assert store.audit.entries()[-1].payload["until"] is not None
    lifted = store.unsuppress(finding.id, actor="carol", reason="bastion retired")
    assert lifted.status is FindingStatus.OPEN and lifted.suppressed_until is None


def test_expired_suppression_behaves_as_open(store: Store, make_finding: MakeFinding) -> None:
    finding = make_finding("nsg-a")
    store.record_scan([AZ], [finding], resources=1, source="cloud")
    store.suppress(finding.id, reason="until the migration", until=None, actor="alice")
    past = datetime.now(UTC) - timedelta(minutes=1)
    with store.engine.begin() as connection:
        connection.execute(update(FindingRow).values(suppressed_until=past))
    record = store.finding(finding.id)
    assert record.status is FindingStatus.OPEN
    assert record.suppressed_reason == "until the migration"
    assert [r.id for r in store.findings(status=FindingStatus.OPEN)] == [finding.id]
    assert store.findings(status=FindingStatus.SUPPRESSED) == []
    summary = store.record_scan([AZ], [], resources=0, source="cloud")
    assert summary.resolved == 1
    assert store.finding(finding.id).status is FindingStatus.RESOLVED


def test_suppress_is_audited(store: Store, make_finding: MakeFinding) -> None:
    finding = make_finding("nsg-a")
    store.record_scan([AZ], [finding], resources=1, source="cloud")
    store.suppress(finding.id, reason="accepted risk", until=None, actor="alice")
    [entry] = store.audit.entries()
    assert entry.event == "finding.suppressed"
    assert entry.actor == "alice"
    assert entry.payload["finding"] == finding.id
    assert entry.payload["reason"] == "accepted risk"
    assert store.audit.verify() == 1


def test_suppress_refuses_bad_input_and_changes_nothing(
    store: Store, make_finding: MakeFinding
) -> None:
    finding = make_finding("nsg-a")
    store.record_scan([AZ], [finding], resources=1, source="cloud")
    past = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(InputError, match="in the past"):
        store.suppress(finding.id, reason="x", until=past, actor="alice")
    with pytest.raises(InputError, match="reason"):
        store.suppress(finding.id, reason="  ", until=None, actor="alice")
    assert store.finding(finding.id).status is FindingStatus.OPEN
    assert store.audit.entries() == []


def test_unknown_finding_is_a_clear_not_found_error(store: Store) -> None:
    with pytest.raises(NotFoundError, match="f-unknown") as caught:
        store.finding("f-unknown")
    assert "clamp findings" in str(caught.value)
    with pytest.raises(NotFoundError):
        store.suppress("f-unknown", reason="x", until=None, actor="alice")


def test_findings_filter_by_severity(store: Store, make_finding: MakeFinding) -> None:
    found = [
        make_finding("low", severity=Severity.LOW),
        make_finding("high", severity=Severity.HIGH),
        make_finding("crit", severity=Severity.CRITICAL),
    ]
    store.record_scan([AZ], found, resources=3, source="cloud")
    assert [r.severity for r in store.findings()] == [
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.LOW,
    ]
    assert {r.severity for r in store.findings(min_severity=Severity.HIGH)} == {
        Severity.HIGH,
        Severity.CRITICAL,
    }
    assert [r.severity for r in store.findings(severities={Severity.LOW})] == [Severity.LOW]


def test_finding_json_has_the_contract_keys(store: Store, make_finding: MakeFinding) -> None:
    finding = make_finding("fw-ssh", scope="proj", provider=Provider.GCP)
    store.record_scan([(Provider.GCP, "proj")], [finding], resources=1, source="cloud")
    data = finding_to_json(store.finding(finding.id))
    assert data["id"] == finding.id
    assert data["check"] == "exposed-admin-port"
    assert data["provider"] == "gcp"
    assert data["resource"] == "//compute.googleapis.com/projects/proj/global/firewalls/fw-ssh"
    assert data["severity"] == "high"
    assert data["status"] == "open"
    assert data["details"] == {"ports": [22], "rules": [{"name": "fw-ssh-rule"}]}
    assert datetime.fromisoformat(data["first_seen"]).utcoffset() == timedelta(0)


def test_scans_are_recorded_newest_first(store: Store, make_finding: MakeFinding) -> None:
    store.record_scan([AZ], [make_finding("nsg-a")], resources=5, source="cloud")
    store.record_scan([AZ], [], resources=4, source="file:nsgs.json")
    latest, first = store.scans()
    assert (latest.source, latest.resolved, latest.resources) == ("file:nsgs.json", 1, 4)
    assert (first.new, first.scopes) == (1, (AZ,))


def test_record_findings_moves_only_the_re_read_resources(store: Store) -> None:
    def on(resource: str, check: str = "exposed-admin-port") -> Finding:
        return Finding(check, Provider.AZURE, resource, "s", Severity.HIGH, "t", {})

    old, other = on("/subscriptions/s/nsg/A"), on("/subscriptions/s/nsg/B")
    store.record_scan([(Provider.AZURE, "s")], [old, other], resources=2, source="cloud")
    fresh = on("/subscriptions/s/nsg/A", "exposed-database-port")
    update = store.record_findings(["/SUBSCRIPTIONS/s/nsg/a"], [fresh, on("/elsewhere")])
    assert update.resolved == 1 and update.opened == (fresh.id,)
    again = store.record_findings(["/subscriptions/s/nsg/a"], [fresh])
    assert again.opened == () and again.resolved == 0  # seen again: opens nothing
    assert store.finding(old.id).status == FindingStatus.RESOLVED
    assert store.finding(fresh.id).status == FindingStatus.OPEN
    assert store.finding(other.id).status == FindingStatus.OPEN  # not re-read: untouched
    with pytest.raises(NotFoundError):
        store.finding(on("/elsewhere").id)  # not among the re-read resources

"""A control passes only when a scan of its cloud found nothing against it; one finding of
its checks (narrowed by port or item) fails it; without checks it is not assessed."""

from __future__ import annotations

from datetime import UTC, datetime

from clamp.compliance import ControlStatus, Evidence, evaluate, framework
from clamp.model import Finding, FindingStatus, Provider, Severity
from clamp.store.records import FindingRecord, ScanSummary

NOW = datetime(2026, 12, 1, tzinfo=UTC)
AZURE_SCAN = ScanSummary(0, 0, 0, 0, scopes=((Provider.AZURE, "sub-1"),))


def _record(check: str, details: dict[str, object], status: FindingStatus) -> FindingRecord:
    finding = Finding(check, Provider.AZURE, f"/x/{check}", "sub-1", Severity.HIGH, "t", details)
    return FindingRecord(finding, status, NOW, NOW)


def _statuses(findings: list[FindingRecord], scans: list[ScanSummary]) -> dict[str, str]:
    evidence = Evidence(findings=findings, actions=(), incidents=(), runs=(), scans=scans)
    report = evaluate(framework("cis-azure"), evidence, NOW)
    return {r.control.id: r.status.value for r in report.results}


def test_a_scan_with_no_finding_passes_the_controls_its_checks_assess() -> None:
    statuses = _statuses([], [AZURE_SCAN])

    assert statuses["7.2"] == ControlStatus.PASS
    assert statuses["7.3"] == ControlStatus.NOT_ASSESSED  # no check assesses it


def test_a_scan_of_the_other_cloud_assesses_nothing() -> None:
    gcp_scan = ScanSummary(0, 0, 0, 0, scopes=((Provider.GCP, "p-1"),))

    assert set(_statuses([], [gcp_scan]).values()) == {ControlStatus.NOT_ASSESSED}


def test_a_finding_fails_only_the_controls_of_its_port_and_item() -> None:
    ssh = _record("exposed-admin-port", {"ports": ["20-23"]}, FindingStatus.OPEN)
    lockout = _record(
        "password-policy-weak",
        {"not_met": ["lockout after 10 failed attempts"]},
        FindingStatus.OPEN,
    )

    statuses = _statuses([ssh, lockout], [AZURE_SCAN])

    assert (statuses["7.2"], statuses["7.1"]) == ("fail", "pass")  # SSH, not RDP
    assert (statuses["2.6"], statuses["2.1.1"]) == ("fail", "pass")  # lockout, not MFA


def test_a_suppressed_finding_still_fails_and_a_resolved_one_does_not() -> None:
    suppressed = _record("exposed-admin-port", {"ports": ["22"]}, FindingStatus.SUPPRESSED)
    resolved = _record("storage-soft-delete-disabled", {}, FindingStatus.RESOLVED)

    statuses = _statuses([suppressed, resolved], [AZURE_SCAN])

    assert statuses["7.2"] == "fail"
    assert statuses["4.10"] == "pass"

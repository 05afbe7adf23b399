"""The overview's figures: what counts as fixed, and the mean time to remediate."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from clamp.model import ActionRecord, ActionStatus, Plan, Provider
from clamp.store import ScanSummary
from clamp.web.overview import remediation, trend

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
PLAN = Plan("restrict_ingress", "f-1", "/subscriptions/s/x", Provider.AZURE, "", (), True, "", ())


def _action(finding: str, status: ActionStatus, days_ago: float, **kw: object) -> ActionRecord:
    at = NOW - timedelta(days=days_ago)
    plan = replace(PLAN, finding=finding)
    return ActionRecord(
        f"a-{finding}-{days_ago}", finding, plan.intent, status, "alice", at, plan, updated=at, **kw
    )


def test_mean_time_to_remediate_runs_from_first_seen_to_the_first_verified_fix() -> None:
    first_seen = {"f-1": NOW - timedelta(days=3), "f-2": NOW - timedelta(days=20)}
    actions = [
        _action("f-1", ActionStatus.VERIFIED, 1),  # 48 h after first seen
        _action("f-1", ActionStatus.VERIFIED, 0.5),  # a later fix of the same finding: ignored
        _action("f-2", ActionStatus.VERIFIED, 10),  # 240 h, not this week
        _action("f-2", ActionStatus.FAILED, 0.1),
        _action("f-2", ActionStatus.VERIFIED, 0.2, undoes="a-x"),  # an undo is no fix
    ]
    speed = remediation(actions, first_seen, NOW)
    assert speed.fixed_this_week == 1
    assert speed.mean_hours == (48 + 240) / 2


def test_no_fix_yet_has_no_mean_and_one_scan_no_trend() -> None:
    assert remediation([], {}, NOW).mean_hours is None
    scan = ScanSummary(new=3, open=3, resolved=0, reopened=0, recorded=NOW)
    assert trend([scan]) is None
    chart = trend([replace(scan, open=1), scan])
    assert chart is not None and [label for _x, _y, label in chart.labels] == ["3", "1"]

"""The overview: open findings by severity, check and cloud, what was fixed this week, the
mean time to remediate, and the trend of the recent scans as an inline SVG chart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from clamp.api.deps import UserDep
from clamp.model import ActionRecord, ActionStatus, FindingStatus, Severity
from clamp.store import FindingRecord, ScanSummary
from clamp.web.pages import ConsoleRoute, page, service

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
SEVERITIES = sorted(Severity, key=lambda s: -s.rank)


@dataclass(frozen=True)
class Remediation:
    """How fast findings get fixed: fixes verified this week, and the mean time from a
    finding's first sighting to its verified fix (over every verified fix)."""

    fixed_this_week: int
    mean_hours: float | None


def remediation(
    actions: Sequence[ActionRecord], first_seen: dict[str, datetime], now: datetime
) -> Remediation:
    """Remediation speed from the journal: fixes (not undos, not containment) whose status
    is ``verified``, each finding counted once at its earliest verified fix."""
    fixed: dict[str, datetime] = {}
    for action in actions:
        if action.status != ActionStatus.VERIFIED or action.undoes or not action.plan.findings:
            continue
        at = action.updated or action.created
        for finding in action.plan.findings:
            if finding in first_seen and (finding not in fixed or at < fixed[finding]):
                fixed[finding] = at
    week = sum(1 for at in fixed.values() if at >= now - timedelta(days=7))
    waits = [(at - first_seen[f]).total_seconds() / 3600 for f, at in fixed.items()]
    mean = max(sum(waits) / len(waits), 0.0) if waits else None
    return Remediation(week, mean)


@dataclass(frozen=True)
class Trend:
    """The open findings after each scan, oldest first, as an SVG polyline."""

    points: str
    labels: list[tuple[float, float, str]]
    peak: int
    width: int = 600
    height: int = 140


def trend(scans: Sequence[ScanSummary]) -> Trend | None:
    """The chart of ``scans`` (newest first, as the store gives them); none for < 2."""
    ordered = list(reversed(scans))
    if len(ordered) < 2:
        return None
    chart = Trend("", [], 0)
    peak = max(max(s.open for s in ordered), 1)
    step = (chart.width - 40) / (len(ordered) - 1)
    coords = [
        (20 + i * step, 10 + (chart.height - 30) * (1 - s.open / peak))
        for i, s in enumerate(ordered)
    ]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    labels = [(x, y, str(s.open)) for (x, y), s in zip(coords, ordered, strict=True)]
    return Trend(points, labels, peak)


def counts(findings: Sequence[FindingRecord]) -> dict[str, Counter[str]]:
    """Open findings counted by severity, check and cloud."""
    open_ones = [f for f in findings if f.status == FindingStatus.OPEN]
    return {
        "severity": Counter(str(f.severity) for f in open_ones),
        "check": Counter(f.check for f in open_ones),
        "cloud": Counter(str(f.provider) for f in open_ones),
    }


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, user: UserDep) -> Response:
    """The overview page."""
    store = service(request).store
    findings = store.findings()
    scans = store.scans(limit=30)
    speed = remediation(store.actions(), {f.id: f.first_seen for f in findings}, datetime.now(UTC))
    return page(
        request,
        user,
        "overview.html",
        counts=counts(findings),
        severities=SEVERITIES,
        open_total=sum(1 for f in findings if f.status == FindingStatus.OPEN),
        speed=speed,
        chart=trend(scans),
        last_scan=scans[0] if scans else None,
        jobs=store.jobs.recent(kind="scan", limit=5),
    )

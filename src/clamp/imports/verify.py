"""Trust, but verify: an imported finding is fixed only after Clamp's own read of the
resource confirms it (``ActionEngine.plan`` calls ``confirm`` on what it just read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from clamp.checks import CHECKS, Inventory
from clamp.config import Settings
from clamp.errors import PlanRefused
from clamp.imports.reported import is_imported
from clamp.model import Finding, Resource


def confirm(finding: Finding, related: Sequence[Resource], settings: Settings) -> Finding:
    """``finding`` itself when Clamp found it; for an imported one, Clamp's own finding on
    the resources just read (the other tools' reports kept in ``reported_by``), or
    ``PlanRefused`` when Clamp's check does not find it there."""
    if not is_imported(finding.details):
        return finding
    check = CHECKS.get(finding.check)(settings)
    own = [f for f in check.evaluate(Inventory(related)) if f.id == finding.id]
    source = finding.details.get("source")
    if not own:
        raise PlanRefused(
            f"{finding.id} was reported by {source}, but Clamp's own read of "
            f"{finding.resource} does not confirm {finding.check}; nothing was changed",
            hint="the resource may have changed since, or the two tools judge it differently; "
            "`clamp finding " + finding.id + "` shows what was reported",
        )
    details = dict(own[0].details)
    details["reported_by"] = list(finding.details.get("external") or [])
    return replace(own[0], details=details)

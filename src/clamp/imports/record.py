"""Keep an import's mapped findings in the store, next to Clamp's own.

A mapped finding has Clamp's finding id, so it may already be there:
- found by Clamp and still open or suppressed: Clamp's evidence stays; the other tool is
  added to ``details.reported_by``;
- imported before: the tools' reports are merged (``details.external``);
- otherwise (new, or resolved since): it opens as the other tool's, unconfirmed.
An import resolves nothing and is not a scan (Clamp read nothing): ``Store.record_reported``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from clamp.imports.interface import ImportResult
from clamp.model import Finding, FindingStatus

if TYPE_CHECKING:
    from clamp.store import Store


def record_import(store: Store, result: ImportResult, *, actor: str, origin: str) -> None:
    """Store ``result.mapped`` (merged as above) and audit the import (``origin``: the file
    or the organization/subscription read); fills ``result.already_found``."""
    wanted = {f.id for f in result.mapped}
    stored = {r.id: r for r in store.findings() if r.id in wanted}
    merged: list[Finding] = []
    for finding in result.mapped:
        record = stored.get(finding.id)
        if record is None or record.status == FindingStatus.RESOLVED:
            merged.append(finding)
            continue
        details = dict(record.finding.details)
        if details.get("source"):  # imported before (by this tool or another)
            details["external"] = _union(details.get("external"), finding.details["external"])
        else:
            result.already_found.append(finding.id)
            details["reported_by"] = _union(details.get("reported_by"), finding.details["external"])
        merged.append(replace(record.finding, details=details))
    opened = store.record_reported(merged) if merged else ()
    store.audit.append(
        "findings.imported",
        actor,
        {
            "source": str(result.source),
            "from": origin,
            "mapped": [f.id for f in result.mapped],
            "opened": list(opened),
            "already_found": result.already_found,
            "unmapped": len(result.unmapped),
            "passed": result.passed,
        },
    )


def _union(old: Any, new: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The reports in ``old`` and ``new``, one per (source, uid), the newest kept."""
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for item in [*(old if isinstance(old, list) else []), *new]:
        if isinstance(item, Mapping):
            out[(str(item.get("source")), str(item.get("uid")))] = item
    return list(out.values())

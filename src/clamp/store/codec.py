"""Clamp's records ⇄ JSON-ready dicts: what the store persists and ``--format json`` prints.

Datetimes are ISO 8601 in UTC (``2024-05-01T12:00:00.123456+00:00``); enums are their
string values. ``*_from_json`` are exact inverses of ``*_to_json`` for the store's use.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from clamp.imports.reported import source_of
from clamp.model import (
    ActionRecord,
    ActionStatus,
    Change,
    ChangeOp,
    Finding,
    Plan,
    PortRange,
    Provider,
    RunStep,
)
from clamp.store.records import FindingRecord, ScanSummary


def to_jsonable(value: Any) -> Any:
    """Deep-convert mappings, tuples, sets, enums, datetimes and port ranges to JSON types."""
    if value is None or (isinstance(value, bool | int | float) and not isinstance(value, Enum)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(v) for v in value), key=repr)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, PortRange):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-ready: {value!r}")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds, or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: Clamp uses timezone-aware UTC only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str | None) -> datetime | None:
    """The aware UTC datetime of an ISO 8601 string (naive strings are taken as UTC)."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _required_iso(text: str) -> datetime:
    moment = parse_iso(text)
    assert moment is not None
    return moment


# -- findings ---------------------------------------------------------------------------
def finding_to_json(record: FindingRecord | Finding) -> dict[str, Any]:
    """A finding as ``clamp findings --format json`` prints it (lifecycle keys if stored)."""
    finding = record.finding if isinstance(record, FindingRecord) else record
    data: dict[str, Any] = {
        "id": finding.id,
        "check": finding.check,
        "provider": finding.provider.value,
        "resource": finding.resource,
        "scope": finding.scope,
        "severity": finding.severity.value,
        "status": finding.status.value,
        "title": finding.title,
        "source": source_of(finding.details),
        "details": to_jsonable(finding.details),
    }
    if isinstance(record, FindingRecord):
        data.update(
            status=record.status.value,
            first_seen=iso(record.first_seen),
            last_seen=iso(record.last_seen),
            resolved_at=iso(record.resolved_at),
            suppressed_reason=record.suppressed_reason,
            suppressed_until=iso(record.suppressed_until),
            suppressed_by=record.suppressed_by,
        )
    return data


# -- plans and changes ------------------------------------------------------------------
def change_to_json(change: Change) -> dict[str, Any]:
    """One change with its before and after images."""
    return {
        "op": change.op.value,
        "target": change.target,
        "type": change.type,
        "before": to_jsonable(change.before),
        "after": to_jsonable(change.after),
        "api_call": change.api_call,
    }


def change_from_json(data: Mapping[str, Any]) -> Change:
    """The inverse of ``change_to_json``."""
    return Change(
        op=ChangeOp(data["op"]),
        target=data["target"],
        type=data["type"],
        before=data["before"],
        after=data["after"],
        api_call=data["api_call"],
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """A plan as data: the target, every change, reversibility, blast radius, permissions."""
    return {
        "intent": plan.intent,
        "finding": plan.finding,
        "resource": plan.resource,
        "provider": plan.provider.value,
        "summary": plan.summary,
        "changes": [change_to_json(c) for c in plan.changes],
        "reversible": plan.reversible,
        "blast_radius": plan.blast_radius,
        "permissions": list(plan.permissions),
        "params": to_jsonable(plan.params),
        "resolves": list(plan.resolves),
        "irreversible": plan.irreversible,
        "alternatives": list(plan.alternatives),
        "accepts": list(plan.accepts),
    }


def plan_from_json(data: Mapping[str, Any]) -> Plan:
    """The inverse of ``plan_to_json``."""
    return Plan(
        intent=data["intent"],
        finding=data["finding"],
        resource=data["resource"],
        provider=Provider(data["provider"]),
        summary=data["summary"],
        changes=tuple(change_from_json(c) for c in data["changes"]),
        reversible=bool(data["reversible"]),
        blast_radius=data["blast_radius"],
        permissions=tuple(data["permissions"]),
        params=dict(data.get("params") or {}),
        resolves=tuple(data.get("resolves") or ()),
        irreversible=bool(data.get("irreversible", False)),
        alternatives=tuple(data.get("alternatives") or ()),
        accepts=tuple(data.get("accepts") or ()),
    )


# -- actions ----------------------------------------------------------------------------
def action_to_json(record: ActionRecord) -> dict[str, Any]:
    """An action as ``clamp actions --format json`` prints it."""
    return {
        "id": record.id,
        "finding": record.finding,
        "intent": record.intent,
        "status": record.status.value,
        "actor": record.actor,
        "created": iso(record.created),
        "updated": iso(record.updated),
        "reason": record.reason,
        "result": record.result,
        "in_flight": record.in_flight,
        "undoes": record.undoes,
        "plan": plan_to_json(record.plan),
        "applied": [change_to_json(c) for c in record.applied],
        "baseline": dict(record.baseline),
    }


def action_from_json(data: Mapping[str, Any]) -> ActionRecord:
    """The inverse of ``action_to_json``."""
    return ActionRecord(
        id=data["id"],
        finding=data["finding"],
        intent=data["intent"],
        status=ActionStatus(data["status"]),
        actor=data["actor"],
        created=_required_iso(data["created"]),
        plan=plan_from_json(data["plan"]),
        reason=data.get("reason", ""),
        result=data.get("result", ""),
        in_flight=bool(data.get("in_flight", False)),
        undoes=data.get("undoes"),
        updated=parse_iso(data.get("updated")),
        applied=tuple(change_from_json(c) for c in data.get("applied", ())),
        baseline=dict(data.get("baseline") or {}),
    )


# -- scans and audit --------------------------------------------------------------------
def scan_summary_to_json(summary: ScanSummary) -> dict[str, Any]:
    """A scan's summary: counts, source and the scopes it covered."""
    return {
        "new": summary.new,
        "open": summary.open,
        "resolved": summary.resolved,
        "reopened": summary.reopened,
        "suppressed": summary.suppressed,
        "resources": summary.resources,
        "source": summary.source,
        "scopes": [[p.value, s] for p, s in summary.scopes],
        "recorded": iso(summary.recorded),
    }


_R = TypeVar("_R")


def record_to_json(record: Any) -> dict[str, Any]:
    """A response or automation record (incident, run, step, approval, rule state) as JSON."""
    return {f.name: _jsonable(getattr(record, f.name)) for f in dataclasses.fields(record)}


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return record_to_json(value)
    if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
        return [record_to_json(v) for v in value]
    return to_jsonable(value)


def record_from_json(cls: type[_R], data: Mapping[str, Any]) -> _R:
    """The record of type ``cls`` from ``record_to_json``'s JSON."""
    hints = typing.get_type_hints(cls)
    return cls(**{k: _value(hints[k], v) for k, v in data.items() if k in hints})


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return _value(args[0], value)
    if hint is datetime:
        return parse_iso(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if typing.get_origin(hint) is tuple and args and args[0] is RunStep:
        return tuple(record_from_json(RunStep, step) for step in value)
    return value

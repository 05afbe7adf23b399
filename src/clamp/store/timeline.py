"""An incident as people read it: a run as JSON, and the incident's timeline (opened, each
run and step with its plan and result, closed), shared by the command line and the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clamp.model import Incident, Run
from clamp.store.codec import iso, plan_to_json, record_to_json

if TYPE_CHECKING:
    from clamp.store import Store


def run_to_json(run: Run) -> dict[str, Any]:
    """A run as JSON: ``run`` is its id."""
    data = record_to_json(run)
    data.pop("origin", None)
    return {"run": data.pop("id"), **data}


def timeline(store: Store, incident: Incident, runs: list[Run]) -> list[dict[str, Any]]:
    """What happened, in order: opened, each run and each step (plan and result), closed."""
    events: list[dict[str, Any]] = [
        {"time": iso(incident.created), "actor": incident.opened_by, "event": "incident opened"}
    ]
    for run in runs:
        events.append(
            {
                "time": iso(run.created),
                "actor": run.actor,
                "event": f"{run.id}: {run.playbook} on {run.target}",
                "run": run.id,
                "result": f"{run.status}: {run.result}",
                **({"approved_by": run.approved_by} if run.approved_by else {}),
            }
        )
        for n, step in enumerate(run.steps, 1):
            entry: dict[str, Any] = {
                "time": iso(run.updated or run.created),
                "actor": run.actor,
                "event": f"{run.id} step {n}: {step.intent} {step.status}",
                "run": run.id,
                "step": n,
                "result": step.result,
            }
            if step.action:
                action = store.action(step.action)
                entry |= {"time": iso(action.updated or action.created), "action": action.id}
                entry["plan"] = plan_to_json(action.plan)
            events.append(entry)
    if not incident.open:
        events.append(
            {
                "time": iso(incident.closed),
                "actor": incident.closed_by,
                "event": "incident closed",
                "result": incident.note,
            }
        )
    return sorted(events, key=lambda e: e["time"] or "")

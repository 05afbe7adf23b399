"""Playbooks: YAML files of ordered containment steps, validated when they are loaded.

    name: quarantine-network-only
    description: Cut the VM off the network, keep everything else.
    role: responder          # the role allowed to run it (clamp.roles)
    approval: false          # whether a second person must approve each run
    steps:
      - intent: tag_instance             # any intent that acts on a target VM
      - intent: isolate_instance
        params: {forensics_cidr: 10.99.0.0/24}
        on_failure: stop                 # stop (default) or continue

A step's ``incident`` parameter is filled in with the incident's id when its intent takes
one. An intent that can never be undone (``terminate_instance``) needs
``irreversible: true`` on its step, and a second confirmation when the playbook runs.
Every error names the file, the step and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import clamp.actions  # noqa: F401  (registers the intents)
from clamp.actions.interface import INTENTS
from clamp.actions.params import checked_params
from clamp.errors import ClampError, InputError
from clamp.fields import check_fields
from clamp.files import Format, load
from clamp.roles import Role

SHIPPED = Path(__file__).parent / "playbooks"
TOP_KEYS = {"name", "description", "role", "approval", "steps"}
STEP_KEYS = {"intent", "params", "on_failure", "irreversible"}
ON_FAILURE = ("stop", "continue")


@dataclass(frozen=True)
class Step:
    """One step: an intent with its parameters, and what a failure does to the run."""

    intent: str
    params: Mapping[str, Any] = field(default_factory=dict)
    on_failure: str = "stop"
    irreversible: bool = False


@dataclass(frozen=True)
class Playbook:
    """A named, ordered list of containment steps."""

    name: str
    description: str
    role: Role
    approval: bool
    steps: tuple[Step, ...]
    source: str


def shipped_playbooks() -> list[str]:
    """The names of the playbooks that ship with Clamp."""
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def load_playbook(name: str) -> Playbook:
    """A shipped playbook by name, or a playbook file by path."""
    path = Path(name)
    if not path.suffix and not path.exists():
        path = SHIPPED / f"{name}.yaml"
        if not path.is_file():
            raise InputError(
                f"no playbook {name!r}; shipped: {', '.join(shipped_playbooks())} "
                "(or give the path of a YAML file)"
            )
    return parse_playbook(load(path, "playbook", Format.YAML), str(path))


def parse_playbook(data: Any, where: str) -> Playbook:
    """A playbook from its parsed YAML; ``InputError`` naming ``where``, step and field."""
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: a playbook is a mapping with {', '.join(sorted(TOP_KEYS))}")
    check_fields(data, TOP_KEYS, where)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: field name: a playbook needs a name")
    role = data.get("role", Role.RESPONDER.value)
    if role not in {r.value for r in Role}:
        raise InputError(
            f"{where}: field role: unknown role {role!r}; valid: {', '.join(r.value for r in Role)}"
        )
    approval = data.get("approval", False)
    if not isinstance(approval, bool):
        raise InputError(f"{where}: field approval: must be true or false, not {approval!r}")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise InputError(f"{where}: field steps: a playbook needs a list of steps")
    return Playbook(
        name=name.strip(),
        description=str(data.get("description") or ""),
        role=Role(role),
        approval=approval,
        steps=tuple(_step(raw, f"{where}: step {n}") for n, raw in enumerate(steps, 1)),
        source=where,
    )


def _step(raw: Any, where: str) -> Step:
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: a step is a mapping with an intent")
    check_fields(raw, STEP_KEYS, where)
    name = raw.get("intent")
    if not isinstance(name, str):
        raise InputError(f"{where}: field intent: every step names an intent")
    where = f"{where} ({name})"
    try:
        intent = INTENTS.get(name)
    except ClampError as exc:
        raise InputError(f"{where}: field intent: {exc}") from None
    if not intent.targets:
        raise InputError(f"{where}: field intent: {name} fixes findings; it does not act on a VM")
    params = raw.get("params") or {}
    try:
        checked_params(name, intent.params_schema, with_incident(intent.params_schema, params, "x"))
        intent.check_values(params)
    except ClampError as exc:
        raise InputError(f"{where}: field params: {exc}") from None
    on_failure = raw.get("on_failure", "stop")
    if on_failure not in ON_FAILURE:
        raise InputError(f"{where}: field on_failure: must be stop or continue, not {on_failure!r}")
    irreversible = raw.get("irreversible", False)
    if intent.irreversible_with(params) and irreversible is not True:
        raise InputError(
            f"{where}: field irreversible: {name} can never be undone; "
            "say irreversible: true on the step if the playbook really means it"
        )
    return Step(name, dict(params), on_failure, bool(irreversible))


def with_incident(
    schema: Mapping[str, Any], params: Mapping[str, Any], incident: str
) -> dict[str, Any]:
    """``params`` with ``incident`` filled in when the intent takes one and it is not set."""
    out = dict(params)
    if "incident" in (schema.get("properties") or {}):
        out.setdefault("incident", incident)
    return out

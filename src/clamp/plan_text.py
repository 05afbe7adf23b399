"""Plans and resource ids as people read them, shared by the terminal and the console:
a change as a unified diff of the object's fields, a long cloud id by its readable tail."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from clamp.compare import VOLATILE_KEYS
from clamp.model import Change, ChangeOp


def short_resource(resource_id: str) -> str:
    """The readable tail of a long cloud id."""
    parts = resource_id.strip("/").split("/")
    return "/".join(parts[-3:]) if len(parts) > 3 else resource_id


def _lines(obj: Mapping[str, Any] | None) -> list[str]:
    import yaml  # with the first diff (the output formats import this module)

    if obj is None:
        return []
    body = {k: v for k, v in obj.get("properties", obj).items() if k not in VOLATILE_KEYS}
    return yaml.safe_dump(body, sort_keys=True, default_flow_style=False).splitlines()


def change_diff(change: Change) -> str:
    """One change as a unified diff of the object's fields."""
    verb = {ChangeOp.CREATE: "create", ChangeOp.UPDATE: "update", ChangeOp.DELETE: "delete"}
    header = f"{verb[change.op]} {change.target}\n  via {change.api_call}"
    diff = difflib.unified_diff(
        _lines(change.before), _lines(change.after), "before", "after", lineterm="", n=2
    )
    return header + "\n" + "\n".join(diff)

"""The templates' filters: times, short ids, plan diffs and evidence as readable text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from jinja2 import Environment

from clamp.model import Change
from clamp.plan_text import change_diff, short_resource
from clamp.store.codec import to_jsonable


def when(moment: datetime | str | None) -> str:
    """A time as ``YYYY-MM-DD HH:MM`` UTC (ISO strings accepted); empty for none."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def diff_lines(change: Change) -> list[tuple[str, str]]:
    """A change's diff as (kind, line): ``add``, ``del``, ``hunk``, ``head`` or ``same``."""
    out: list[tuple[str, str]] = []
    for n, line in enumerate(change_diff(change).splitlines()):
        if n < 2 or line.startswith(("--- ", "+++ ")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append((kind, line))
    return out


def as_yaml(data: Any) -> str:
    """Data as block YAML, in the order it came."""
    text: str = yaml.safe_dump(to_jsonable(data), sort_keys=False, default_flow_style=False)
    return text


def reach_path(path: Any) -> str:
    """A finding's ``reaches[].path`` as one line: the public frontend, the port it
    forwards to and the load balancer rule that forwards it ("none" without one)."""
    if path is None:
        return "none"
    if not isinstance(path, dict):
        return str(path)
    rule = str(path.get("kind", "rule")).replace("_", " ")
    return (
        f"{path.get('frontend_ip')}:{path.get('frontend_port')} → "
        f"port {path.get('backend_port')}/{path.get('protocol')} through "
        f"{short_resource(str(path.get('load_balancer')))} ({rule} {path.get('rule')})"
    )


def install(env: Environment) -> None:
    """Register the filters on the templates' environment."""
    env.filters.update(
        when=when, short=short_resource, diff_lines=diff_lines, yaml=as_yaml, reach_path=reach_path
    )

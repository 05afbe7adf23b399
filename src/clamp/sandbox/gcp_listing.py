"""Compute list queries in the sandbox: the ``filter`` expression and page tokens.

Filters: one ``field op value`` expression, or parenthesized ones joined by (implicit)
``AND``; ``op`` is ``=``, ``!=``, ``:`` (``*`` wildcards) or the regex ``eq``/``ne``.
Syntax the sandbox does not implement (``OR``, comparisons) is refused, never ignored.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from collections.abc import Callable

from starlette.requests import Request

from clamp.sandbox.state import Json

MAX_RESULTS = 500
EXPRESSION = re.compile(r"^\s*([A-Za-z][\w.]*)\s*(!=|=|:|\beq\b|\bne\b)\s*(.+?)\s*$")


def _values(obj: object, path: list[str]) -> list[str]:
    """The field at a dotted path as strings (lists fan out; booleans as ``true``/``false``)."""
    if isinstance(obj, list):
        return [v for item in obj for v in _values(item, path)]
    if not path:
        return [str(obj).lower() if isinstance(obj, bool) else str(obj)]
    return _values(obj.get(path[0]), path[1:]) if isinstance(obj, dict) else []


def _test(expression: str) -> Callable[[Json], bool] | None:
    """One ``field op value`` expression (``=``, ``!=``, ``:``, regex ``eq``/``ne``)."""
    match = EXPRESSION.match(expression)
    if match is None:
        return None
    field, op, value = match.groups()
    value, path = value.strip("\"'"), field.split(".")
    hit: Callable[[str], bool]
    if op in ("eq", "ne"):
        try:
            regex = re.compile(value)
        except re.error:
            return None
        hit = lambda v: regex.fullmatch(v) is not None  # noqa: E731
    else:
        hit = lambda v: fnmatch.fnmatchcase(v, value)  # noqa: E731
    negate = op in ("!=", "ne")
    return lambda obj: any(hit(v) for v in _values(obj, path)) != negate


def list_filter(text: str | None) -> Callable[[Json], bool] | None:
    """Compute's list ``filter``: one expression, or parenthesized ones joined by (implicit)
    AND. None if the filter uses syntax the sandbox does not implement (OR, comparisons)."""
    text = (text or "").strip()
    if not text:
        return lambda _obj: True
    if text.startswith("("):
        groups = re.findall(r"\(([^()]*)\)", text)
        if re.sub(r"\([^()]*\)", " ", text).replace("AND", " ").strip():
            return None  # OR, nesting or text between the groups
    elif re.search(r"\s(AND|OR)\s", text):
        return None
    else:
        groups = [text]
    tests = [_test(g) for g in groups]
    checks = [t for t in tests if t is not None]
    if len(checks) != len(tests):
        return None
    return lambda obj: all(check(obj) for check in checks)


def one_page(
    request: Request, items: list[Json], size_param: str = "maxResults"
) -> tuple[list[Json], str | None]:
    """One page of ``items`` per ``maxResults``/``pageToken``, and the next page's token."""
    try:
        size = min(int(request.query_params.get(size_param, MAX_RESULTS)), MAX_RESULTS)
        token = request.query_params.get("pageToken")
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        return items, None
    end = start + max(size, 1)
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following

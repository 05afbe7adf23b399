"""The README's generated sections (the compliance tables, the import mapping): each sits
between two markers and is rewritten from its data by ``python -m <module> README.md``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def rewrite(text: str, begin: str, end: str, section: str) -> str:
    """``text`` with what lies between ``begin`` and ``end`` (markers included) replaced
    by ``section`` (which carries the markers)."""
    start, stop = text.index(begin), text.index(end) + len(end)
    return text[:start] + section + text[stop:]


def rewrite_file(argv: list[str], begin: str, end: str, section: Callable[[], str]) -> int:
    """Rewrite the README named in ``argv`` (default ``README.md``); the exit status."""
    path = Path(argv[0] if argv else "README.md")
    text = path.read_text(encoding="utf-8")
    path.write_text(rewrite(text, begin, end, section()), encoding="utf-8")
    return 0

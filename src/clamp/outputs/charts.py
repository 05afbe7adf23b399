"""Inline SVG charts for the HTML report: no script, no external file, prints as drawn."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR_HEIGHT = 22
LABEL_WIDTH = 110
CHART_WIDTH = 420


def bar_chart(title: str, bars: Sequence[tuple[str, int, str]]) -> str:
    """Horizontal bars, one per (label, value, color), with the value written beside it."""
    top = max((v for _, v, _ in bars), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 40
    rows = []
    for i, (label, value, color) in enumerate(bars):
        y = i * (BAR_HEIGHT + 6) + 24
        width = round(span * value / top)
        rows.append(
            f'<text x="0" y="{y + 15}" class="lbl">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" '
            f'fill="{color}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}" class="val">{value}</text>'
        )
    height = len(bars) * (BAR_HEIGHT + 6) + 30
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
        f'width="{CHART_WIDTH}" height="{height}" viewBox="0 0 {CHART_WIDTH} {height}">'
        f'<text x="0" y="14" class="ttl">{escape(title)}</text>{"".join(rows)}</svg>'
    )

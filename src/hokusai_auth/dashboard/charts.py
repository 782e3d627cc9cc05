"""Bar charts as inline SVG, drawn on the server: no script, no CDN, readable without colour.

Colours come from the stylesheet (classes, ``currentColor``), so light and dark themes both work and the page's
CSP needs no inline style. Each chart is an ``img`` with a title and a description that says the total and the
busiest day; the page shows the same numbers in a table for screen readers and for copying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

WIDTH, HEIGHT = 640, 200
LEFT, BOTTOM, TOP = 48, 24, 12


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    value: int


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (the axis' top)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(chart_id: str, title: str, days: list[Day], css_class: str) -> str:
    """An SVG document fragment; ``days`` in order, one bar each (zero days included, so gaps show)."""
    top = _nice_ceiling(max((day.value for day in days), default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(days), 1)
    total = sum(day.value for day in days)
    busiest = max(days, key=lambda day: day.value, default=None)
    summary = f"{total:,} in {len(days)} days"
    if busiest is not None and busiest.value:
        summary += f"; busiest {busiest.day.isoformat()} with {busiest.value:,}"
    parts = [
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" preserveAspectRatio="none">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{int(top * fraction):,}</text>'
        )
    for index, day in enumerate(days):
        height = plot_h * day.value / top
        x = LEFT + index * slot + slot * 0.15
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}"><title>{day.day.isoformat()}: {day.value:,}</title></rect>'
        )
    if days:
        for index in (0, len(days) - 1):
            x = LEFT + index * slot + slot / 2
            anchor = "start" if index == 0 else "end"
            parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">'
                         f"{days[index].day.isoformat()}</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)

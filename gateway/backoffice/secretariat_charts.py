"""Inline SVG charts (no JavaScript): a request's workflow, and the overview's bars."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from gateway.web.charts import Series, bar_chart
from gateway.web.templates import jalali

STEP_WIDTH, STEP_HEIGHT, GAP = 150, 64, 28
BAR_COLOURS = {"open": "#1f5fa8", "overdue": "#b3261e", "replied": "#23804a"}


def _text(x: float, y: float, value: str, size: int = 12, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" '
        f'text-anchor="middle" direction="rtl">{escape(value[:28])}</text>'
    )


def workflow_svg(history: list[dict[str, Any]]) -> Markup:
    """The request's steps as boxes joined by arrows, right to left, wrapping every five steps."""
    steps = [h for h in history if h["action"] != "note"]
    per_row = 5
    rows = max((len(steps) + per_row - 1) // per_row, 1)
    width = per_row * (STEP_WIDTH + GAP)
    height = rows * (STEP_HEIGHT + GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="workflow-chart" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label="نمودار گردش کار">',
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="6" refY="4" orient="auto">'
        '<path d="M8,0 L0,4 L8,8 z" fill="#666"/></marker></defs>',
    ]
    for index, step in enumerate(steps):
        row, column = divmod(index, per_row)
        x = width - (column + 1) * (STEP_WIDTH + GAP) + GAP / 2
        y = row * (STEP_HEIGHT + GAP) + 5
        fill = "#1f5fa8" if index == len(steps) - 1 else "#e4e9f0"
        ink = "#fff" if index == len(steps) - 1 else "#222"
        parts.append(
            f'<g class="step" fill="{ink}"><rect x="{x:.0f}" y="{y:.0f}" width="{STEP_WIDTH}" '
            f'height="{STEP_HEIGHT}" rx="8" fill="{fill}" stroke="#1f5fa8"/>'
        )
        centre = x + STEP_WIDTH / 2
        parts.append(_text(centre, y + 20, step["label"], 12, "bold"))
        parts.append(_text(centre, y + 38, step["actor_name"], 11))
        parts.append(_text(centre, y + 55, jalali(step["at"]), 10))
        parts.append("</g>")
        if column < per_row - 1 and index < len(steps) - 1:
            parts.append(
                f'<line x1="{x - 2:.0f}" y1="{y + STEP_HEIGHT / 2:.0f}" x2="{x - GAP + 4:.0f}" '
                f'y2="{y + STEP_HEIGHT / 2:.0f}" stroke="#666" marker-end="url(#arrow)"/>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def overview_svg(rows: list[dict[str, Any]]) -> Markup:
    """Grouped bars per secretariat or unit: open, overdue and replied requests, their names laid
    out right to left in a column as wide as the longest (see `gateway.web.charts`)."""
    rows = rows[:12]
    series = [
        Series(title=title, colour=BAR_COLOURS[key], values=[row[key] for row in rows], key=key)
        for key, title in (("open", "باز"), ("overdue", "دیرکرد"), ("replied", "پاسخ نهایی"))
    ]
    return bar_chart(
        [row["name"] for row in rows],
        series,
        title="نمودار وضعیت درخواست‌ها",
        css_class="overview-chart",
    )

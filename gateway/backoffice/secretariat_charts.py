"""Inline SVG charts (no JavaScript): a request's workflow, and the overview's bars."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from contracts.persian import persian_digits
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
    """Grouped bars per secretariat or unit: open, overdue and replied requests."""
    rows = rows[:12]
    top = max([max(r["open"], r["overdue"], r["replied"]) for r in rows] + [1])
    group, bar, label_width, height = 34, 9, 160, len(rows) * 34 + 40
    width = 640
    scale = (width - label_width - 60) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="overview-chart" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label="نمودار وضعیت درخواست‌ها">'
    ]
    for index, row in enumerate(rows):
        y = index * group + 8
        name = escape(row["name"])
        parts.append(f'<text x="{width - 5}" y="{y + 16}" font-size="12" text-anchor="end">{name}</text>')
        for offset, key in enumerate(("open", "overdue", "replied")):
            length = row[key] * scale
            right = width - label_width
            parts.append(
                f'<rect class="bar-{key}" x="{right - length:.1f}" y="{y + offset * bar}" '
                f'width="{length:.1f}" height="{bar - 1}" fill="{BAR_COLOURS[key]}"/>'
            )
            parts.append(
                f'<text x="{right - length - 4:.1f}" y="{y + offset * bar + 8}" font-size="9" '
                f'text-anchor="end">{persian_digits(str(row[key]))}</text>'
            )
    legend_y = height - 12
    for offset, (key, title) in enumerate(
        (("open", "باز"), ("overdue", "دیرکرد"), ("replied", "پاسخ نهایی"))
    ):
        x = width - 20 - offset * 110
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{BAR_COLOURS[key]}"/>')
        parts.append(f'<text x="{x - 5}" y="{legend_y}" font-size="11" text-anchor="end">{title}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

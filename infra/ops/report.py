"""The audit report in three shapes: a text table, JSON lines, printable HTML (and PDF)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/vazirmatn/Vazirmatn-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
"""Fonts with Persian glyphs, best first; `PISHKHAN_PDF_FONT` overrides."""


def as_json_lines(rows: Sequence[dict[str, Any]]) -> str:
    """One JSON object per event."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def as_table(rows: Sequence[dict[str, Any]]) -> str:
    """A fixed-width table for a terminal; causation depth shows as indentation of the type."""
    header = ("#", "jalali", "iso", "stream@rev", "event", "actor", "role", "reason", "event id", "caused by")
    lines = [header]
    for row in rows:
        lines.append(
            (
                str(row["position"]),
                row["jalali"],
                row["recorded_at"][:19],
                f"{row['stream']}@{row['revision']}",
                "  " * row["depth"] + ("└ " if row["depth"] else "") + f"{row['type']} v{row['version']}",
                row["actor"] or "-",
                row["role"] or "-",
                _short(row["reason"]),
                row["event_id"][:8],
                (row["causation_id"] or "-")[:8],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


def _short(value: Any, size: int = 40) -> str:
    text = "-" if value in (None, "") else str(value).replace("\n", " ")
    return text if len(text) <= size else text[: size - 1] + "…"


HTML = jinja2.Template(
    """<!doctype html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>گزارش رویدادها — {{ subject }}</title>
<style>
body { font-family: Vazirmatn, Tahoma, "DejaVu Sans", sans-serif; margin: 1.5cm; }
h1 { font-size: 1.3em; } table { border-collapse: collapse; width: 100%; font-size: .85em; }
th, td { border: 1px solid #999; padding: .3em .4em; vertical-align: top; text-align: right; }
th { background: #eee; } code, .ltr { direction: ltr; unicode-bidi: embed; font-family: monospace; }
tr { page-break-inside: avoid; } @page { size: A4 landscape; margin: 1cm; }
</style></head><body>
<h1>تاریخچهٔ کامل رویدادها: <span class="ltr">{{ subject }}</span></h1>
<p>تعداد رویدادها: {{ rows|length }} — تهیه‌شده در {{ generated }}</p>
<table><thead><tr><th>ردیف</th><th>زمان (شمسی)</th><th>زمان (ISO)</th><th>جریان</th><th>رویداد</th>
<th>انجام‌دهنده</th><th>نقش</th><th>دلیل</th><th>شناسه / علت</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.position }}</td><td>{{ row.jalali }}</td>
<td class="ltr">{{ row.recorded_at }}</td>
<td class="ltr">{{ row.stream }}@{{ row.revision }}</td>
<td class="ltr">{{ "↳ " * row.depth }}{{ row.type }} v{{ row.version }}</td>
<td class="ltr">{{ row.actor or "—" }}</td><td>{{ row.role or "—" }}</td><td>{{ row.reason or "—" }}</td>
<td class="ltr">{{ row.event_id }}<br>← {{ row.causation_id or "—" }}<br>⌘ {{ row.correlation_id }}</td></tr>
{% endfor %}</tbody></table></body></html>
""",
    autoescape=True,
)


def as_html(subject: str, rows: Sequence[dict[str, Any]], generated: str) -> str:
    """A right-to-left page to print (A4 landscape)."""
    return str(HTML.render(subject=subject, rows=rows, generated=generated))


def pdf_font(explicit: str | None = None) -> Path | None:
    """A font file that can show Persian, if the machine has one."""
    for candidate in ([explicit] if explicit else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def as_pdf(subject: str, rows: Sequence[dict[str, Any]], generated: str, font: Path) -> bytes:
    """The report as a PDF (fpdf2 with HarfBuzz shaping for the Persian text)."""
    from fpdf import FPDF, FontFace

    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font("report", fname=str(font))
    pdf.set_font("report", size=8)
    pdf.set_text_shaping(True)
    pdf.add_page()
    pdf.set_font_size(12)
    pdf.cell(0, 8, f"تاریخچهٔ کامل رویدادها: {subject}", new_x="LMARGIN", new_y="NEXT", align="R")
    pdf.set_font_size(8)
    pdf.cell(0, 6, f"تعداد رویدادها: {len(rows)} — {generated}", new_x="LMARGIN", new_y="NEXT", align="R")
    headings = ("#", "زمان (شمسی)", "ISO", "جریان", "رویداد", "انجام‌دهنده", "نقش", "دلیل")
    with pdf.table(
        col_widths=(8, 28, 38, 50, 42, 34, 20, 50),
        text_align="RIGHT",
        headings_style=FontFace(fill_color=(230, 230, 230)),
    ) as table:
        table.row(headings)
        for row in rows:
            table.row(
                (
                    str(row["position"]),
                    row["jalali"],
                    row["recorded_at"][:19],
                    f"{row['stream']}@{row['revision']}",
                    "> " * row["depth"] + f"{row['type']} v{row['version']}",
                    row["actor"] or "-",
                    row["role"] or "-",
                    _short(row["reason"], 60),
                )
            )
    return bytes(pdf.output())

"""The audit report in four shapes: a text table, JSON lines, printable HTML, and PDF.

Each takes the report's sections (`history.group_rows`): one per request, account or stream the
subject named, so a national code with three requests prints three histories one after another.
HTML and PDF read right to left as a Persian table does: the first column (the row's number) at
the right edge, the actor by name with its id beside it and its role(s) in Persian, and under
each event its full event id and causation id in a small monospace line, to be searched for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from contracts.persian import persian_digits

Section = dict[str, Any]
"""`history.group_rows`' shape: kind, id, via, via_fa, key, rows."""

ROLE_FA = {
    "citizen": "شهروند",
    "clerk": "کارشناس دبیرخانه",
    "desk_officer": "مسئول میز خدمت",
    "representative": "پیگیری کننده",
    "admin": "مدیر سامانه",
    "partner": "شریک سامانه",
    "staff": "کارمند",
    "system": "سامانه",
    "service": "سرویس",
}
"""Roles as the printed report names them (the back office's labels, shortened to fit)."""

KIND_FA = {"request": "درخواست", "account": "حساب کاربری", "stream": "جریان"}

COLUMNS_FA = (
    "ردیف",
    "زمان (شمسی)",
    "زمان (ISO)",
    "جریان",
    "رویداد",
    "انجام‌دهنده",
    "شناسهٔ انجام‌دهنده",
    "نقش",
    "دلیل",
)
"""The PDF's and the page's columns in reading order: the first is drawn at the right."""
PDF_WIDTHS = (9, 26, 30, 50, 40, 30, 32, 28, 32)
"""Millimetres, in the order of `COLUMNS_FA` (277: A4 landscape within 1 cm margins)."""


def role_fa(row: dict[str, Any]) -> str:
    """The row's role(s) in Persian, several joined with «، »."""
    return "، ".join(ROLE_FA.get(role, role) for role in row.get("roles") or ()) or "—"


def heading_fa(section: Section) -> str:
    """«درخواست <id> — یافته با: کد رهگیری، کد ملی»."""
    via = "، ".join(section["via_fa"])
    return f"{KIND_FA.get(section['kind'], section['kind'])} {section['id']}" + (
        f" — یافته با: {via}" if via else ""
    )


def as_json_lines(sections: Sequence[Section]) -> str:
    """One JSON object per event, each naming its group and how the subject found it."""
    return "".join(
        json.dumps({**row, "found_by": section["via"]}, ensure_ascii=False) + "\n"
        for section in sections
        for row in section["rows"]
    )


def as_table(sections: Sequence[Section]) -> str:
    """A fixed-width table for a terminal, one block per group; causation depth shows as
    indentation of the type."""
    return "\n".join(
        f"== {section['kind']} {section['id']} (found by {', '.join(section['via'])}):"
        f" {len(section['rows'])} events\n" + _table(section["rows"])
        for section in sections
    )


def _table(rows: Sequence[dict[str, Any]]) -> str:
    header = (
        "#",
        "jalali",
        "iso",
        "stream@rev",
        "event",
        "name",
        "actor",
        "role",
        "reason",
        "event id",
        "caused by",
    )
    lines = [header]
    for row in rows:
        lines.append(
            (
                str(row["position"]),
                row["jalali"],
                row["recorded_at"][:19],
                f"{row['stream']}@{row['revision']}",
                "  " * row["depth"] + ("└ " if row["depth"] else "") + f"{row['type']} v{row['version']}",
                row["actor_name"] or "-",
                row["actor"] or "-",
                row["role"] or "-",
                _short(row["reason"]),
                row["event_id"],
                row["causation_id"] or "-",
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


def _fa(value: Any) -> str:
    return persian_digits(str(value))


_PAGES = jinja2.Environment(autoescape=True)
_PAGES.filters["fa"] = _fa
HTML = _PAGES.from_string(
    """<!doctype html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>گزارش رویدادها — {{ subject }}</title>
<style>
body { font-family: Vazirmatn, Tahoma, "DejaVu Sans", sans-serif; margin: 1.5cm; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; font-size: .85em; }
th, td { border: 1px solid #999; padding: .3em .4em; vertical-align: top; text-align: right; }
th { background: #eee; } .ltr { direction: ltr; unicode-bidi: isolate; font-family: monospace; }
td.ids { font-size: .8em; color: #444; } tr { page-break-inside: avoid; }
@page { size: A4 landscape; margin: 1cm; }
</style></head><body>
<h1>تاریخچهٔ کامل رویدادها: <bdi class="ltr">{{ subject }}</bdi></h1>
<p>تعداد رویدادها: {{ total|fa }}{% if sections|length > 1 %} در {{ sections|length|fa }} بخش{% endif %}
 — تهیه‌شده در {{ generated }}</p>
{% for section in sections %}<section id="{{ section.key }}">
<h2>{{ kinds.get(section.kind, section.kind) }} <bdi class="ltr">{{ section.id }}</bdi>
{% if section.via_fa %} — یافته با: {{ section.via_fa|join("، ") }}{% endif %}
 ({{ section.rows|length|fa }} رویداد)</h2>
<table><thead><tr>{% for title in columns %}<th>{{ title }}</th>{% endfor %}</tr></thead><tbody>
{% for row in section.rows %}<tr class="event"><td>{{ row.position|fa }}</td><td>{{ row.jalali }}</td>
<td class="ltr">{{ row.recorded_at }}</td>
<td class="ltr">{{ row.stream }}@{{ row.revision }}</td>
<td class="ltr">{{ "↳ " * row.depth }}{{ row.type }} v{{ row.version }}</td>
<td>{{ row.actor_name or "—" }}</td><td class="ltr">{{ row.actor or "—" }}</td>
<td>{{ role(row) }}</td><td>{{ row.reason or "—" }}</td></tr>
<tr class="ids"><td class="ids" colspan="{{ columns|length }}">شناسهٔ رویداد:
<bdi class="ltr event-id">{{ row.event_id }}</bdi> — علت:
<bdi class="ltr causation-id">{{ row.causation_id or "—" }}</bdi> — گفتگو:
<bdi class="ltr">{{ row.correlation_id }}</bdi></td></tr>
{% endfor %}</tbody></table></section>
{% endfor %}</body></html>
"""
)


def as_html(subject: str, sections: Sequence[Section], generated: str) -> str:
    """A right-to-left page to print (A4 landscape), one table per group."""
    return str(
        HTML.render(
            subject=subject,
            sections=sections,
            total=sum(len(s["rows"]) for s in sections),
            generated=generated,
            columns=COLUMNS_FA,
            kinds=KIND_FA,
            role=role_fa,
        )
    )


def pdf_font(explicit: str | None = None) -> Path | None:
    """A font file that can show Persian (`--font`, else the one the printed replies use)."""
    from infra.fonts import persian_font

    found = persian_font(explicit)
    return Path(found) if found else None


MONO_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
)
"""A monospace font for the ids (DejaVu Sans Mono also has the Persian labels' glyphs)."""


def _ltr(text: str) -> str:
    """`text` isolated left to right (LRI … PDI): an id that starts with digits would otherwise
    have its first group carried to the end of a right-to-left line."""
    return f"\u2066{text}\u2069"


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    """A row's cells in the order of `COLUMNS_FA`."""
    return (
        persian_digits(str(row["position"])),
        row["jalali"],
        row["recorded_at"][:19],
        f"{row['stream']}@{row['revision']}",
        "> " * row["depth"] + f"{row['type']} v{row['version']}",
        row["actor_name"] or "—",
        row["actor"] or "—",
        role_fa(row),
        _short(row["reason"], 60),
    )


def as_pdf(subject: str, sections: Sequence[Section], generated: str, font: Path) -> bytes:
    """The report as a PDF that reads right to left: fpdf2 shapes the Persian text with
    HarfBuzz as the printed replies do (no ligatures, so copied text reads as typed), and the
    table's columns are given to it from the last to the first, so the first is drawn at the
    right edge. Each event's ids follow it in a line of their own spanning the table."""
    from fpdf import FPDF, FontFace

    from infra.fonts import NO_LIGATURES

    pdf = FPDF(orientation="L", format="A4")
    pdf.set_margins(10, 10, 10)
    pdf.set_title(f"audit {subject}")
    pdf.add_font("report", fname=str(font))
    mono = next((Path(c) for c in MONO_CANDIDATES if Path(c).is_file()), font)
    pdf.add_font("mono", fname=str(mono))
    pdf.set_text_shaping(
        use_shaping_engine=True, features=NO_LIGATURES, direction="rtl", script="arab", language="fas"
    )
    pdf.add_page()
    pdf.set_font("report", size=12)
    pdf.multi_cell(0, 8, f"تاریخچهٔ کامل رویدادها: {subject}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("report", size=8)
    total = persian_digits(str(sum(len(s["rows"]) for s in sections)))
    pdf.multi_cell(0, 6, f"تعداد رویدادها: {total} — {generated}", align="R", new_x="LMARGIN", new_y="NEXT")
    ids_style = FontFace(family="mono", size_pt=6, color=(70, 70, 70))
    for section in sections:
        if pdf.will_page_break(30):
            pdf.add_page()  # a section's heading never ends a page without its table
        pdf.ln(2)
        pdf.set_font("report", size=10)
        count = persian_digits(str(len(section["rows"])))
        pdf.multi_cell(
            0, 7, f"{heading_fa(section)} ({count} رویداد)", align="R", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("report", size=7)
        with pdf.table(
            col_widths=tuple(reversed(PDF_WIDTHS)),
            text_align="RIGHT",
            v_align="TOP",
            headings_style=FontFace(fill_color=(230, 230, 230)),
            first_row_as_headings=True,
        ) as table:
            table.row(tuple(reversed(COLUMNS_FA)))
            for row in section["rows"]:
                table.row(tuple(reversed(_cells(row))))
                ids = table.row()
                ids.cell(
                    f"شناسهٔ رویداد: {_ltr(row['event_id'])}   علت: {_ltr(row['causation_id'] or '—')}",
                    colspan=len(COLUMNS_FA),
                    style=ids_style,
                )
    return bytes(pdf.output())

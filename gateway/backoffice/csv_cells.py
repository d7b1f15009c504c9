"""The back office's CSV exports: files a spreadsheet program opens as they are (UTF-8 with a
BOM), with cells that never run as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import Response

from contracts.persian import persian_digits

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it plain text again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Code(str):
    """A registration number, tracking code or reply number bound for a cell: written with
    Persian digits, as the pages show it, and nothing else.

    Spreadsheet programs read only ASCII digits as numbers and dates, so «۱۴۰۵۰۹۱۶۱۲۳۴۵۶۷» stays
    text with every digit (as ASCII it would become 1.40509E+15, its last digits lost) and
    «۱۴۰۵/۰۱/۵» is not taken for a date or a division; a cell holds no formula (`="…"`) and no
    bidi marks, which would stay in the cell unseen and make a copied number miss in a search.
    None is needed: digits and slashes run left to right even in a right-to-left sheet, and the
    cell is alone, so nothing beside it can pull it apart; a number given before the numeric
    province code («1405/tehran/5») starts with digits and is laid out the same way. The search
    boxes of the desk take Persian digits back (input normalisation)."""


def spreadsheet_cell(value: Any) -> str:
    """`value` as the text of a CSV cell: numbers as they are, a `Code` in Persian digits, text
    that could start a formula behind an apostrophe."""
    if isinstance(value, Code):
        value = persian_digits(value)
    return _cell(value)


def _cell(value: Any) -> str:
    """Any other value: numbers as they are, text that could start a formula behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(lines: Iterable[Sequence[Any]], filename: str) -> Response:
    """`lines` (the first one the Persian headers) as a CSV download: every cell through
    `spreadsheet_cell`, quoted only where it must be, lines ending in CRLF."""
    out = io.StringIO()
    csv.writer(out).writerows([spreadsheet_cell(cell) for cell in line] for line in lines)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )

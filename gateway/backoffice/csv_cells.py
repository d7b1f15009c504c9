"""The back office's CSV exports: files a spreadsheet program opens as they are (UTF-8 with a
BOM), with cells that never run as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import Response

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it plain text again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> str:
    """`value` as the text of a CSV cell: numbers as they are, text that could start a formula
    behind an apostrophe."""
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

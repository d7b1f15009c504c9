"""Survey reports in the back office: per unit, service and Jalali period, with SVG charts and a
CSV export. A representative sees only their own unit; groups under ten responses stay merged."""

from __future__ import annotations

import csv
import io
import re

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.persian import latin_digits
from gateway.backoffice.csv_cells import spreadsheet_cell
from gateway.common import ApiError
from gateway.common import call as call_service
from gateway.web.auth import Principal, require_staff
from gateway.web.templates import render

READERS = ("admin", "representative")
PERIOD = re.compile(r"^\d{4}(/\d{2})?$")


def _filters(request: Request, staff: Principal) -> dict[str, str]:
    params = request.query_params
    filters = {k: params.get(k, "").strip() for k in ("unit", "service_id", "period")}
    filters["period"] = latin_digits(filters["period"])
    if filters["period"] and not PERIOD.fullmatch(filters["period"]):
        raise ApiError("invalid_input", "period is a Jalali year (1405) or month (1405/03)")
    if not staff.has_role("admin"):
        filters["unit"] = staff.unit or "-"  # a representative reports on their own unit only
    return {k: v for k, v in filters.items() if v}


async def report_page(request: Request) -> Response:
    """Counts, averages per axis and question, distributions and trend as SVG."""
    staff = require_staff(request, *READERS)
    try:
        filters, error = _filters(request, staff), None
    except ApiError:
        filters, error = {}, "دوره را به صورت سال (۱۴۰۵) یا سال و ماه (۱۴۰۵/۰۳) وارد کنید."
    data = await call_service(request, "survey", "report", filters)
    context = {"report": data, "filters": filters, "error": error, "is_admin": staff.has_role("admin")}
    return render(request, "survey/report.html", context)


async def report_csv(request: Request) -> Response:
    """The report as CSV: one line per unit, service and month of ten responses or more."""
    staff = require_staff(request, *READERS)
    lines = await call_service(request, "survey", "csv_rows", _filters(request, staff))
    out = io.StringIO()
    csv.writer(out).writerows([spreadsheet_cell(cell) for cell in line] for line in lines)
    headers = {"content-disposition": 'attachment; filename="survey-report.csv"'}
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


async def api_report(request: Request) -> JSONResponse:
    """
    summary: The survey report (admin, or a representative for their unit)
    parameters:
      - {name: unit, in: query, required: false, schema: {type: string}}
      - {name: service_id, in: query, required: false, schema: {type: string}}
      - {name: period, in: query, required: false, schema: {type: string, example: "1405/03"}}
    responses:
      200: {description: "count, averages per axis and question, distributions, trend, groups"}
    """
    staff = require_staff(request, *READERS)
    return JSONResponse(await call_service(request, "survey", "report", _filters(request, staff)))


routes: list[BaseRoute] = [
    Route("/survey/reports", report_page, methods=["GET"], include_in_schema=False),
    Route("/survey/reports.csv", report_csv, methods=["GET"], include_in_schema=False),
    Route("/api/survey/report", api_report, methods=["GET"]),
]
schemas: dict[str, type[BaseModel]] = {}

"""Survey reports in the back office: per province, unit, service and Jalali period, with SVG
charts and a CSV export. A representative sees only their own unit, a clerk their own
province; groups under ten responses
stay merged. The survey service speaks in ids; these pages and the CSV show Persian names."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.catalogue import PROVINCES
from contracts.persian import latin_digits, persian_digits
from contracts.survey import AXES, QUESTIONS
from gateway.backoffice import names
from gateway.backoffice.csv_cells import csv_response
from gateway.common import ApiError
from gateway.common import call as call_service
from gateway.web.auth import Principal, require_staff
from gateway.web.templates import render

READERS = ("admin", "representative", "clerk")
PERIOD = re.compile(r"^\d{4}(/\d{2})?$")
CSV_HEADERS = {
    "province": "استان",
    "unit": "واحد سازمانی",
    "service": "خدمت",
    "month": "ماه",
    "count": "تعداد پاسخ",
    **{axis: f"میانگین {name}" for axis, name in AXES.items()},
    **{q.id: f"پرسش {persian_digits(str(q.number))}" for q in QUESTIONS},
}
"""The CSV's Persian header of each column the survey service names."""


def _filters(request: Request, staff: Principal) -> dict[str, str]:
    params = request.query_params
    filters = {k: params.get(k, "").strip() for k in ("province", "unit", "service_id", "period")}
    filters["period"] = latin_digits(filters["period"])
    if filters["period"] and not PERIOD.fullmatch(filters["period"]):
        raise ApiError("invalid_input", "period is a Jalali year (1405) or month (1405/03)")
    if staff.has_role("admin"):
        pass
    elif staff.has_role("representative"):
        filters["unit"] = staff.scope_of("representative").get("unit") or staff.unit or "-"
    else:  # a secretariat's clerk reads the report of their own province
        filters["province"] = staff.scope_of("clerk").get("province") or staff.province or "-"
    return {k: v for k, v in filters.items() if v}


def _named(groups: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    """Groups keyed by an id, each under its name (the merged small groups keep theirs)."""
    return [group | {"name": labels.get(group["name"], group["name"])} for group in groups]


async def report_page(request: Request) -> Response:
    """Counts, averages per axis and question, distributions and trend as SVG."""
    staff = require_staff(request, *READERS)
    try:
        filters, error = _filters(request, staff), None
    except ApiError:
        filters, error = {}, "دوره را به صورت سال (۱۴۰۵) یا سال و ماه (۱۴۰۵/۰۳) وارد کنید."
    data = await call_service(request, "survey", "report", filters)
    unit_names = await names.unit_names(request)
    data["by_province"] = _named(data.get("by_province", []), PROVINCES)
    data["by_unit"] = _named(data["by_unit"], unit_names)
    choices = {
        "provinces": [(p, names.province_name(p)) for p in data.get("provinces", [])],
        "units": sorted(((u, unit_names.get(u, u)) for u in data["units"]), key=lambda pair: pair[1]),
    }
    own_province = None
    if not staff.has_role("admin", "representative"):  # a clerk: their province, not a choice
        own_province = names.province_name(filters.get("province", ""))
    context = {
        "report": data,
        "filters": filters,
        "error": error,
        "is_admin": staff.has_role("admin"),
        "own_province": own_province,
    }
    return render(request, "survey/report.html", context | choices)


async def report_csv(request: Request) -> Response:
    """The report as CSV: one line per province, unit, service and month of ten responses or
    more, under Persian headers, provinces and units by name."""
    staff = require_staff(request, *READERS)
    header, *lines = await call_service(request, "survey", "csv_rows", _filters(request, staff))
    unit_names = await names.unit_names(request)
    labels: dict[str, dict[str, str]] = {"province": PROVINCES, "unit": unit_names}
    named = [
        [labels.get(key, {}).get(cell, cell) for key, cell in zip(header, line, strict=True)]
        for line in lines
    ]
    return csv_response([[CSV_HEADERS.get(key, key) for key in header], *named], "survey-report.csv")


async def api_report(request: Request) -> JSONResponse:
    """
    summary: The survey report (admin, or a representative for their unit)
    parameters:
      - {name: province, in: query, required: false, schema: {type: string}}
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

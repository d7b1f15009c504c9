"""The secretariat's overview (with its chart and CSV), ready-made replies, and printable replies."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.errors import MESSAGES
from gateway.backoffice.csv_cells import csv_response
from gateway.backoffice.secretariat_api import staff_of
from gateway.backoffice.secretariat_charts import overview_svg
from gateway.backoffice.secretariat_labels import with_channel
from gateway.backoffice.secretariat_pdf import reply_pdf
from gateway.common import ApiError, call, call_cached, form_data
from gateway.web.templates import render
from infra.attachments import AttachmentStore

CANNED_FIELDS = ("service_id", "title", "body", "legal_basis", "appeal_authority", "appeal_deadline", "notes")
GROUPS = {"secretariat": "دبیرخانه", "unit": "واحد"}
CSV_HEADER = ("گروه", "نام", "باز", "نزد متقاضی", "دارای دیرکرد", "پاسخ نهایی", "میانگین روز", "صدک ۹۰ روز")


async def overview(request: Request) -> Response:
    """Open, overdue and replied requests per secretariat and unit, with the time to a final reply."""
    figures = await call(request, "secretariat", "overview", staff_of(request))
    rows = figures["rows"]
    context = {
        "rows": rows,
        "chart_secretariats": overview_svg([r for r in rows if r["group"] == "secretariat"]),
        "chart_units": overview_svg([r for r in rows if r["group"] == "unit"]),
    }
    return render(request, "secretariat/overview.html", context)


async def overview_csv(request: Request) -> Response:
    """The overview as a CSV file (UTF-8 with a BOM, for spreadsheet programs)."""
    figures = await call(request, "secretariat", "overview", staff_of(request))
    lines: list[list[Any]] = [list(CSV_HEADER)]
    for row in figures["rows"]:
        values = [GROUPS[row["group"]], row["name"], row["open"], row["waiting_citizen"], row["overdue"]]
        lines.append([*values, row["replied"], row["average_days"], row["p90_days"]])
    return csv_response(lines, "secretariat-overview.csv")


async def canned(
    request: Request, *, error: str | None = None, form: dict[str, str] | None = None
) -> Response:
    """The ready-made replies of every service, and the form to add one."""
    staff_of(request)
    replies = await call(request, "secretariat", "canned_replies", None)
    catalogue = await call_cached(request, "secretariat", "catalogue")
    context = {"replies": replies, "catalogue": catalogue, "error": error, "form": form or {}}
    context["notice"] = "پاسخ آماده ذخیره شد." if request.query_params.get("saved") else None
    return render(request, "secretariat/canned.html", context, status_code=422 if error else 200)


async def save_canned(request: Request) -> Response:
    form = await form_data(request)
    body: dict[str, Any] = {k: form.get(k, "") for k in CANNED_FIELDS}
    body |= {"staff": staff_of(request), "canned_id": form.get("canned_id") or None}
    try:
        await call(request, "secretariat", "save_canned_reply", body)
    except ApiError as refused:
        return await canned(
            request, error=MESSAGES.get(refused.code, MESSAGES["invalid_input"])[1], form=form
        )
    return RedirectResponse("/secretariat/canned?saved=1", status_code=303)


async def remove_canned(request: Request) -> Response:
    form = await form_data(request)
    if not (form.get("service_id") and form.get("canned_id")):  # a hand-made post: refuse, don't crash
        raise ApiError("invalid_input", "service_id and canned_id are required")
    await call(
        request,
        "secretariat",
        "remove_canned_reply",
        staff_of(request),
        form["service_id"],
        form["canned_id"],
    )
    return RedirectResponse("/secretariat/canned", status_code=303)


async def _reply(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    file = await call(
        request, "secretariat", "case_file", request.path_params["request_id"], staff_of(request)
    )
    for reply in file["replies"]:
        if reply["reply_id"] == request.path_params["reply_id"]:
            return with_channel(file["case"]), reply
    raise ApiError("request_not_found")


async def print_reply(request: Request) -> Response:
    """The reply as seed 003 prints it."""
    case, reply = await _reply(request)
    return render(request, "secretariat/print.html", {"case": case, "reply": reply})


async def pdf_reply(request: Request) -> Response:
    """The same reply as a PDF."""
    case, reply = await _reply(request)
    return Response(
        reply_pdf(case, reply),
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="reply-{reply["reply_id"][:12]}.pdf"'},
    )


async def attachment(request: Request) -> Response:
    """A file of the request or of one of its replies, for staff who may see the request."""
    file = await call(
        request, "secretariat", "case_file", request.path_params["request_id"], staff_of(request)
    )
    wanted = request.path_params["attachment_id"]
    earlier = [a for version in file["case"].get("earlier_attachments", []) for a in version["files"]]
    replied = [a for reply in file["replies"] for a in reply["attachments"]]
    refs = file["case"]["attachments"] + earlier + replied  # a replaced file stays readable
    for ref in refs:
        if ref["attachment_id"] == wanted:
            try:
                data = AttachmentStore().get(wanted)
            except (FileNotFoundError, ValueError):
                break
            disposition = (
                "inline"
                if ref["media_type"] in ("application/pdf", "image/png", "image/jpeg")
                else "attachment"
            )
            return Response(
                data,
                media_type=ref["media_type"],
                headers={
                    "content-disposition": f"{disposition}; filename*=UTF-8''{quote(ref['name'], safe='')}",
                    "x-content-type-options": "nosniff",
                },
            )
    raise ApiError("request_not_found")


routes: list[BaseRoute] = [
    Route("/secretariat/overview", overview, methods=["GET"], include_in_schema=False),
    Route("/secretariat/overview.csv", overview_csv, methods=["GET"], include_in_schema=False),
    Route("/secretariat/canned", canned, methods=["GET"], include_in_schema=False),
    Route("/secretariat/canned", save_canned, methods=["POST"], include_in_schema=False),
    Route("/secretariat/canned/remove", remove_canned, methods=["POST"], include_in_schema=False),
    Route(
        "/secretariat/cases/{request_id}/files/{attachment_id}",
        attachment,
        methods=["GET"],
        include_in_schema=False,
    ),
    Route(
        "/secretariat/cases/{request_id}/replies/{reply_id}/print",
        print_reply,
        methods=["GET"],
        include_in_schema=False,
    ),
    Route(
        "/secretariat/cases/{request_id}/replies/{reply_id}/pdf",
        pdf_reply,
        methods=["GET"],
        include_in_schema=False,
    ),
]

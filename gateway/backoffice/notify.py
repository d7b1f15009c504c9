"""The back office's view of notify: every message with its status (a list with filters and a
page per request) and the administrator's SMS templates, versioned per organisation. Templates
and organisations (units) are shown and chosen by their Persian names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.errors import MESSAGES
from contracts.notify import ChangeTemplate
from gateway.backoffice import names
from gateway.common import ApiError, call, form_data, payload, validated
from gateway.web.auth import Principal, require_staff
from gateway.web.templates import render

VIEWERS = ("admin", "clerk", "desk_officer")
FILTERS = ("status", "template", "channel", "to", "request_id", "organisation")
STATUSES = {
    "queued": "در صف",
    "dispatching": "در حال ارسال",
    "deferred": "خطای موقت؛ تلاش دوباره",
    "sent": "ارسال شد",
    "delivered": "رسیده به گیرنده",
    "permanent_failure": "ناموفق (دائمی)",
    "technical_failure": "ناموفق (فنی)",
}
CHANNELS = {"sms": "پیامک", "email": "رایانامه"}
VALUE_LABELS = {
    "tracking_code": "کد رهگیری",
    "registration_number": "شماره ثبت دبیرخانه",
    "reason": "علت",
    "code": "کد یکبار مصرف",
    "link": "پیوند",
    "ticket_number": "شماره تیکت",
}
"""What each {value} a template's text may hold stands for (the text keeps the value's key)."""
PAGE = 50
MAX_OFFSET = 10**9


def _filters(request: Request) -> dict[str, str]:
    return {k: v.strip() for k, v in request.query_params.items() if k in FILTERS and v.strip()}


def sees_every_message(user: Principal) -> bool:
    """Administrators, and desk officers bound to no province (every case is within their reach),
    read every message."""
    if user.has_role("admin"):
        return True
    return user.has_role("desk_officer") and not user.scope_of("desk_officer").get("province")


async def _allowed(request: Request, request_id: str | None) -> None:
    """Anyone else reads only the messages of one request they may see, by the secretariat's own
    rules for its cases (SMS carry tracking codes and mobiles): a clerk their province's, and a
    desk officer bound to a province none (identity's cases are theirs, not the secretariat's).
    A list that names no request is only for those who read every message."""
    user = require_staff(request, *VIEWERS)
    if sees_every_message(user):
        return
    if not request_id:
        raise ApiError("forbidden")
    staff = {
        "account_id": user.account_id,
        "name": user.display_name,
        "roles": list(user.roles),
        "province": user.province,
        "unit": user.unit,
    }
    await call(request, "secretariat", "case_file", request_id, staff)  # 404 outside their reach


async def message_list(request: Request) -> Response:
    """Messages, newest first, filtered by status, template, channel, recipient or request."""
    filters = _filters(request)
    await _allowed(request, filters.get("request_id"))
    typed = request.query_params.get("offset", "")
    offset = min(int(typed), MAX_OFFSET) if typed.isdigit() else 0  # beyond a bigint the database fails
    page = await call(request, "notify", "message_list", filters, PAGE, offset)
    templates = await call(request, "notify", "templates", "*")
    context = {"page": page, "filters": filters, "offset": offset, "size": PAGE, "templates": templates}
    context |= {"titles": _titles(templates), "statuses": STATUSES, "channels": CHANNELS}
    return render(request, "notify/messages.html", context)


def _titles(templates: list[dict[str, Any]]) -> dict[str, str]:
    """Template key → its Persian title, for the lists that name a message's template."""
    return {template["name"]: template["title"] for template in templates}


async def request_messages(request: Request) -> Response:
    """Every message about one request, with its life cycle's last state."""
    request_id = request.path_params["request_id"]
    await _allowed(request, request_id)
    items = await call(request, "notify", "messages", request_id)
    titles = _titles(await call(request, "notify", "templates", "*"))
    context = {"request_id": request_id, "items": items, "statuses": STATUSES, "channels": CHANNELS}
    return render(request, "notify/request.html", context | {"titles": titles})


async def templates_page(request: Request) -> Response:
    """The templates of one organisation ("*" = the default of every organisation), or the one
    template chosen from the list; the organisation is chosen from the catalogue's units."""
    admin = require_staff(request, "admin")
    organisation = request.query_params.get("organisation", "*").strip() or "*"
    error, typed = None, {}
    if request.method == "POST":
        form = await form_data(request)
        organisation = form.get("organisation", "*").strip() or "*"
        typed = {"template": form.get("template", ""), "text": form.get("text", "")}
        body = {**typed, "organisation": organisation, "admin": admin.account_id}
        try:
            await call(request, "notify", "change_template", validated(ChangeTemplate, body))
            target = f"/notify/templates?organisation={organisation}&saved={typed['template']}"
            return RedirectResponse(target, status_code=303)
        except ApiError as refused:
            error = MESSAGES.get(refused.code, MESSAGES["invalid_input"])[1]
    items = await call(request, "notify", "templates", organisation)
    chosen = typed.get("template") or request.query_params.get("template", "")
    shown = [t for t in items if t["name"] == chosen] or items
    notice = (
        "قالب ذخیره شد؛ پیامک‌های بعدی با متن تازه فرستاده می‌شوند."
        if request.query_params.get("saved")
        else None
    )
    people = {p["account_id"]: p["full_name"] for p in await call(request, "identity", "staff_list")}
    context = {"items": shown, "templates": items, "chosen": chosen if shown != items else ""}
    context |= {"organisation": organisation, "units": await names.units(request), "people": people}
    context |= {"typed": typed, "error": error, "notice": notice, "value_labels": VALUE_LABELS}
    return render(request, "notify/templates.html", context, status_code=422 if error else 200)


async def api_messages(request: Request) -> JSONResponse:
    """
    summary: Messages with their status, newest first
    parameters:
      - {name: status, in: query, required: false, schema: {type: string}}
      - {name: template, in: query, required: false, schema: {type: string}}
      - {name: channel, in: query, required: false, schema: {type: string, enum: [sms, email]}}
      - {name: to, in: query, required: false, schema: {type: string}}
      - {name: request_id, in: query, required: false, schema: {type: string}}
    responses:
      200: {description: "items, total and the count per status"}
    """
    filters = _filters(request)
    await _allowed(request, filters.get("request_id"))
    return JSONResponse(await call(request, "notify", "message_list", filters, PAGE, 0))


async def api_change_template(request: Request) -> JSONResponse:
    """
    summary: Set a new version of one template's text (administrators)
    requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/ChangeTemplate"}}}}
    responses:
      201: {description: the template's new version}
      422: {description: an unknown value in the text (invalid_template)}
    """
    admin = require_staff(request, "admin")
    body = await payload(request, ChangeTemplate, admin=admin.account_id)
    return JSONResponse(await call(request, "notify", "change_template", body), status_code=201)


routes: list[BaseRoute] = [
    Route("/notify/messages", message_list, methods=["GET"], include_in_schema=False),
    Route("/notify/requests/{request_id}", request_messages, methods=["GET"], include_in_schema=False),
    Route("/notify/templates", templates_page, methods=["GET", "POST"], include_in_schema=False),
    Route("/api/notify/messages", api_messages, methods=["GET"]),
    Route("/api/notify/templates", api_change_template, methods=["POST"]),
]
schemas: dict[str, type[BaseModel]] = {"ChangeTemplate": ChangeTemplate}

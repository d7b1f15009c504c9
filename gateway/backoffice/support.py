"""The back office's «پشتیبانی» folder: citizens' support tickets with their deadline (an answer
is due within `SUPPORT_ANSWER_DAYS` working days of the citizen's unanswered message; a late one
is marked «دیرکرد»), each ticket's thread, support's answer (the citizen is told by SMS) and
closing. Desk officers (مسئول میز خدمت) and administrators work the folder.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts import normalise
from contracts.errors import MESSAGES
from contracts.support import TICKET_STATUSES
from gateway.common import ApiError, call, form_data
from gateway.web.auth import Principal, require_staff
from gateway.web.templates import render

SUPPORT_ROLES = ("admin", "desk_officer")
"""Who sees the support folder: administrators and desk officers (مسئول میز خدمت)."""
FOLDERS = {
    "open": "در انتظار پاسخ",
    "answered": "پاسخ داده شده",
    "closed": "بسته شده",
    "all": "همه تیکت‌ها",
}
KEPT_ERRORS = ("invalid_input", "ticket_closed", "conflict")


async def folder(request: Request) -> Response:
    """The support folder's tab (waiting for an answer first, the longest waiting on top)."""
    require_staff(request, *SUPPORT_ROLES)
    chosen = request.query_params.get("folder", "open")
    view = await call(request, "requests", "support_folder", chosen if chosen in FOLDERS else "open")
    context = {"view": view, "folders": FOLDERS, "statuses": TICKET_STATUSES}
    return render(request, "support/folder.html", context)


async def _page(request: Request, values: dict[str, str] | None = None, error: str | None = None) -> Response:
    view = await call(request, "requests", "ticket", request.path_params["ticket_id"])
    notices = {"answered": "پاسخ ثبت شد و با پیامک به شهروند اطلاع داده می‌شود.", "closed": "تیکت بسته شد."}
    notice = next((text for key, text in notices.items() if request.query_params.get(key)), None)
    context = {"t": view, "statuses": TICKET_STATUSES, "values": values or {}, "error": error}
    return render(request, "support/ticket.html", context | {"notice": notice}, 422 if error else 200)


async def ticket(request: Request) -> Response:
    """One ticket: the thread, its deadline, the answer form and closing."""
    require_staff(request, *SUPPORT_ROLES)
    return await _page(request)


def _refused(error: ApiError) -> str:
    if error.code not in KEPT_ERRORS:
        raise error
    return MESSAGES[error.code][1]


def _staff(user: Principal) -> dict[str, str]:
    return {"staff_id": user.account_id, "staff_name": user.display_name}


async def answer(request: Request) -> Response:
    """Support answers the ticket; the citizen is told by SMS."""
    user = require_staff(request, *SUPPORT_ROLES)
    ticket_id = request.path_params["ticket_id"]
    fields = await form_data(request)
    values = {"text": normalise.without_refused(fields.get("text", ""))}
    problem = normalise.refused({"text": fields.get("text", "")})
    if problem is not None:
        return await _page(request, values, problem.sentence())
    text = normalise.text(values["text"], "text")
    if not text or len(text) > 4000:
        return await _page(request, values, "متن پاسخ را بنویسید (حداکثر ۴۰۰۰ حرف).")
    try:
        await call(
            request, "requests", "answer_ticket", {"ticket_id": ticket_id, "text": text, **_staff(user)}
        )
    except ApiError as error:
        return await _page(request, values, _refused(error))
    return RedirectResponse(f"/support/{ticket_id}?answered=1", status_code=303)


async def close(request: Request) -> Response:
    """Support closes the ticket."""
    user = require_staff(request, *SUPPORT_ROLES)
    ticket_id = request.path_params["ticket_id"]
    await form_data(request)
    body = {
        "ticket_id": ticket_id,
        "by": "staff",
        "actor_id": user.account_id,
        "actor_name": user.display_name,
    }
    try:
        await call(request, "requests", "close_ticket", body)
    except ApiError as error:
        return await _page(request, {}, _refused(error))
    return RedirectResponse(f"/support/{ticket_id}?closed=1", status_code=303)


async def ticket_file(request: Request) -> Response:
    """A file the citizen attached to a ticket."""
    require_staff(request, *SUPPORT_ROLES)
    params = request.path_params
    found = await call(request, "requests", "ticket_file", params["ticket_id"], params["attachment_id"])
    disposition = f"attachment; filename*=UTF-8''{quote(found['name'], safe='')}"
    return Response(
        base64.b64decode(found["content_base64"]),
        media_type=found["media_type"],
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


def _routes() -> list[BaseRoute]:
    pages: list[tuple[str, Any, str]] = [
        ("/support", folder, "GET"),
        ("/support/{ticket_id:str}", ticket, "GET"),
        ("/support/{ticket_id:str}/answer", answer, "POST"),
        ("/support/{ticket_id:str}/close", close, "POST"),
        ("/support/{ticket_id:str}/files/{attachment_id:str}", ticket_file, "GET"),
    ]
    return [
        Route(path, endpoint, methods=[method], include_in_schema=False) for path, endpoint, method in pages
    ]


routes = _routes()
schemas: dict[str, type[BaseModel]] = {}

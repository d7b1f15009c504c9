"""The citizen's support tickets in the میز کار (seed 001): «ثبت تیکت» (a subject, a text, an
optional file) and «تیکت‌های من» (the list, each ticket's thread of questions and answers, a
reply, closing it). A refused form comes back with what was typed; the file, which a browser
cannot be given back, is named as not kept. The JSON API offers the same to other clients.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts import normalise
from contracts.errors import MESSAGES
from contracts.requests import MAX_UPLOAD_BYTES
from contracts.support import TICKET_STATUSES
from gateway.common import ApiError, call, form_data, payload
from gateway.web.auth import Principal, require_citizen
from gateway.web.templates import render
from infra.attachments import clean_file_name

KEPT_ERRORS = ("invalid_input", "ticket_closed", "conflict")
"""Refusals a form answers on its own page, with what was typed."""
FILE_NOT_KEPT = "فایل انتخاب‌شده نگه داشته نشد؛ در صورت نیاز آن را دوباره انتخاب کنید."


def _fields_refused(values: dict[str, str], *, subject: bool) -> dict[str, str]:
    """Persian messages for fields typed wrong (a subject of 2 to 200 characters, a text of 1
    to 4000), before the service is asked."""
    errors: dict[str, str] = {}
    if subject:
        typed = normalise.text(values.get("subject", ""), "subject")
        if len(typed) < 2:
            errors["subject"] = "موضوع تیکت را بنویسید (دست‌کم ۲ حرف)."
        elif len(typed) > 200:
            errors["subject"] = "موضوع تیکت نباید بیش از ۲۰۰ حرف باشد."
    text = normalise.text(values.get("text", ""), "text")
    if not text:
        errors["text"] = "متن تیکت را بنویسید."
    elif len(text) > 4000:
        errors["text"] = "متن تیکت نباید بیش از ۴۰۰۰ حرف باشد."
    return errors


async def _upload(request: Request) -> tuple[dict[str, str], str | None]:
    """The chosen file as the service's fields (none when no file was chosen), or the Persian
    reason it was refused here (too large to send)."""
    upload = (await request.form()).get("file")  # parsed once by form_data, CSRF checked there
    if not (isinstance(upload, UploadFile) and upload.filename):
        return {}, None
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return {}, f"حجم فایل «{upload.filename}» بیش از حد مجاز است."
    if not data:
        return {}, f"فایل «{upload.filename}» خالی است."
    return {
        "file_name": clean_file_name(upload.filename),
        "file_base64": base64.b64encode(data).decode(),
    }, None


def _shown(error: ApiError) -> str:
    """The Persian sentence of a refusal: an attachment's own (naming the file), else its code's."""
    if error.code.startswith("attachment_") and error.detail:
        return error.detail
    return MESSAGES[error.code][1]


def _refusable(error: ApiError) -> bool:
    return error.code in KEPT_ERRORS or error.code.startswith("attachment_")


# -- pages -----------------------------------------------------------------------------------


async def my_tickets(request: Request) -> Response:
    """تیکت‌های من: the citizen's tickets, the newest change first."""
    user = require_citizen(request)
    items = await call(request, "requests", "my_tickets", user.account_id)
    return render(request, "support/list.html", {"items": items, "statuses": TICKET_STATUSES})


def _new_page(
    request: Request, values: dict[str, str], errors: dict[str, str], error: str | None
) -> Response:
    context = {"values": values, "errors": errors, "error": error}
    return render(request, "support/new.html", context, 422 if (errors or error) else 200)


async def new_ticket(request: Request) -> Response:
    """ثبت تیکت: the form."""
    require_citizen(request)
    return _new_page(request, {}, {}, None)


async def open_ticket(request: Request) -> Response:
    """ثبت تیکت: send the question; the ticket's page follows."""
    user = require_citizen(request)
    fields = await form_data(request)
    values = {name: normalise.without_refused(fields.get(name, "")) for name in ("subject", "text")}
    problem = normalise.refused({"subject": fields.get("subject", ""), "text": fields.get("text", "")})
    if problem is not None:
        return _new_page(request, values, {}, problem.sentence())
    errors = _fields_refused(values, subject=True)
    file, refused = await _upload(request)
    if errors or refused:
        return _new_page(request, values, errors, refused or _with_file_note("", file))
    body = {"account_id": user.account_id, "full_name": user.display_name, **values, **file}
    try:
        opened = await call(request, "requests", "open_ticket", body)
    except ApiError as error:
        if not _refusable(error):
            raise
        return _new_page(request, values, {}, _with_file_note(_shown(error), file))
    return RedirectResponse(f"/support/{opened['ticket_id']}?opened=1", status_code=303)


def _with_file_note(sentence: str, file: dict[str, str]) -> str | None:
    """`sentence`, saying too that a chosen file must be chosen again (None: nothing to say)."""
    if file:
        return f"{sentence} {FILE_NOT_KEPT}".strip()
    return sentence or None


async def _ticket_page(
    request: Request, user: Principal, values: dict[str, str] | None = None, error: str | None = None
) -> Response:
    view = await call(request, "requests", "ticket", request.path_params["ticket_id"], user.account_id)
    notices = {"opened": "تیکت شما ثبت شد.", "replied": "پیام شما ثبت شد.", "closed": "تیکت بسته شد."}
    notice = next((text for key, text in notices.items() if request.query_params.get(key)), None)
    context = {
        "t": view,
        "statuses": TICKET_STATUSES,
        "values": values or {},
        "error": error,
        "notice": notice,
    }
    return render(request, "support/ticket.html", context, 422 if error else 200)


async def ticket(request: Request) -> Response:
    """One ticket: what was asked, support's answers, the citizen's replies; a reply and closing
    while it is open."""
    user = require_citizen(request)
    return await _ticket_page(request, user)


async def reply(request: Request) -> Response:
    """The citizen writes again on their ticket."""
    user = require_citizen(request)
    ticket_id = request.path_params["ticket_id"]
    fields = await form_data(request)
    values = {"text": normalise.without_refused(fields.get("text", ""))}
    problem = normalise.refused({"text": fields.get("text", "")})
    if problem is not None:
        return await _ticket_page(request, user, values, problem.sentence())
    errors = _fields_refused(values, subject=False)
    file, refused = await _upload(request)
    if errors or refused:
        return await _ticket_page(request, user, values, refused or _with_file_note(errors["text"], file))
    body = {"ticket_id": ticket_id, "account_id": user.account_id, **values, **file}
    try:
        await call(request, "requests", "follow_up_ticket", body)
    except ApiError as error:
        if not _refusable(error):
            raise
        return await _ticket_page(request, user, values, _with_file_note(_shown(error), file))
    return RedirectResponse(f"/support/{ticket_id}?replied=1", status_code=303)


async def close(request: Request) -> Response:
    """The citizen closes their ticket."""
    user = require_citizen(request)
    ticket_id = request.path_params["ticket_id"]
    await form_data(request)
    body = {
        "ticket_id": ticket_id,
        "by": "citizen",
        "actor_id": user.account_id,
        "actor_name": user.display_name,
    }
    try:
        await call(request, "requests", "close_ticket", body)
    except ApiError as error:
        if not _refusable(error):
            raise
        return await _ticket_page(request, user, {}, _shown(error))
    return RedirectResponse(f"/support/{ticket_id}?closed=1", status_code=303)


async def ticket_file(request: Request) -> Response:
    """A file of the citizen's own ticket."""
    user = require_citizen(request)
    params = request.path_params
    found = await call(
        request, "requests", "ticket_file", params["ticket_id"], params["attachment_id"], user.account_id
    )
    disposition = f"attachment; filename*=UTF-8''{quote(found['name'], safe='')}"
    return Response(
        base64.b64decode(found["content_base64"]),
        media_type=found["media_type"],
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


# -- JSON API --------------------------------------------------------------------------------


class NewTicket(BaseModel):
    """A support ticket sent through the API (the file, if any, as base64)."""

    subject: str = Field(min_length=2, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    file_name: str | None = Field(default=None, min_length=1, max_length=200)
    file_base64: str | None = Field(default=None, max_length=(MAX_UPLOAD_BYTES * 4) // 3 + 8)


async def api_open(request: Request) -> JSONResponse:
    """
    summary: Open a support ticket (ثبت تیکت)
    requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/NewTicket"}}}}
    responses:
      201: {description: "the ticket: ticket_id, number, status"}
      401: {description: not signed in}
      422: {description: "invalid_input, attachment_* (the file refused)"}
    """
    user = require_citizen(request)
    body: dict[str, Any] = await payload(request, NewTicket)
    body.update(account_id=user.account_id, full_name=user.display_name)
    return JSONResponse(await call(request, "requests", "open_ticket", body), status_code=201)


async def api_list(request: Request) -> JSONResponse:
    """
    summary: The signed-in citizen's support tickets (تیکت‌های من)
    responses:
      200: {description: "items: ticket_id, number, subject, status, opened_at, updated_at"}
      401: {description: not signed in}
    """
    user = require_citizen(request)
    return JSONResponse({"items": await call(request, "requests", "my_tickets", user.account_id)})


async def api_ticket(request: Request) -> JSONResponse:
    """
    summary: One of the citizen's tickets with its thread
    parameters:
      - {name: ticket_id, in: path, required: true, schema: {type: string, maxLength: 64}}
    responses:
      200: {description: the ticket and its messages}
      404: {description: ticket_not_found}
    """
    user = require_citizen(request)
    return JSONResponse(
        await call(request, "requests", "ticket", request.path_params["ticket_id"], user.account_id)
    )


def _routes() -> list[BaseRoute]:
    pages: list[tuple[str, Any, str]] = [
        ("/support", my_tickets, "GET"),
        ("/support/new", new_ticket, "GET"),
        ("/support/new", open_ticket, "POST"),
        ("/support/{ticket_id:str}", ticket, "GET"),
        ("/support/{ticket_id:str}/reply", reply, "POST"),
        ("/support/{ticket_id:str}/close", close, "POST"),
        ("/support/{ticket_id:str}/files/{attachment_id:str}", ticket_file, "GET"),
    ]
    return [
        *(
            Route(path, endpoint, methods=[method], include_in_schema=False)
            for path, endpoint, method in pages
        ),
        Route("/api/support/tickets", api_open, methods=["POST"]),
        Route("/api/support/tickets", api_list, methods=["GET"]),
        Route("/api/support/tickets/{ticket_id:str}", api_ticket, methods=["GET"]),
    ]


routes = _routes()
schemas: dict[str, type[BaseModel]] = {"NewTicket": NewTicket}

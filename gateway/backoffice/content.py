"""The administrator's pages of the citizens' dashboard (داشبورد شهروندان, seed 003): add, edit,
hide and show again its announcements, downloadable forms and questions and answers.

Every change is an event the requests service writes with the administrator as its actor; the
unit and the service are chosen from the catalogue's lists, never typed. A refused form comes
back with what was typed and a Persian message beside the field it is about.
"""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.content import FILE_TYPES, KINDS, LABELS, field_errors
from contracts.errors import MESSAGES
from contracts.persian import persian_digits
from contracts.requests import MAX_UPLOAD_BYTES
from gateway.common import ApiError, call, form_data
from gateway.web.auth import require_staff
from gateway.web.templates import render
from infra.attachments import clean_file_name

KIND_NAMES = {
    "announcement": "اطلاعیه (بسته اطلاع رسانی)",
    "form": "فرم مورد نیاز خدمت",
    "faq": "پرسش و پاسخ",
}
TYPED = ("item_id", "kind", "title", "text", "date", "expires_on", "unit_id", "service_id", "remove_file")
FIELD_OF_CODE = {
    "unknown_unit": "unit_id",
    "content_service_mismatch": "service_id",
    "content_file_required": "file",
}
MAX_BODY = 2 * MAX_UPLOAD_BYTES
MAX_FILE_SHOWN = persian_digits(str(MAX_UPLOAD_BYTES // 1024))


async def index(request: Request) -> Response:
    """Every item of the dashboard, hidden and expired ones too, by kind."""
    require_staff(request, "admin")
    found = await call(request, "requests", "content_items")
    by_kind = {kind: [i for i in found if i["kind"] == kind] for kind in KINDS}
    return render(request, "content/index.html", {"by_kind": by_kind, "kind_names": KIND_NAMES})


async def _form(
    request: Request,
    fields: dict[str, str],
    errors: dict[str, str] | None = None,
    error: str | None = None,
    current_file: dict[str, Any] | None = None,
) -> Response:
    units = await call(request, "requests", "catalogue")
    context = {
        "fields": fields,
        "errors": errors or {},
        "error": error,
        "units": units,
        "labels": LABELS.get(fields.get("kind", ""), LABELS["announcement"]),
        "kind_name": KIND_NAMES.get(fields.get("kind", ""), ""),
        "file_types": "، ".join(FILE_TYPES),
        "max_file": MAX_FILE_SHOWN,
        "current_file": current_file,
    }
    return render(request, "content/form.html", context, 422 if error else 200)


async def new_item(request: Request) -> Response:
    """An empty form of the kind asked for."""
    require_staff(request, "admin")
    kind = request.query_params.get("kind", "announcement")
    return await _form(request, {"kind": kind if kind in KINDS else "announcement"})


async def edit_item(request: Request) -> Response:
    """The form of an item, filled with what it says now."""
    require_staff(request, "admin")
    found = await call(request, "requests", "content_item", request.path_params["item_id"])
    fields = {
        "item_id": found["item_id"],
        "kind": found["kind"],
        "title": found["title"],
        "text": found["body"],
        "date": persian_digits(found["date"]) if found["kind"] == "announcement" else "",
        "expires_on": persian_digits(found["expires"]),
        "unit_id": found["unit_id"],
        "service_id": found["service_id"],
    }
    return await _form(request, fields, current_file=found["file"])


async def save(request: Request) -> Response:
    """Add or edit the item typed in the form; back to the list once it is recorded."""
    admin = require_staff(request, "admin")
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise ApiError("attachment_too_large", "request body too large")
    fields = await form_data(request)
    typed = {key: fields.get(key, "").strip() for key in TYPED}
    kind = typed["kind"] if typed["kind"] in KINDS else "announcement"
    typed["kind"] = kind
    current = None
    if typed["item_id"]:
        current = (await call(request, "requests", "content_item", typed["item_id"]))["file"]
    errors = field_errors(kind, typed)
    if errors:
        return await _form(request, typed, errors, MESSAGES["content_invalid"][1], current)
    body: dict[str, Any] = {
        key: typed[key]
        for key in ("kind", "item_id", "title", "text", "date", "expires_on", "unit_id", "service_id")
    }
    body.update(admin=admin.account_id, remove_file=typed["remove_file"] == "on")
    upload = (await request.form()).get("file")  # parsed once by form_data, CSRF checked there
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            message = f"حجم فایل «{upload.filename}» نباید بیشتر از {MAX_FILE_SHOWN} کیلوبایت باشد."
            return await _form(request, typed, {"file": message}, message, current)
        body.update(file_name=clean_file_name(upload.filename), file_base64=base64.b64encode(data).decode())
    try:
        await call(request, "requests", "save_content", body)
    except ApiError as refusal:
        field, message = _placed(refusal)
        return await _form(request, typed, {field: message}, message, current)
    return RedirectResponse(f"/content?saved={kind}", status_code=303)


def _placed(refusal: ApiError) -> tuple[str, str]:
    """The field a refusal is about and the Persian sentence to show beside it."""
    if refusal.code == "content_invalid" and refusal.detail and ": " in refusal.detail:
        field, _, message = refusal.detail.partition(": ")
        return field, message
    if refusal.code.startswith("attachment_"):
        return "file", refusal.detail or MESSAGES[refusal.code][1]
    return FIELD_OF_CODE.get(refusal.code, "title"), MESSAGES.get(refusal.code, MESSAGES["invalid_input"])[1]


async def hide(request: Request) -> Response:
    """Take an item off the dashboard (`hidden=1`) or put it back (`hidden=0`)."""
    admin = require_staff(request, "admin")
    fields = await form_data(request)
    hidden = fields.get("hidden", "1") == "1"
    body = {"admin": admin.account_id, "item_id": request.path_params["item_id"], "hidden": hidden}
    await call(request, "requests", "hide_content", body)
    return RedirectResponse(f"/content?{'hidden' if hidden else 'shown'}=1", status_code=303)


routes: list[BaseRoute] = [
    Route("/content", index, methods=["GET"], include_in_schema=False),
    Route("/content", save, methods=["POST"], include_in_schema=False),
    Route("/content/new", new_item, methods=["GET"], include_in_schema=False),
    Route("/content/{item_id:str}/edit", edit_item, methods=["GET"], include_in_schema=False),
    Route("/content/{item_id:str}/hide", hide, methods=["POST"], include_in_schema=False),
]
schemas: dict[str, type[BaseModel]] = {}

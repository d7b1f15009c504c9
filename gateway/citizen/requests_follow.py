"""The citizen's pages for following requests: the cartable, one request with its timeline,
replies and history, the printable reply, correction and resubmission, and public tracking.

Public tracking sends the client's address with each look-up: the requests service counts the
failed ones per address, shared by every gateway process, and once `TRACK_ATTEMPTS` (default 20
per 600 seconds) is reached answers `track_limited` (see `services.requests.lookups`), so
tracking codes cannot be enumerated. The page then shows identity's captcha instead of refusing
(many citizens may share one address): a look-up whose captcha identity says was solved is sent
with `captcha_passed`, and goes through; its failures still count.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts import normalise
from contracts.catalogue import PROVINCES
from contracts.errors import MESSAGES
from contracts.requests import MAX_UPLOAD_BYTES
from gateway.citizen import cartable_rows
from gateway.citizen.requests_labels import FOLDERS, HISTORY, STATUS, timeline
from gateway.common import ApiError, call, form_data
from gateway.web.auth import require_citizen
from gateway.web.signin import Captcha, captcha_answer, captcha_for, client_address
from gateway.web.templates import render
from infra.attachments import clean_file_name

LABELS = {"status": STATUS, "history": HISTORY, "folders": FOLDERS, "provinces": PROVINCES}


async def cartable(request: Request) -> Response:
    """The citizen's cartable: awaiting action / in progress / done."""
    user = require_citizen(request)
    folder = request.query_params.get("folder", "progress")
    if folder not in FOLDERS:
        folder = "progress"
    view = await call(request, "requests", "cartable", user.account_id, folder)
    extra = await cartable_rows.columns(request, user.account_id, view)  # seed 004's columns
    return render(request, "requests/cartable.html", {"view": view, **extra, **LABELS})


async def detail(
    request: Request, error: str | None = None, status: int = 200, typed: dict[str, Any] | None = None
) -> Response:
    """One request: what was filed, its status, the workflow as a timeline, replies, history;
    after a refused correction, the correction form holds what was `typed`."""
    user = require_citizen(request)
    view = await call(
        request, "requests", "request_detail", user.account_id, request.path_params["request_id"]
    )
    context = {"r": view, "steps": timeline(view["history"]), "error": error, "typed": typed, **LABELS}
    return render(request, "requests/detail.html", context, status)


def _file_note(upload: Any) -> str | None:
    """A correction is one command with no draft to keep a file on: a refused correction keeps
    no file it carried, and the page says so plainly."""
    if not (isinstance(upload, UploadFile) and upload.filename):
        return None
    name = clean_file_name(upload.filename)
    return f"فایل «{name}» نگه داشته نشد؛ در صورت نیاز آن را دوباره انتخاب کنید."


async def reply(request: Request) -> Response:
    """One reply, printable as seed 003 shows it."""
    user = require_citizen(request)
    view = await call(
        request, "requests", "request_detail", user.account_id, request.path_params["request_id"]
    )
    found = next((r for r in view["replies"] if r["reply_id"] == request.path_params["reply_id"]), None)
    if found is None:
        raise ApiError("request_not_found")
    return render(request, "requests/reply.html", {"r": view, "reply": found, **LABELS})


async def resubmit(request: Request) -> Response:
    """The citizen corrected a returned request and sends it again."""
    user = require_citizen(request)
    fields = await form_data(request)
    body: dict[str, Any] = {
        "request_id": request.path_params["request_id"],
        "account_id": user.account_id,
        "subject": fields.get("subject", ""),
        "text": fields.get("text", ""),
        "remove_attachments": [
            key[7:] for key, value in fields.items() if key.startswith("remove_") and value
        ],
    }
    upload = (await request.form()).get("file")  # parsed once by form_data, CSRF checked there
    typed = {**body, "file_note": _file_note(upload)}
    problem = normalise.refused(body)
    if problem is not None:
        cleaned = {k: normalise.without_refused(body[k]) for k in ("subject", "text")}
        return await detail(request, problem.sentence(), 422, {**typed, **cleaned})
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            message = f"حجم فایل «{clean_file_name(upload.filename)}» بیش از حد مجاز است."
            return await detail(request, message, 422, typed)
        body.update(file_name=clean_file_name(upload.filename), file_base64=base64.b64encode(data).decode())
    try:
        await call(request, "requests", "resubmit", body)
    except ApiError as error:
        if error.code not in ("invalid_input", "not_returned", "conflict") and not error.code.startswith(
            "attachment_"
        ):
            raise
        shown = (
            error.detail if error.code.startswith("attachment_") and error.detail else MESSAGES[error.code][1]
        )
        return await detail(request, shown, 422, typed)
    return RedirectResponse(f"/requests/{body['request_id']}?resubmitted=1", status_code=303)


async def attachment(request: Request) -> Response:
    """A file of the citizen's own request."""
    user = require_citizen(request)
    params = request.path_params
    found = await call(
        request, "requests", "attachment", params["request_id"], user.account_id, params["attachment_id"]
    )
    disposition = f"attachment; filename*=UTF-8''{quote(found['name'], safe='')}"
    return Response(
        base64.b64decode(found["content_base64"]),
        media_type=found["media_type"],
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


async def _track_captcha(request: Request, needed: bool | None = True) -> Captcha | None:
    """A new captcha for the tracking form when `needed` (None: when the requests service says
    this address used up its failed look-ups)."""
    if needed is None:
        needed = await call(request, "requests", "track_captcha_needed", client_address(request))
    return await captcha_for(request, "track", force=True) if needed else None


async def track_page(request: Request) -> Response:
    """The public tracking form, with a captcha once this address used up its failed look-ups."""
    captcha = await _track_captcha(request, None)
    return render(request, "requests/track.html", {"form": {}, "captcha": captcha, **LABELS})


async def _captcha_passed(request: Request, fields: dict[str, str]) -> bool:
    """Whether the form carried a captcha identity says was solved (spending it)."""
    answer = captcha_answer(fields)
    if answer is None:
        return False
    try:
        await call(request, "identity", "check_captcha", {"captcha": answer})
    except ApiError as error:
        if error.code not in ("captcha_required", "invalid_input"):
            raise
        return False
    return True


async def track(request: Request) -> Response:
    """Status and steps by tracking code and mobile or national code; nothing personal. Past the
    address's failed look-ups, the form asks for a captcha and keeps what was typed."""
    fields = await form_data(request)
    form = {
        "tracking_code": fields.get("tracking_code", ""),
        "second_factor": fields.get("second_factor", ""),
    }
    try:
        view = await call(
            request,
            "requests",
            "public_track",
            form["tracking_code"],
            form["second_factor"],
            client=client_address(request),
            captcha_passed=await _captcha_passed(request, fields),
        )
    except ApiError as error:
        if error.code not in ("request_not_found", "invalid_tracking_code", "track_limited", "invalid_input"):
            raise
        code = "captcha_required" if error.code == "track_limited" else error.code
        captcha = await _track_captcha(request, True if code == "captcha_required" else None)
        context = {"form": form, "error": MESSAGES[code][1], "captcha": captcha, **LABELS}
        return render(request, "requests/track.html", context, MESSAGES[code][0])
    context = {"form": form, "found": view, "steps": timeline(view["history"]), **LABELS}
    return render(request, "requests/track.html", context)


def _routes() -> list[BaseRoute]:
    pages: list[tuple[str, Any, str]] = [
        ("/cartable", cartable, "GET"),
        ("/requests/{request_id:str}", detail, "GET"),
        ("/requests/{request_id:str}/replies/{reply_id:str}", reply, "GET"),
        ("/requests/{request_id:str}/resubmit", resubmit, "POST"),
        ("/requests/{request_id:str}/attachments/{attachment_id:str}", attachment, "GET"),
        ("/track", track_page, "GET"),
        ("/track", track, "POST"),
    ]
    return [
        Route(path, endpoint, methods=[method], include_in_schema=False) for path, endpoint, method in pages
    ]


routes = _routes()

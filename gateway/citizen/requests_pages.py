"""The citizen's pages for filing requests: the catalogue (the home page), each service's card
with its consent box, the six-step wizard and the letter forms, and the service receipt.

Uploads travel to the requests service as base64 inside the RPC payload: the service that owns
each service's attachment rules checks the file's real type and size and stores it, so the
gateway stays stateless and needs no access to the attachment folder. The largest file any
rule allows is 1 MB, which keeps the message small.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import jdatetime
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts import normalise
from contracts.catalogue import PROVINCES
from contracts.errors import MESSAGES
from contracts.requests import MAX_UPLOAD_BYTES
from gateway.citizen import requests_follow
from gateway.citizen.requests_labels import PREVIOUS_RESULTS, WIZARD_STEPS, sms_status
from gateway.citizen.visit_calendar import WEEKDAYS, month_grid
from gateway.common import ApiError, call, form_data
from gateway.web.auth import Principal, require_citizen
from gateway.web.templates import render
from infra.attachments import clean_file_name

CONTROL_FIELDS = {"csrf_token", "step", "action", "file", "captcha", "captcha_token"}
MAX_BODY = 16 * MAX_UPLOAD_BYTES
"""The largest form read at all: a phone's photo several times any rule's limit is still read
(its file spooled to disk), so the page can refuse the file and keep what was typed."""


async def home(request: Request) -> Response:
    """The catalogue: units and their services (the citizen's entry point)."""
    units = await call(request, "requests", "catalogue")
    return render(request, "requests/catalogue.html", {"units": units})


async def service_card(request: Request) -> Response:
    """One service's card (شناسنامه خدمت) and the consent box."""
    card = await call(request, "requests", "service_card", request.path_params["service_id"])
    return render(request, "requests/service.html", {"card": card})


async def start(request: Request) -> Response:
    """Consent ticked: a new draft, then its first page."""
    user = require_citizen(request)
    fields = await form_data(request)
    service_id = request.path_params["service_id"]
    body = {
        "account_id": user.account_id,
        "service_id": service_id,
        "consent": fields.get("consent") == "yes",
        "assurance_level": user.assurance_level,
        "prefill": await _prefill(request, user),
    }
    try:
        draft = await call(request, "requests", "start_draft", body)
    except ApiError as error:
        if error.code not in ("consent_required", "assurance_too_low", "service_retired"):
            raise
        card = await call(request, "requests", "service_card", service_id)
        return render(request, "requests/service.html", {"card": card, "error": MESSAGES[error.code][1]}, 422)
    return RedirectResponse(f"/drafts/{draft['draft_id']}", status_code=303)


async def _prefill(request: Request, user: Principal) -> dict[str, str]:
    """What the account knows, for a new draft's fields: the person's own name (never the
    company's title with it, as the header shows it), codes, birth date and father's name, and
    a company account's title and شناسه ملی. Without identity's profile, what the session has."""
    known: dict[str, Any] = {"national_code": user.national_code, "mobile": user.mobile}
    try:
        profile = await call(request, "identity", "profile", user.account_id)
    except ApiError:
        return {k: v for k, v in {**known, "full_name": user.display_name}.items() if v}
    registry = profile.get("registry") or {}
    company = profile.get("company") or {}
    known |= {
        "kind": "legal" if profile.get("person_kind") == "legal" and company else "natural",
        "full_name": profile.get("full_name"),
        "birth_date": profile.get("birth_date"),
        "father_name": registry.get("father_name"),
        "address": profile.get("address"),
        "company_name": company.get("company_name"),
        "company_national_id": company.get("national_id"),
    }
    return {k: str(v) for k, v in known.items() if v}


async def _page(request: Request, draft: dict[str, Any], step: int | None = None, **extra: Any) -> Response:
    status = 422 if extra.get("error") or draft.get("errors") else 200
    if draft["form"] == "letter":
        units = [(u["unit_id"], u["name"]) for u in await call(request, "requests", "catalogue")]
        context = {"draft": draft, "provinces": PROVINCES, "units": units, **extra}
        return render(request, "requests/letter.html", context, status)
    shown = step or draft["step"]
    month = extra.pop("calendar_month", None)
    if shown == 5:
        today = jdatetime.date.fromgregorian(date=datetime.now(UTC).date())
        extra["calendar"] = month_grid(month, draft["fields"].get("visit_date", ""), today)
        extra["weekdays"] = WEEKDAYS
    context = {
        "draft": draft,
        "step": shown,
        "steps": WIZARD_STEPS,
        "previous_results": PREVIOUS_RESULTS,
        "provinces": PROVINCES,
        **extra,
    }
    return render(request, "requests/wizard.html", context, status)


async def show_draft(request: Request) -> Response:
    """A draft's current page (a wizard step, or the letter form)."""
    user = require_citizen(request)
    draft_id = request.path_params["draft_id"]
    try:
        draft = await call(request, "requests", "get_draft", draft_id, user.account_id)
    except ApiError as error:
        if error.code != "draft_submitted":
            raise
        return RedirectResponse(f"/requests/{draft_id}/receipt", status_code=303)
    step = request.query_params.get("step", "")
    shown = int(step) if step.isdigit() and 1 <= int(step) <= 6 else None
    return await _page(request, draft, shown)


async def post_draft(request: Request) -> Response:
    """One button of a draft's page: next, back, ثبت موقت, upload, remove, ثبت و ارسال. What was
    typed is saved first, whatever else happens, so nothing is ever lost."""
    user = require_citizen(request)
    draft_id = request.path_params["draft_id"]
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        draft = dict(await call(request, "requests", "get_draft", draft_id, user.account_id))
        return await _page(request, draft, error=TOO_LARGE)
    fields = await form_data(request)
    action = fields.get("action", "save")
    step = int(fields["step"]) if fields.get("step", "").isdigit() else 1
    typed = {k: v for k, v in fields.items() if k not in CONTROL_FIELDS}
    ids = {"draft_id": draft_id, "account_id": user.account_id}
    if (problem := normalise.refused(typed)) is not None:
        return await _refused(request, ids, step, typed, problem)

    async def save(check: str, move: str = "stay") -> dict[str, Any]:
        body = {**ids, "step": step, "fields": typed, "check": check, "move": move}
        return dict(await call(request, "requests", "save_draft", body))

    if action.startswith("pick:"):  # a day of the visit calendar
        typed["visit_date"] = action[5:]
    upload = (await request.form()).get("file")  # parsed once by form_data, CSRF checked there
    if isinstance(upload, UploadFile) and upload.filename:
        draft = await save("none")
        try:
            await _attach(request, ids, upload)
        except ApiError as error:
            if not error.code.startswith("attachment_"):
                raise
            return await _page(request, draft, step, error=error.detail or MESSAGES[error.code][1])
    if action.startswith("remove:"):
        await call(request, "requests", "remove_attachment", {**ids, "attachment_id": action[7:]})
    if action in ("back", "next"):
        draft = await save("none" if action == "back" else "step", action)
        if draft["errors"]:
            return await _page(request, draft)
        return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
    draft = await save("none")
    if action == "submit":
        return await _submit(request, user, draft, step)
    notice = "پیش‌نویس ذخیره شد؛ هر زمان بخواهید می‌توانید آن را از کارتابل خود ادامه دهید."
    month = action[6:] if action.startswith("month:") else None
    return await _page(
        request, draft, step, notice=notice if action == "save" else None, calendar_month=month
    )


TOO_LARGE = (
    "حجم فرم ارسالی بسیار بیش از حد مجاز است و خوانده نشد؛ پیش‌نویس آن‌گونه که آخرین بار ذخیره شده بود"
    " نمایش داده می‌شود. فایلی کوچک‌تر انتخاب کنید."
)


async def _refused(
    request: Request, ids: dict[str, str], step: int, typed: dict[str, str], problem: normalise.RefusedInput
) -> Response:
    """The page again with what was typed (less the refused characters, shown, not saved) and a
    Persian message on the field that held them; the draft keeps what it had."""
    draft = dict(await call(request, "requests", "get_draft", ids["draft_id"], ids["account_id"]))
    shown = {key: normalise.without_refused(value) for key, value in typed.items()}
    message = problem.sentence()
    draft.update(fields={**draft["fields"], **shown}, errors={problem.field: message})
    return await _page(request, draft, step, error=message)


async def _attach(request: Request, ids: dict[str, str], upload: UploadFile) -> dict[str, Any]:
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError("attachment_too_large", f"حجم فایل «{upload.filename}» بیش از حد مجاز است.")
    content = base64.b64encode(data).decode()
    body = {**ids, "name": clean_file_name(upload.filename or ""), "content_base64": content}
    return dict(await call(request, "requests", "add_attachment", body))


async def _submit(request: Request, user: Principal, draft: dict[str, Any], step: int) -> Response:
    ids = {"draft_id": draft["draft_id"], "account_id": user.account_id}
    try:
        done = await call(
            request, "requests", "submit_draft", {**ids, "assurance_level": user.assurance_level}
        )
    except ApiError as error:
        if error.code == "draft_incomplete":
            body = {**ids, "step": step, "fields": {}, "check": "all"}
            checked = await call(request, "requests", "save_draft", body)
            return await _page(request, checked, error=MESSAGES[error.code][1])
        if error.code in ("assurance_too_low", "service_retired"):
            return await _page(request, draft, step, error=MESSAGES[error.code][1])
        raise
    return RedirectResponse(f"/requests/{done['request_id']}/receipt", status_code=303)


async def discard(request: Request) -> Response:
    """Delete a draft."""
    user = require_citizen(request)
    await form_data(request)
    body = {"draft_id": request.path_params["draft_id"], "account_id": user.account_id}
    await call(request, "requests", "discard_draft", body)
    return RedirectResponse("/cartable?folder=awaiting", status_code=303)


async def receipt(request: Request) -> Response:
    """The printable service receipt (رسید خدمت), with the confirmation SMS's status."""
    user = require_citizen(request)
    request_id = request.path_params["request_id"]
    view = await call(request, "requests", "receipt", request_id, user.account_id)
    messages = await call(request, "notify", "messages", request_id)
    context = {
        "r": view,
        "sms": sms_status(messages, view["submitted_at"]),
        "provinces": PROVINCES,
        "previous_results": PREVIOUS_RESULTS,
    }
    return render(request, "requests/receipt.html", context)


async def printable_form(request: Request) -> Response:
    """A downloadable form a service asks the citizen to fill in and attach."""
    return render(request, "requests/form_dehyari.html")


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"], include_in_schema=False),
    Route("/services/{service_id:str}", service_card, methods=["GET"], include_in_schema=False),
    Route("/services/{service_id:str}/start", start, methods=["POST"], include_in_schema=False),
    Route("/drafts/{draft_id:str}", show_draft, methods=["GET"], include_in_schema=False),
    Route("/drafts/{draft_id:str}", post_draft, methods=["POST"], include_in_schema=False),
    Route("/drafts/{draft_id:str}/discard", discard, methods=["POST"], include_in_schema=False),
    Route("/requests/{request_id:str}/receipt", receipt, methods=["GET"], include_in_schema=False),
    Route("/forms/dehyari-tasis", printable_form, methods=["GET"], include_in_schema=False),
    *requests_follow.routes,
]
schemas: dict[str, type[BaseModel]] = {}

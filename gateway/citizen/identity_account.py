"""The signed-in citizen's own pages: میز کار (profile and assurance level), edit profile, change
password and mobile, Shahkar and registry checks, and identity verification (seed 004)."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.catalogue import PROVINCES
from contracts.identity import ASSURANCE_LEVELS, may_file
from gateway.common import ApiError, call, form_data
from gateway.rpc import ServiceUnavailable
from gateway.web.auth import Principal, renew_stamp, require_citizen
from gateway.web.signin import (
    NEW_PASSWORD,
    PASS_THROUGH,
    client_address,
    field_errors,
    message,
    without_secrets,
)
from gateway.web.templates import render
from infra.attachments import clean_file_name

SCANS = ("national_card", "birth_certificate", "power_of_attorney")
MAX_SCAN = 6_000_000  # what UploadedFile.content_base64 can carry; the service's own limit is lower


async def _profile(request: Request, user: Principal) -> dict[str, Any]:
    """The profile. The session needs no refreshing: its assurance level is read afresh on every
    request (an approval grants access at once, without signing in again)."""
    view: dict[str, Any] = await call(request, "identity", "profile", user.account_id)
    return view


def _page(request: Request, name: str, view: dict[str, Any], **context: Any) -> Response:
    context.setdefault("notice", request.session.pop("identity_notice", None))
    context.setdefault("error", request.session.pop("identity_error", None))
    status = context.pop("status_code", 200)
    values = context.pop("values", {})
    return render(
        request,
        f"identity/{name}",
        {"account": view, "levels": ASSURANCE_LEVELS, "values": values, "provinces": PROVINCES, **context},
        status_code=status,
    )


def _refused(request: Request, name: str, view: dict[str, Any], error: ApiError, **context: Any) -> Response:
    if error.code in PASS_THROUGH:
        raise error
    context["values"] = without_secrets(context.get("values") or {})
    form = NEW_PASSWORD if name == "password.html" else None
    return _page(
        request,
        name,
        view,
        error=message(error),
        field_errors=field_errors(error, form),
        status_code=422,
        **context,
    )


def _done(request: Request, notice: str, where: str = "/account") -> Response:
    request.session["identity_notice"] = notice
    return RedirectResponse(where, status_code=303)


def _failed(request: Request, error: ApiError, where: str = "/account") -> Response:
    """A refusal shown on the page it sends back to, in the red error box (never as a notice)."""
    if error.code in PASS_THROUGH:
        raise error
    request.session["identity_error"] = message(error)
    return RedirectResponse(where, status_code=303)


async def account(request: Request) -> Response:
    """میز کار: the level, and what it allows, service by service, by the same rule the requests
    service applies when a request is filed (`contracts.identity.may_file` on each card's level)."""
    user = require_citizen(request)
    view = await _profile(request, user)
    services = await _services_for(request, view["assurance_level"])
    typed = request.session.pop("identity_typed", None) or {}
    errors = request.session.pop("identity_field_errors", None) or {}
    return _page(request, "account.html", view, services=services, values=typed, field_errors=errors)


async def _services_for(request: Request, level: int) -> list[dict[str, Any]] | None:
    """Every service of the catalogue with the level its card asks and whether `level` may file it
    (none while the catalogue does not answer: the page says so instead of failing)."""
    try:
        units = await call(request, "requests", "catalogue")
    except ServiceUnavailable:
        return None
    return [
        {
            "service_id": service["service_id"],
            "name": service["name"],
            "unit": unit["name"],
            "required": service.get("required_assurance_level", 0),
            "allowed": may_file(level, service.get("required_assurance_level", 0)),
        }
        for unit in units
        for service in unit["services"]
    ]


async def edit(request: Request) -> Response:
    user = require_citizen(request)
    view = await _profile(request, user)
    if request.method == "GET":
        company = view.get("company") or {}
        values = {**view, **company, "kind": view["person_kind"]}
        return _page(request, "edit.html", view, values=values)
    fields = await form_data(request)
    body: dict[str, Any] = {
        "account_id": user.account_id,
        **{k: fields.get(k) or None for k in ("email", "address", "landline", "first_name", "last_name")},
    }
    if fields.get("kind") == "legal":
        body["company"] = {k: fields.get(k, "") for k in ("company_name", "national_id", "economic_code")}
        body["company"]["capacity"] = fields.get("capacity", "owner")
    try:
        await call(request, "identity", "update_profile", body)
    except ApiError as error:
        return _refused(request, "edit.html", view, error, values=fields)
    return _done(request, "اطلاعات شخصی شما ذخیره شد.")


async def password(request: Request) -> Response:
    user = require_citizen(request)
    view = await _profile(request, user)
    if request.method == "GET":
        return _page(request, "password.html", view)
    fields = await form_data(request)
    if fields.get("new_password") != fields.get("new_password2"):
        return _refused(request, "password.html", view, ApiError("passwords_differ"))
    body = {
        "account_id": user.account_id,
        "current_password": fields.get("current_password", ""),
        "new_password": fields.get("new_password", ""),
        "client": client_address(request),
    }
    try:
        await call(request, "identity", "change_password", body)
    except ApiError as error:
        return _refused(request, "password.html", view, error)
    await renew_stamp(request)  # this session goes on; every other one ends
    return _done(request, "کلمه عبور شما تغییر کرد.")


async def mobile(request: Request) -> Response:
    """Change the mobile: a code to the new number, typed on the same page."""
    user = require_citizen(request)
    view = await _profile(request, user)
    ticket = request.session.get("identity_mobile_ticket")
    if request.method == "GET":
        return _page(request, "mobile.html", view, ticket=ticket)
    fields = await form_data(request)
    try:
        if fields.get("action") == "verify" and ticket:
            body = {"ticket": ticket, "code": fields.get("code", ""), "client": client_address(request)}
            await call(request, "identity", "finish_mobile_change", body, user.account_id)
            request.session.pop("identity_mobile_ticket", None)
            return _done(request, "شماره تلفن همراه شما تغییر کرد.")
        body = {
            "account_id": user.account_id,
            "mobile": fields.get("mobile", ""),
            "client": client_address(request),
        }
        result = await call(request, "identity", "start_mobile_change", body)
    except ApiError as error:
        return _refused(request, "mobile.html", view, error, ticket=ticket, values=fields)
    request.session["identity_mobile_ticket"] = result["ticket"]
    sent = (
        "کد تایید به شماره تازه ارسال شد."
        if result["sms_sent"]
        else "ارسال پیامک اکنون ممکن نشد؛ دوباره بفرستید."
    )
    return _page(request, "mobile.html", view, ticket=result["ticket"], notice=sent, values=fields)


async def shahkar(request: Request) -> Response:
    user = require_citizen(request)
    await form_data(request)
    try:
        await call(request, "identity", "check_shahkar", user.account_id)
    except ApiError as error:
        return _failed(request, error)
    return _done(request, "تطبیق کد ملی و شماره موبایل انجام شد.")


async def registry(request: Request) -> Response:
    user = require_citizen(request)
    fields = await form_data(request)
    body = {
        "account_id": user.account_id,
        "birth_date": fields.get("birth_date", ""),
        "client": client_address(request),
    }
    try:
        await call(request, "identity", "verify_registry", body)
    except ApiError as error:
        if error.code in PASS_THROUGH:
            raise
        # The birth date typed comes back with the page (the account's own is shown otherwise).
        request.session["identity_typed"] = {"birth_date": body["birth_date"][:20]}
        request.session["identity_field_errors"] = field_errors(error)
        return _failed(request, error)
    return _done(request, "احراز هویت ثبت احوال انجام شد.")


SCAN_LABELS = {
    "national_card": "تصویر کارت ملی",
    "birth_certificate": "تصویر شناسنامه",
    "power_of_attorney": "اسکن وکالت‌نامه",
}


def _form_values(view: dict[str, Any]) -> dict[str, Any]:
    """What the verification form starts with: the «ثبت موقت» kept, else the last round's
    province and the registry's father's name."""
    case = view["verification"] or {}
    draft = case.get("draft")
    if draft:
        return {k: draft.get(k) or "" for k in ("father_name", "note", "province")}
    last = case.get("last_submission") or {}
    return {
        "father_name": last.get("father_name") or (view.get("registry") or {}).get("father_name", ""),
        "province": last.get("province") or "",
    }


def _verification_page(
    request: Request, view: dict[str, Any], error: ApiError | None = None, **context: Any
) -> Response:
    case = view["verification"]
    context.setdefault("values", _form_values(view))
    kept = ((case or {}).get("draft") or {}).get("scans", [])
    extra = {"case": case, "kept": kept, "scan_labels": SCAN_LABELS, **context}
    if error is not None:
        return _refused(request, "verification.html", view, error, **extra)
    return _page(request, "verification.html", view, **extra)


async def _scans(request: Request) -> list[dict[str, str]] | ApiError:
    """The scans chosen on the form, base64 for RPC, or the refusal of one too large to carry."""
    form = await request.form()  # the same parsed form: form_data has checked its CSRF token
    files = []
    for purpose in SCANS:
        upload = form.get(purpose)
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(MAX_SCAN + 1)
            if len(content) > MAX_SCAN:  # refused here, before it would travel through RabbitMQ
                return ApiError("file_too_large", purpose)
            files.append(
                {
                    "purpose": purpose,
                    "name": clean_file_name(upload.filename),
                    "content_base64": base64.b64encode(content).decode(),
                }
            )
    return files


INCOMPLETE = ("scans_required", "attorney_required")
"""Refusals of a form that is only missing a scan: the scans it carried are kept as its «ثبت موقت»."""


async def _keep_scans(
    request: Request, user: Principal, body: dict[str, Any], view: dict[str, Any]
) -> dict[str, Any]:
    """A refused form loses none of the scans it carried: they are kept as a «ثبت موقت» (the
    page lists them), so only the missing one is chosen again. The profile as it is then."""
    try:
        await call(request, "identity", "save_verification_draft", body)
    except ApiError as error:
        if error.code in PASS_THROUGH:
            raise
        return view  # not kept (a scan unreadable, say): the refusal already says what to do
    return await _profile(request, user)


async def verification(request: Request) -> Response:
    """The verification form (seed 004): «ثبت موقت» keeps it as filled (scans too) to finish
    later; «ثبت و ارسال» sends it to the desk officer. A refused form comes back as typed."""
    user = require_citizen(request)
    view = await _profile(request, user)
    if request.method == "GET":
        return _verification_page(request, view)
    fields = await form_data(request)
    draft = fields.get("action") == "draft"
    typed = {k: fields.get(k, "") for k in ("father_name", "note", "province")}
    if not fields.get("province") and not draft:  # whose desk officers review it (seed 004)
        return _verification_page(request, view, ApiError("invalid_province"), values=typed)
    files = await _scans(request)
    if isinstance(files, ApiError):
        return _verification_page(request, view, files, values=typed)
    body = {
        "account_id": user.account_id,
        "father_name": fields.get("father_name") or None,
        "note": fields.get("note") or None,
        "files": files,
        "province": fields.get("province") or None,
    }
    method = "save_verification_draft" if draft else "submit_verification"
    try:
        await call(request, "identity", method, body)
    except ApiError as error:
        if files and not draft and error.code in INCOMPLETE:
            view = await _keep_scans(request, user, body, view)
        return _verification_page(request, view, error, values=typed)
    if draft:
        notice = "فرم تایید هویت شما به صورت «ثبت موقت» ذخیره شد؛ هر زمان خواستید آن را کامل و ارسال کنید."
        return _done(request, notice, "/verification")
    return _done(request, "درخواست تایید هویت شما ثبت و برای مسئول میز خدمت ارسال شد.", "/verification")


async def api_me(request: Request) -> JSONResponse:
    """
    summary: The signed-in citizen's profile, assurance level and verification status
    responses:
      200: {description: "profile; assurance_level 0-3; verification.status none|submitted|rejected|approved"}
      401: {description: not_signed_in}
    """
    user = require_citizen(request)
    return JSONResponse(await _profile(request, user))


routes: list[BaseRoute] = [
    Route("/api/identity/me", api_me, methods=["GET"]),
    Route("/account", account, methods=["GET"], include_in_schema=False),
    Route("/account/edit", edit, methods=["GET", "POST"], include_in_schema=False),
    Route("/account/password", password, methods=["GET", "POST"], include_in_schema=False),
    Route("/account/mobile", mobile, methods=["GET", "POST"], include_in_schema=False),
    Route("/account/shahkar", shahkar, methods=["POST"], include_in_schema=False),
    Route("/account/registry", registry, methods=["POST"], include_in_schema=False),
    Route("/verification", verification, methods=["GET", "POST"], include_in_schema=False),
]
schemas: dict[str, type[BaseModel]] = {}

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
from contracts.identity import ASSURANCE_LEVELS
from gateway.common import ApiError, call, form_data
from gateway.web.auth import Principal, renew_stamp, require_citizen
from gateway.web.signin import PASS_THROUGH, client_address, message
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
    return _page(request, name, view, error=message(error), status_code=422, **context)


def _done(request: Request, notice: str, where: str = "/account") -> Response:
    request.session["identity_notice"] = notice
    return RedirectResponse(where, status_code=303)


async def account(request: Request) -> Response:
    user = require_citizen(request)
    return _page(request, "account.html", await _profile(request, user))


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
        if error.code in PASS_THROUGH:
            raise
        return _done(request, message(error))
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
        return _done(request, message(error))
    return _done(request, "احراز هویت ثبت احوال انجام شد.")


async def verification(request: Request) -> Response:
    """The verification form with scans (ثبت و ارسال), and the case's status and history."""
    user = require_citizen(request)
    view = await _profile(request, user)
    if request.method == "GET":
        return _page(request, "verification.html", view, case=view["verification"])
    fields = await form_data(request)
    if not fields.get("province"):  # whose desk officers review it (seed 004)
        unchosen = ApiError("invalid_province")
        return _refused(
            request, "verification.html", view, unchosen, case=view["verification"], values=fields
        )
    form = await request.form()  # the same parsed form: form_data has checked its CSRF token
    files = []
    for purpose in SCANS:
        upload = form.get(purpose)
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(MAX_SCAN + 1)
            if len(content) > MAX_SCAN:  # refused here, before it would travel through RabbitMQ
                too_large = ApiError("file_too_large")
                return _refused(
                    request, "verification.html", view, too_large, case=view["verification"], values=fields
                )
            files.append(
                {
                    "purpose": purpose,
                    "name": clean_file_name(upload.filename),
                    "content_base64": base64.b64encode(content).decode(),
                }
            )
    body = {
        "account_id": user.account_id,
        "father_name": fields.get("father_name") or None,
        "note": fields.get("note") or None,
        "files": files,
        "province": fields["province"],
    }
    try:
        await call(request, "identity", "submit_verification", body)
    except ApiError as error:
        return _refused(request, "verification.html", view, error, case=view["verification"], values=fields)
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

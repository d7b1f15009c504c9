"""The citizen's sign-in pages: log in three ways, register two ways, recover a password.

Every form carries the CSRF token and is read with `form_data`; on a refusal the page comes back
with what was typed and identity's Persian message. The account pages live in `identity_account`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.identity_rpc import PasswordLogin
from gateway.citizen import identity_account
from gateway.common import ApiError, call, form_data, payload
from gateway.web.auth import sign_in
from gateway.web.signin import (
    NEW_PASSWORD,
    PASS_THROUGH,
    captcha_answer,
    captcha_for,
    client_address,
    field_errors,
    message,
    principal_from,
    safe_next,
    without_secrets,
)
from gateway.web.templates import render

PENDING = "identity_pending"
FAILED = "identity_captcha"
"""Session flag: a password login failed in this browser, so its login page shows a captcha."""


def page(request: Request, name: str, values: dict[str, Any], **context: Any) -> Response:
    """Render an identity page (with `captcha`, identity's challenge, when the form needs one)."""
    context.setdefault("notice", request.session.pop("identity_notice", None))
    status = context.pop("status_code", 200)
    return render(request, f"identity/{name}", {"values": values, **context}, status_code=status)


def refused(request: Request, name: str, values: dict[str, Any], error: ApiError, **context: Any) -> Response:
    """The same page again with the error's Persian message (or the shared error page)."""
    if error.code in PASS_THROUGH:
        raise error
    values = {k: v for k, v in without_secrets(values).items() if "password" not in k}
    errors = field_errors(error, NEW_PASSWORD if context.get("reset") else None)
    return page(request, name, values, error=message(error), field_errors=errors, status_code=422, **context)


def pending(request: Request, result: dict[str, Any], purpose: str, after: str) -> Response:
    """Remember the code's ticket and go to the page where the code is typed."""
    request.session[PENDING] = {"ticket": result["ticket"], "purpose": purpose, "next": after}
    request.session["identity_notice"] = (
        "کد تایید با اعتبار ۵ دقیقه ارسال شد."
        if result.get("sms_sent")
        else "ارسال پیامک اکنون ممکن نشد؛ کد شما معتبر است. «ارسال دوباره کد» را بزنید."
    )
    return RedirectResponse("/code", status_code=303)


async def login(request: Request) -> Response:
    """Password login; a captcha whenever identity asks one of this address, or after a failure."""
    nxt = safe_next(request.query_params.get("next"), "/account")
    if request.method == "GET":
        captcha = await captcha_for(request, "login", force=bool(request.session.get(FAILED)))
        return page(request, "login.html", {}, next=nxt, captcha=captcha)
    fields = await form_data(request)
    body = {
        "national_code": fields.get("national_code", ""),
        "password": fields.get("password", ""),
        "client": client_address(request),
        "captcha": captcha_answer(fields),
    }
    try:
        result = await call(request, "identity", "login_password", body)
    except ApiError as error:
        request.session[FAILED] = error.code in ("captcha_required", "bad_credentials", "locked")
        captcha = await captcha_for(request, "login", force=True)
        return refused(request, "login.html", fields, error, next=nxt, captcha=captcha)
    request.session.pop(FAILED, None)
    sign_in(request, principal_from(result))
    return RedirectResponse(nxt, status_code=303)


async def login_code(request: Request) -> Response:
    """Seed 001's «ورود با رمز یکبار مصرف»: national code, then the code."""
    if request.method == "GET":
        return page(request, "login_code.html", {}, captcha=await captcha_for(request, "login_code"))
    fields = await form_data(request)
    body = {
        "national_code": fields.get("national_code", ""),
        "client": client_address(request),
        "captcha": captcha_answer(fields),
    }
    try:
        result = await call(request, "identity", "request_login_code", body)
    except ApiError as error:
        captcha = await captcha_for(request, "login_code", force=error.code == "captcha_required")
        return refused(request, "login_code.html", fields, error, captcha=captcha)
    return pending(request, result, "login", "/account")


async def login_mobile(request: Request) -> Response:
    """Seed 002: mobile and captcha, «دریافت کد», then the code (valid 5 minutes)."""
    if request.method == "GET":
        return page(request, "login_mobile.html", {}, captcha=await captcha_for(request, "mobile_code"))
    fields = await form_data(request)
    body = {
        "mobile": fields.get("mobile", ""),
        "client": client_address(request),
        "captcha": captcha_answer(fields),
    }
    try:
        result = await call(request, "identity", "request_login_code", body)
    except ApiError as error:
        captcha = await captcha_for(request, "mobile_code")
        return refused(request, "login_mobile.html", fields, error, captcha=captcha)
    return pending(request, result, "login", "/account")


FINISH = {
    "login": ("login_with_code", "ورود به سامانه"),
    "register": ("complete_registration", "تایید شماره تلفن همراه و ایجاد کاربری"),
    "reset_password": ("reset_password", "بازیابی کلمه عبور"),
}


async def code(request: Request) -> Response:
    """Type the code of the pending step (login, registration, reset)."""
    state = request.session.get(PENDING)
    if not state or state["purpose"] not in FINISH:
        return RedirectResponse("/login", status_code=303)
    method, title = FINISH[state["purpose"]]
    reset = state["purpose"] == "reset_password"
    notice = request.session.pop("identity_notice", None)
    if request.method == "GET":
        return page(request, "code.html", {}, title=title, reset=reset, notice=notice)
    fields = await form_data(request)
    body: dict[str, Any] = {
        "ticket": state["ticket"],
        "code": fields.get("code", ""),
        "client": client_address(request),
    }
    if reset:
        if fields.get("new_password") != fields.get("new_password2"):
            return refused(
                request, "code.html", fields, ApiError("passwords_differ"), title=title, reset=reset
            )
        body["new_password"] = fields.get("new_password", "")
    try:
        result = await call(request, "identity", method, body)
    except ApiError as error:
        return refused(request, "code.html", fields, error, title=title, reset=reset)
    request.session.pop(PENDING, None)
    if result.get("activation_pending"):
        return page(request, "activation.html", {}, sent=result)
    if reset:
        request.session["identity_notice"] = "کلمه عبور شما تغییر کرد؛ با کلمه عبور تازه وارد شوید."
        return RedirectResponse("/login", status_code=303)
    sign_in(request, principal_from(result))
    return RedirectResponse(safe_next(state.get("next"), "/account"), status_code=303)


async def resend(request: Request) -> Response:
    await form_data(request)
    state = request.session.get(PENDING)
    if not state:
        return RedirectResponse("/login", status_code=303)
    try:
        result = await call(request, "identity", "resend_code", state["ticket"], client_address(request))
    except ApiError as error:
        if error.code in PASS_THROUGH:
            raise
        request.session["identity_notice"] = message(error)
        return RedirectResponse("/code", status_code=303)
    return pending(request, result, state["purpose"], state.get("next", "/account"))


async def register(request: Request) -> Response:
    return page(request, "register.html", {})


async def activate(request: Request) -> Response:
    """Seed 004: the link in the activation e-mail opens the account for signing in."""
    body = {
        "account_id": request.query_params.get("account", ""),
        "token": request.query_params.get("token", ""),
    }
    try:
        result = await call(request, "identity", "activate_email", body)
    except ApiError as error:
        if error.code in PASS_THROUGH:
            raise
        code = error.code if error.code == "activation_link_expired" else "bad_activation_link"
        return page(request, "activation.html", {}, error=message(ApiError(code)), status_code=400)
    return page(request, "activation.html", {}, activated=result)


def _company(fields: dict[str, str]) -> dict[str, str] | None:
    if fields.get("kind") != "legal":
        return None
    return {
        "company_name": fields.get("company_name", ""),
        "national_id": fields.get("national_id", ""),
        "economic_code": fields.get("economic_code", ""),
        "capacity": fields.get("capacity", "owner"),
    }


def _registration(fields: dict[str, str], method: str, request: Request) -> dict[str, Any]:
    return {
        "method": method,
        "national_code": fields.get("national_code", ""),
        "birth_date": fields.get("birth_date", ""),
        "mobile": fields.get("mobile", ""),
        "first_name": fields.get("first_name") or None,
        "last_name": fields.get("last_name") or None,
        "password": fields.get("password", ""),
        "kind": fields.get("kind", "natural") if fields.get("kind") in ("natural", "legal") else "natural",
        "company": _company(fields),
        "email": fields.get("email") or None,
        "client": client_address(request),
        "captcha": captcha_answer(fields),
    }


async def register_registry(request: Request) -> Response:
    """Seed 000: «استعلام» with national code and birth date fills the certificate fields; then
    the mobile and a password of the citizen's own choosing."""
    if request.method == "GET":
        return page(request, "register_registry.html", {}, captcha=await captcha_for(request, "register"))
    fields = await form_data(request)
    if fields.get("action") == "inquire":
        try:
            record = await _inquire(request, fields, captcha_answer(fields))
        except ApiError as refusal:
            return await _registration_refused(request, "register_registry.html", fields, refusal)
        captcha = await captcha_for(request, "register")
        return page(request, "register_registry.html", fields, record=record, captcha=captcha)
    # Registering inquires the registry again inside identity (with the captcha, if one is
    # asked); the record is fetched here only to show the form again after a refusal.
    if fields.get("password") != fields.get("password2"):
        error = ApiError("passwords_differ")
    else:
        try:
            result = await call(
                request, "identity", "start_registration", _registration(fields, "registry", request)
            )
        except ApiError as failed:
            error = failed
        else:
            return pending(request, result, "register", "/account")
    try:
        record = await _inquire(request, fields, None)
    except ApiError:
        record = None  # the refusal says what went wrong; «استعلام» shows the record again
    return await _registration_refused(request, "register_registry.html", fields, error, record=record)


async def _inquire(request: Request, fields: dict[str, str], captcha: dict[str, str] | None) -> Any:
    inquiry = {
        "national_code": fields.get("national_code", ""),
        "birth_date": fields.get("birth_date", ""),
        "client": client_address(request),
        "captcha": captcha,
    }
    return await call(request, "identity", "inquire_registry", inquiry)


async def _registration_refused(
    request: Request, name: str, fields: dict[str, str], error: ApiError, **context: Any
) -> Response:
    captcha = await captcha_for(request, "register", force=error.code == "captcha_required")
    return refused(request, name, fields, error, captcha=captcha, **context)


async def register_mobile(request: Request) -> Response:
    """Seed 001: national code, mobile and birth date; a code proves the mobile, then Shahkar."""
    if request.method == "GET":
        captcha = await captcha_for(request, "register")
        return page(request, "register_mobile.html", {"kind": "natural"}, captcha=captcha)
    fields = await form_data(request)
    if fields.get("password") != fields.get("password2"):
        return await _registration_refused(
            request, "register_mobile.html", fields, ApiError("passwords_differ")
        )
    try:
        result = await call(
            request, "identity", "start_registration", _registration(fields, "mobile", request)
        )
    except ApiError as error:
        return await _registration_refused(request, "register_mobile.html", fields, error)
    return pending(request, result, "register", "/account")


async def forgot(request: Request) -> Response:
    """«کلمه عبور خود را فراموش کرده‌اید؟»: national code and mobile, then a code."""
    if request.method == "GET":
        return page(request, "forgot.html", {}, captcha=await captcha_for(request, "reset"))
    fields = await form_data(request)
    body = {
        "national_code": fields.get("national_code", ""),
        "mobile": fields.get("mobile", ""),
        "client": client_address(request),
        "captcha": captcha_answer(fields),
    }
    try:
        result = await call(request, "identity", "request_password_reset", body)
    except ApiError as error:
        return refused(request, "forgot.html", fields, error, captcha=await captcha_for(request, "reset"))
    return pending(request, result, "reset_password", "/login")


async def api_login(request: Request) -> JSONResponse:
    """
    summary: Sign in with national code and password (starts a session cookie)
    requestBody:
      content:
        application/json:
          schema: {$ref: '#/components/schemas/PasswordLogin'}
    responses:
      200: {description: "the signed-in account: id, name, assurance_level"}
      401: {description: "bad_credentials (the same whether or not the account exists)"}
      422: {description: "invalid_national_code, or captcha_required after repeated failures (use the page)"}
      429: {description: locked}
    """
    body = await payload(request, PasswordLogin, client=client_address(request), captcha=None)
    result = await call(request, "identity", "login_password", body)
    sign_in(request, principal_from(result))
    return JSONResponse(result)


routes: list[BaseRoute] = [
    Route("/api/identity/login", api_login, methods=["POST"]),
    Route("/login", login, methods=["GET", "POST"], include_in_schema=False),
    Route("/login/code", login_code, methods=["GET", "POST"], include_in_schema=False),
    Route("/login/mobile", login_mobile, methods=["GET", "POST"], include_in_schema=False),
    Route("/code", code, methods=["GET", "POST"], include_in_schema=False),
    Route("/code/resend", resend, methods=["POST"], include_in_schema=False),
    Route("/register", register, methods=["GET"], include_in_schema=False),
    Route("/activate", activate, methods=["GET"], include_in_schema=False),
    Route("/register/registry", register_registry, methods=["GET", "POST"], include_in_schema=False),
    Route("/register/mobile", register_mobile, methods=["GET", "POST"], include_in_schema=False),
    Route("/password/forgot", forgot, methods=["GET", "POST"], include_in_schema=False),
    *identity_account.routes,
]
schemas: dict[str, type[BaseModel]] = {"PasswordLogin": PasswordLogin, **identity_account.schemas}

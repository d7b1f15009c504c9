"""Staff pages of identity: login (password, then a one-time code), the desk officer's cartable of
identity-verification cases, and the administrator's staff accounts, roles and disabled accounts
(pages, and the same actions as a JSON API)."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.catalogue import PROVINCES
from contracts.identity_rpc import AccountAccess, Grant
from contracts.persian import persian_digits
from gateway.backoffice import names
from gateway.backoffice.names import ROLE_LABELS
from gateway.common import ApiError, _check_api_csrf, call, command_id, form_data, json_body
from gateway.web.auth import require_staff, sign_in
from gateway.web.signin import (
    PASS_THROUGH,
    captcha_answer,
    captcha_for,
    client_address,
    message,
    principal_from,
    safe_next,
)
from gateway.web.templates import render

PENDING = "staff_pending"


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("values", {})
    context.setdefault("notice", request.session.pop("identity_notice", None))
    context["role_labels"] = ROLE_LABELS
    context["provinces"] = PROVINCES
    return render(request, f"identity/{name}", context, status_code=status_code)


def refused(request: Request, name: str, error: ApiError, **context: Any) -> Response:
    if error.code in PASS_THROUGH:
        raise error
    return page(request, name, 422, error=message(error), **context)


async def login(request: Request) -> Response:
    nxt = safe_next(request.query_params.get("next"), "/identity/home")
    if request.method == "GET":
        force = bool(request.session.get("identity_captcha"))
        return page(request, "login.html", next=nxt, captcha=await captcha_for(request, "staff_login", force))
    fields = await form_data(request)
    body = {
        "national_code": fields.get("national_code", ""),
        "password": fields.get("password", ""),
        "client": client_address(request),
        "captcha": captcha_answer(fields),
    }
    values = {"national_code": fields.get("national_code", "")}
    try:
        result = await call(request, "identity", "staff_login_start", body)
    except ApiError as error:
        request.session["identity_captcha"] = True
        captcha = await captcha_for(request, "staff_login", force=True)
        return refused(request, "login.html", error, next=nxt, captcha=captcha, values=values)
    request.session.pop("identity_captcha", None)
    request.session[PENDING] = {"ticket": result["ticket"], "next": nxt}
    sent = result["sms_sent"]
    request.session["identity_notice"] = (
        "کد ورود با اعتبار ۵ دقیقه به تلفن همراه شما پیامک شد." if sent else message(ApiError("sms_failed"))
    )
    return RedirectResponse("/login/code", status_code=303)


async def login_code(request: Request) -> Response:
    state = request.session.get(PENDING)
    if not state:
        return RedirectResponse("/login", status_code=303)
    if request.method == "GET":
        return page(request, "code.html")
    fields = await form_data(request)
    if fields.get("action") == "resend":
        try:
            result = await call(request, "identity", "resend_code", state["ticket"], client_address(request))
        except ApiError as error:
            return refused(request, "code.html", error)
        request.session[PENDING] = {**state, "ticket": result["ticket"]}
        return page(request, "code.html", notice="کد تازه ارسال شد.")
    body = {"ticket": state["ticket"], "code": fields.get("code", ""), "client": client_address(request)}
    try:
        result = await call(request, "identity", "staff_login_finish", body)
    except ApiError as error:
        return refused(request, "code.html", error)
    sign_in(request, principal_from(result))
    return RedirectResponse(safe_next(state.get("next"), "/identity/home"), status_code=303)


async def home(request: Request) -> Response:
    """Where a staff member lands: links to what their roles allow."""
    user = require_staff(request)
    return page(request, "home.html", staff=user, unit_names=await names.unit_names(request))


CASE_FOLDERS = {
    "submitted": "در انتظار اقدام",
    "rejected": "بازگشت به متقاضی",
    "approved": "تمام شده (آرشیو)",
}
CASE_SEARCH = ("national_code", "name", "mobile", "tracking_id")


def waiting_text(minutes: int) -> str:
    """A waiting time as a person says it: «۲ روز و ۳ ساعت», «۴۵ دقیقه»."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} روز"] if days else []
    if hours:
        parts.append(f"{hours} ساعت")
    if mins and not days:
        parts.append(f"{mins} دقیقه")
    return persian_digits(" و ".join(parts)) if parts else "کمتر از یک دقیقه"


async def cartable(request: Request) -> Response:
    """The desk officer's cases: those of their province and those that name none (all, for
    an officer bound to no province), with seed 004's waiting time, holder and report. A search
    (national code, name, mobile, the case's number) looks in every folder and names each
    hit's; what was searched stays in the form."""
    user = require_staff(request, "desk_officer")
    status = request.query_params.get("status", "submitted")
    if status not in CASE_FOLDERS:
        status = "submitted"
    search = {k: v.strip() for k in CASE_SEARCH if (v := request.query_params.get(k, "")).strip()}
    error, cases = None, []
    try:
        folder = None if search else status  # a search looks in every folder
        cases = await call(request, "identity", "cartable", folder, officer=user.account_id, search=search)
    except ApiError as refused_search:
        if refused_search.code in PASS_THROUGH:
            raise
        error = message(refused_search)
    for case in cases:
        case["waiting"] = waiting_text(case["waiting_minutes"])
    return page(
        request, "cartable.html", cases=cases, status=status, search=search, folders=CASE_FOLDERS, error=error
    )


async def case(request: Request) -> Response:
    user = require_staff(request, "desk_officer")
    case_id = request.path_params["case_id"]
    detail = await call(request, "identity", "case", case_id, officer=user.account_id)
    if request.method == "GET":
        return page(request, "case.html", case=detail)
    fields = await form_data(request)
    body = {
        "case_id": case_id,
        "officer": user.account_id,
        "decision": fields.get("decision", ""),
        "reason": fields.get("reason") or None,
    }
    try:
        await call(request, "identity", "decide_verification", body)
    except ApiError as error:
        return refused(request, "case.html", error, case=detail, values=fields)
    done = (
        "هویت متقاضی تایید شد." if body["decision"] == "approve" else "درخواست برای اصلاح به متقاضی بازگشت."
    )
    request.session["identity_notice"] = done
    return RedirectResponse("/identity/cartable", status_code=303)


async def case_file(request: Request) -> Response:
    user = require_staff(request, "desk_officer")
    found = await call(
        request,
        "identity",
        "attachment",
        request.path_params["case_id"],
        request.path_params["attachment_id"],
        officer=user.account_id,
    )
    return Response(
        base64.b64decode(found["content_base64"]),
        media_type=found["media_type"],
        headers={"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"},
    )


async def _staff_page(
    request: Request, error: ApiError | None = None, values: dict[str, str] | None = None
) -> Response:
    """The staff page: every account with its roles (each with its «لغو»), the forms that grant
    a role and open an account, choosing roles, provinces and units from lists of names."""
    context = {
        "people": await call(request, "identity", "staff_list"),
        "units": await names.units(request),
        "unit_names": await names.unit_names(request),
        "values": values or {},
    }
    if error is not None:
        return refused(request, "staff.html", error, **context)
    return page(request, "staff.html", **context)


def _scope(fields: dict[str, str]) -> dict[str, str | None]:
    """The role chosen on a form with its province and unit (an empty choice is none)."""
    return {name: fields.get(name) or None for name in ("role", "province", "unit")}


async def staff(request: Request) -> Response:
    """The administrator's staff page, and the form that opens an account (with its first
    role when one is chosen: both are recorded, or neither)."""
    user = require_staff(request, "admin")
    if request.method == "GET":
        return await _staff_page(request)
    fields = await form_data(request)
    body = {
        "admin": user.account_id,
        **{k: fields.get(k, "") for k in ("national_code", "full_name", "mobile", "password")},
        **_scope(fields),
    }
    try:
        await call(request, "identity", "create_staff", body)
    except ApiError as error:
        values = {k: v for k, v in fields.items() if k != "password"}
        return await _staff_page(request, error, values)
    request.session["identity_notice"] = (
        "حساب کارمند با نقش او ساخته شد."
        if body["role"]
        else "حساب کارمند ساخته شد؛ اکنون نقش او را تعیین کنید."
    )
    return RedirectResponse("/identity/staff", status_code=303)


async def _staff_action(request: Request, method: str, body: dict[str, Any], done: str) -> Response:
    """Call identity for the staff page's form; back to the page with a notice or the refusal."""
    try:
        await call(request, "identity", method, body)
    except ApiError as error:
        return await _staff_page(request, error)
    request.session["identity_notice"] = done
    return RedirectResponse("/identity/staff", status_code=303)


async def roles(request: Request) -> Response:
    """Grant a role (with its province or unit), or revoke one: the role alone names it."""
    user = require_staff(request, "admin")
    fields = await form_data(request)
    body: dict[str, Any] = {"admin": user.account_id, "account_id": request.path_params["account_id"]}
    if fields.get("action") == "revoke":
        body["role"] = fields.get("role", "")
        return await _staff_action(request, "revoke_role", body, "نقش کارمند لغو شد.")
    return await _staff_action(request, "grant_role", body | _scope(fields), "نقش‌های کارمند به‌روز شد.")


async def access(request: Request) -> Response:
    """Disable a staff account (it cannot sign in; its open sessions end) or enable it again."""
    user = require_staff(request, "admin")
    fields = await form_data(request)
    body = {
        "admin": user.account_id,
        "account_id": request.path_params["account_id"],
        "reason": fields.get("reason") or None,
    }
    if fields.get("action") == "enable":
        return await _staff_action(request, "enable_account", body, "حساب کارمند دوباره فعال شد.")
    return await _staff_action(request, "disable_account", body, "حساب کارمند غیرفعال شد.")


async def _admin_body(request: Request, **extra: Any) -> dict[str, Any]:
    """The JSON body of an administrator's call (CSRF checked) with `extra` from the path and the
    session. Identity validates it, and answers a broken rule by its own code
    (`role_scope_required`, `reason_required`) rather than a bare `invalid_input`."""
    _check_api_csrf(request)
    body = await json_body(request, optional=True)
    return {**body, **extra, **command_id(request, body)}


async def api_grant(request: Request) -> JSONResponse:
    """
    summary: Grant a staff member a role (administrators)
    description: A clerk's role names a province, a representative's a unit.
    parameters:
      - {name: account_id, in: path, required: true, schema: {type: string}}
    requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Grant"}}}}
    responses:
      200: {description: the account with its roles}
      404: {description: no such staff account (account_not_found)}
      422: {description: a clerk's role without a province or a representative's without a unit}
    """
    user = require_staff(request, "admin")
    account_id = request.path_params["account_id"]
    body = await _admin_body(request, admin=user.account_id, account_id=account_id)
    return JSONResponse(await call(request, "identity", "grant_role", body))


async def api_revoke(request: Request) -> JSONResponse:
    """
    summary: Take a role away from a staff member (administrators); their open sessions end
    parameters:
      - {name: account_id, in: path, required: true, schema: {type: string}}
      - name: role
        in: path
        required: true
        schema: {type: string, enum: [desk_officer, clerk, representative, admin]}
    responses:
      200: {description: the account with its remaining roles}
      404: {description: no such staff account (account_not_found)}
    """
    user = require_staff(request, "admin")
    params = request.path_params
    body = await _admin_body(
        request, admin=user.account_id, account_id=params["account_id"], role=params["role"]
    )
    return JSONResponse(await call(request, "identity", "revoke_role", body))


async def _api_access(request: Request, method: str) -> JSONResponse:
    user = require_staff(request, "admin")
    account_id = request.path_params["account_id"]
    body = await _admin_body(request, admin=user.account_id, account_id=account_id)
    return JSONResponse(await call(request, "identity", method, body))


async def api_disable(request: Request) -> JSONResponse:
    """
    summary: Disable an account, a citizen's or a staff member's (administrators)
    description: A disabled account cannot sign in, and its open sessions end at their next request.
    parameters:
      - {name: account_id, in: path, required: true, schema: {type: string}}
    requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/AccountAccess"}}}}
    responses:
      200: {description: the account, with `disabled`}
      404: {description: no such account (account_not_found)}
      422: {description: no reason given (reason_required), or the administrator's own account (own_account)}
    """
    return await _api_access(request, "disable_account")


async def api_enable(request: Request) -> JSONResponse:
    """
    summary: Enable a disabled account again (administrators)
    parameters:
      - {name: account_id, in: path, required: true, schema: {type: string}}
    requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/AccountAccess"}}}}
    responses:
      200: {description: the account, with `disabled`}
      404: {description: no such account (account_not_found)}
      422: {description: no reason given (reason_required)}
    """
    return await _api_access(request, "enable_account")


routes: list[BaseRoute] = [
    Route("/login", login, methods=["GET", "POST"], include_in_schema=False),
    Route("/login/code", login_code, methods=["GET", "POST"], include_in_schema=False),
    Route("/identity/home", home, methods=["GET"], include_in_schema=False),
    Route("/identity/cartable", cartable, methods=["GET"], include_in_schema=False),
    Route("/identity/cases/{case_id}", case, methods=["GET", "POST"], include_in_schema=False),
    Route(
        "/identity/cases/{case_id}/files/{attachment_id}", case_file, methods=["GET"], include_in_schema=False
    ),
    Route("/identity/staff", staff, methods=["GET", "POST"], include_in_schema=False),
    Route("/identity/staff/{account_id}/roles", roles, methods=["POST"], include_in_schema=False),
    Route("/identity/staff/{account_id}/access", access, methods=["POST"], include_in_schema=False),
    Route("/api/identity/staff/{account_id}/roles", api_grant, methods=["POST"]),
    Route("/api/identity/staff/{account_id}/roles/{role}", api_revoke, methods=["DELETE"]),
    Route("/api/identity/accounts/{account_id}/disable", api_disable, methods=["POST"]),
    Route("/api/identity/accounts/{account_id}/enable", api_enable, methods=["POST"]),
]
schemas: dict[str, type[BaseModel]] = {"Grant": Grant, "AccountAccess": AccountAccess}

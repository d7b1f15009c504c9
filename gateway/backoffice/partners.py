"""The administrator's «شرکای سامانه» page (issue 25): the partners of the Open311 API, each with
its unit, webhook, key prefix and status; forms that add a partner (its unit chosen from the
defined units), rotate its key, revoke it with a reason and resume its paused webhook; and each
partner's «گزارش تحویل», the relay's latest webhook deliveries.

A new key and its webhook secret are shown on the page that answers the form, once: they are in
no redirect, session or event, so reloading shows them no more (the form's command id makes a
re-sent form a repeat, refused with `partner_key_shown_once`).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.partners import PARTNER_STATUSES, WEBHOOK_STATUSES
from gateway.backoffice import names
from gateway.common import ApiError, call, form_data
from gateway.rpc import ServiceUnavailable
from gateway.web.auth import require_staff
from gateway.web.signin import PASS_THROUGH, message
from gateway.web.templates import render

NOTICE = "partners_notice"
DELIVERIES_SHOWN = 20
DELIVERY_STATUSES = {
    "pending": "در انتظار ارسال",
    "delivered": "تحویل شد",
    "failed": "ناموفق",
    "cancelled": "لغو شد",
}
FIELD_OF = {"invalid_webhook_url": "webhook_url", "unknown_unit": "unit"}
FIELD_MESSAGES = {
    "name": "نام شریک را بنویسید (دست‌کم ۲ نویسه).",
    "reason": "دلیل لغو دسترسی را بنویسید (دست‌کم ۲ نویسه).",
}


def _moment(value: Any) -> str | None:
    """A time the relay keeps as seconds since the epoch, or as ISO text, as ISO text."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return str(value) if value else None


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    """One delivery as the page shows it, whatever names the relay's row gives its columns."""
    status = str(row.get("status", ""))
    return {
        "type": row.get("type", ""),
        "status": status,
        "status_label": DELIVERY_STATUSES.get(status, status),
        "attempts": row.get("attempts", row.get("attempt", "")),
        "http_status": row.get("http_status") or "",
        "error": row.get("last_error", row.get("error")) or "",
        "at": _moment(row.get("delivered_at") or row.get("at") or row.get("created_at")),
    }


async def _deliveries(request: Request, partner_id: str) -> list[dict[str, Any]]:
    """The relay's latest deliveries to the partner ([] while the relay keeps none, or is away:
    the page still serves its forms)."""
    try:
        found = await call(
            request, "relay", "deliveries", {"partner_id": partner_id, "limit": DELIVERIES_SHOWN}
        )
    except (ApiError, ServiceUnavailable):
        return []
    rows = found.get("deliveries", []) if isinstance(found, dict) else found
    return [_delivery(row) for row in rows or []][:DELIVERIES_SHOWN]


async def _page(
    request: Request,
    status_code: int = 200,
    *,
    error: ApiError | None = None,
    values: dict[str, str] | None = None,
    shown: dict[str, Any] | None = None,
) -> Response:
    if error is not None and error.code in PASS_THROUGH:
        raise error
    partners = await call(request, "identity", "partners_list", {})
    deliveries = await asyncio.gather(*(_deliveries(request, p["partner_id"]) for p in partners))
    field_errors, problem = {}, None
    if error is not None:
        detail = (error.detail or "").split(":")[0]
        if error.code in FIELD_OF:
            field_errors[FIELD_OF[error.code]] = message(error)
        elif error.code == "invalid_input" and detail == "name":
            field_errors["name"] = FIELD_MESSAGES["name"]
        else:
            problem = FIELD_MESSAGES.get(detail) if error.code == "invalid_input" else None
            problem = problem or message(error)
    context = {
        "partners": partners,
        "deliveries": dict(zip((p["partner_id"] for p in partners), deliveries, strict=True)),
        "units": await names.units(request),
        "unit_names": await names.unit_names(request),
        "statuses": PARTNER_STATUSES,
        "webhook_statuses": WEBHOOK_STATUSES,
        "values": values or {},
        "shown": shown,
        "error": problem,
        "field_errors": field_errors,
        "notice": request.session.pop(NOTICE, None),
        "form_id": uuid.uuid4().hex,
        "form_ids": {p["partner_id"]: uuid.uuid4().hex for p in partners},
    }
    return render(request, "partners/index.html", context, status_code=status_code)


async def index(request: Request) -> Response:
    """The list and the add form; a POST adds a partner and shows its key and secret once."""
    user = require_staff(request, "admin")
    if request.method == "GET":
        return await _page(request)
    fields = await form_data(request)
    values = {k: fields.get(k, "").strip() for k in ("name", "unit", "webhook_url")}
    body = {**values, "actor": user.account_id, **_command(fields)}
    try:
        made = await call(request, "identity", "partner_add", body)
    except ApiError as error:
        return await _page(request, 422, error=error, values=values)
    shown = {**made, "name": values["name"], "what": "added"}
    return await _page(request, shown=shown)


def _command(fields: dict[str, str]) -> dict[str, str]:
    """The form's own command id (a re-sent form is a repeat), when it carries a valid one."""
    given = fields.get("command_id", "")
    return {"command_id": given} if len(given) == 32 and given.isalnum() else {}


async def act(request: Request) -> Response:
    """Rotate a partner's key (the new key and secret shown once), revoke it, resume its webhook."""
    user = require_staff(request, "admin")
    fields = await form_data(request)
    partner_id = request.path_params["partner_id"]
    body: dict[str, Any] = {"partner_id": partner_id, "actor": user.account_id, **_command(fields)}
    action = fields.get("action", "")
    try:
        if action == "rotate":
            made = await call(request, "identity", "partner_rotate", body)
            return await _page(request, shown={**made, "name": fields.get("name", ""), "what": "rotated"})
        if action == "revoke":
            await call(request, "identity", "partner_revoke", {**body, "reason": fields.get("reason", "")})
            done = "دسترسی شریک لغو شد؛ کلید او دیگر پذیرفته نمی‌شود."
        elif action == "resume":
            await call(request, "identity", "partner_resume_webhook", body)
            done = "ارسال رویدادها به وب‌هوک شریک از سر گرفته شد."
        else:
            raise ApiError("invalid_input", "action")
    except ApiError as error:
        return await _page(request, 422, error=error, values={"partner": partner_id})
    request.session[NOTICE] = done
    return RedirectResponse("/partners", status_code=303)


routes: list[BaseRoute] = [
    Route("/partners", index, methods=["GET", "POST"], include_in_schema=False),
    Route("/partners/{partner_id}", act, methods=["POST"], include_in_schema=False),
]
schemas: dict[str, Any] = {}

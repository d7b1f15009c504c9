"""The signed-in user: the signed session cookie keeps only the account and its security stamp;
who that account is now (kind, roles with their province or unit, assurance level) comes from
identity once per request.

Identity's login flows call `sign_in`; `SessionUser` (a middleware of both gateways) asks
identity for the session's principal before the route runs, and ends the session when the
account is unknown, disabled, or its stamp changed (a revoked role, a new password); every page
and API that needs a user calls `require_citizen` or `require_staff`. Staff are bound to a role
and, for clerks and follow-up representatives, to a secretariat/province or a unit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.common import ApiError, call

log = logging.getLogger(__name__)

SESSION_KEY = "user"
NO_USER_PATHS = ("/static/", "/healthz", "/openapi.json")
"""Paths that never need the user: no question to identity for them."""


@dataclass(frozen=True)
class Principal:
    """Who is signed in."""

    account_id: str
    kind: str  # "citizen" | "staff"
    display_name: str
    national_code: str | None = None
    mobile: str | None = None
    assurance_level: int = 0
    roles: tuple[str, ...] = ()
    province: str | None = None
    unit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    scopes: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """Each role's province and unit (a desk officer's province lives only here)."""
    stamp: int = 0
    """The account's security stamp when this principal was read (see `SECURITY_EVENTS`)."""

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of `roles`."""
        return any(role in self.roles for role in roles)

    def scope_of(self, role: str) -> dict[str, str | None]:
        """The province and unit `role` is bound to (empty when it is bound to none, or not held)."""
        return self.scopes.get(role) or {}


_FIELDS = frozenset(f.name for f in fields(Principal))


def principal_of(data: dict[str, Any]) -> Principal:
    """A principal from identity's answer (fields it added since are left out)."""
    known = {key: value for key, value in data.items() if key in _FIELDS}
    return Principal(**{**known, "roles": tuple(known.get("roles", ()))})


def sign_in(request: Request, principal: Principal) -> None:
    """Start a fresh session for `principal` (a new CSRF token too: no fixation). The cookie keeps
    the account and its stamp only; the rest is asked of identity on each request."""
    request.session.clear()
    request.session[SESSION_KEY] = {"account_id": principal.account_id, "stamp": principal.stamp}
    request.state.user = principal


def sign_out(request: Request) -> None:
    """End the session."""
    request.session.clear()
    request.state.user = None


async def load_user(request: Request) -> Principal | None:
    """The session's principal as identity knows it now, kept on `request.state` for the rest of
    the request; None (and the session ended) when the account is unknown, disabled, or its
    stamp is no longer the session's. Anonymous requests cost no call.

    When identity does not answer, the request goes on without a user and the first
    `require_*` raises what the call raised (a clean 503 through the error handlers)."""
    request.state.user, request.state.user_error = None, None
    held = request.session.get(SESSION_KEY) if "session" in request.scope else None
    if not held:
        return None
    account_id, stamp = held.get("account_id"), held.get("stamp")
    if not isinstance(account_id, str) or not isinstance(stamp, int):
        sign_out(request)  # a session from before sessions kept a stamp
        return None
    try:
        found = await call(request, "identity", "principal", account_id)
    except Exception as error:  # noqa: BLE001 - raised again by the first require_*
        request.state.user_error = error
        return None
    if not found or found.get("disabled") or found.get("stamp") != stamp:
        log.info("session of %s ended: account unknown, disabled or changed", account_id)
        sign_out(request)
        return None
    user = principal_of(found)
    request.state.user = user
    return user


async def renew_stamp(request: Request) -> None:
    """Keep this session after its own holder changed something that ends sessions (their
    password): it takes the account's new stamp, while every other session ends."""
    user = current_user(request)
    if user is None:
        return
    found = await call(request, "identity", "principal", user.account_id)
    if found and not found.get("disabled") and found.get("kind") == user.kind:
        request.session[SESSION_KEY] = {"account_id": user.account_id, "stamp": found["stamp"]}
        request.state.user = principal_of(found)


class SessionUser:
    """ASGI middleware (inside the session middleware): `load_user` once per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(NO_USER_PATHS):
            await load_user(Request(scope))
        await self.app(scope, receive, send)


def current_user(request: Request) -> Principal | None:
    """The signed-in user as loaded for this request, or None."""
    return getattr(request.state, "user", None)


def _signed_in(request: Request) -> Principal | None:
    error = getattr(request.state, "user_error", None)
    if error is not None:
        raise error
    return current_user(request)


def require_citizen(request: Request) -> Principal:
    """The signed-in citizen (or company), else `not_signed_in`."""
    user = _signed_in(request)
    if user is None or user.kind != "citizen":
        raise ApiError("not_signed_in")
    return user


def require_staff(request: Request, *roles: str) -> Principal:
    """The signed-in staff member holding one of `roles` (any role when none are given)."""
    user = _signed_in(request)
    if user is None or user.kind != "staff":
        raise ApiError("not_signed_in")
    if roles and not user.has_role(*roles):
        raise ApiError("forbidden")
    return user

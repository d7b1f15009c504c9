"""The signed-in user, kept in the signed session cookie.

Identity's login flows call `sign_in`; every page and API that needs a user calls
`require_citizen` or `require_staff`. Staff are bound to a role and, for clerks and follow-up
representatives, to a secretariat/province or a unit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.requests import Request

from gateway.common import ApiError

SESSION_KEY = "user"


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

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of `roles`."""
        return any(role in self.roles for role in roles)


def sign_in(request: Request, principal: Principal) -> None:
    """Start a fresh session for `principal` (a new CSRF token too: no fixation)."""
    request.session.clear()
    data = asdict(principal)
    data["roles"] = list(principal.roles)
    request.session[SESSION_KEY] = data


def sign_out(request: Request) -> None:
    """End the session."""
    request.session.clear()


def current_user(request: Request) -> Principal | None:
    """The signed-in user, or None."""
    if "session" not in request.scope:
        return None
    data = request.session.get(SESSION_KEY)
    if not data:
        return None
    return Principal(**{**data, "roles": tuple(data.get("roles", ()))})


def require_citizen(request: Request) -> Principal:
    """The signed-in citizen (or company), else `not_signed_in`."""
    user = current_user(request)
    if user is None or user.kind != "citizen":
        raise ApiError("not_signed_in")
    return user


def require_staff(request: Request, *roles: str) -> Principal:
    """The signed-in staff member holding one of `roles` (any role when none are given)."""
    user = current_user(request)
    if user is None or user.kind != "staff":
        raise ApiError("not_signed_in")
    if roles and not user.has_role(*roles):
        raise ApiError("forbidden")
    return user

"""CSRF protection: a random token per session, required on every form post and unsafe API call
made with the session cookie."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"


def csrf_token(request: Request) -> str:
    """The session's token, created on first use."""
    token = request.session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return str(token)


def csrf_valid(request: Request, submitted: str | None) -> bool:
    """True when `submitted` matches the session's token."""
    expected = request.session.get(SESSION_KEY)
    return bool(expected and submitted and hmac.compare_digest(str(expected), submitted))

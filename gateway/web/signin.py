"""What both gateways' sign-in pages share: the captcha, the client's address, the signed-in
principal from identity's answer, safe `next` links and Persian messages for identity's errors.

The captcha (کد امنیتی) is a small sum drawn as distorted inline SVG. Its answer never reaches
the browser: the session (signed, not encrypted) keeps only an HMAC of it with a one-use nonce,
so the same image cannot be answered twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from markupsafe import Markup
from starlette.requests import Request

from contracts.errors import MESSAGES
from contracts.persian import latin_digits, persian_digits
from gateway.common import ApiError, session_secret
from gateway.web.auth import Principal

SESSION_KEY = "captcha"


def _digest(nonce: str, answer: str) -> str:
    return hmac.new(session_secret().encode(), f"{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()


def new_captcha(request: Request) -> Markup:
    """A fresh challenge for this session, as an accessible inline SVG."""
    a, b = secrets.randbelow(40) + 10, secrets.randbelow(9) + 1
    nonce = secrets.token_hex(8)
    request.session[SESSION_KEY] = {"nonce": nonce, "digest": _digest(nonce, str(a + b))}
    text = persian_digits(f"{a} + {b}")
    glyphs = []
    for index, char in enumerate(text):
        x = 12 + index * 18
        y = 30 + secrets.randbelow(9) - 4
        angle = secrets.randbelow(31) - 15
        glyphs.append(f'<text x="{x}" y="{y}" transform="rotate({angle} {x} {y})">{char}</text>')
    lines = "".join(
        f'<line x1="{secrets.randbelow(140)}" y1="{secrets.randbelow(44)}" '
        f'x2="{secrets.randbelow(140)}" y2="{secrets.randbelow(44)}" stroke="#889" />'
        for _ in range(5)
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="140" height="44" role="img" '
        'aria-label="کد امنیتی: حاصل جمع دو عدد" class="captcha" direction="ltr">'
        f'<rect width="140" height="44" fill="#eef2f7"/>{lines}'
        f'<g font-size="22" font-family="DejaVu Sans, sans-serif" fill="#1f3b73">{"".join(glyphs)}</g></svg>'
    )
    return Markup(svg)  # safe: only digits and numbers made here


def captcha_valid(request: Request, answer: str | None) -> bool:
    """True when `answer` solves the session's challenge; a challenge is spent by any try."""
    challenge = request.session.pop(SESSION_KEY, None)
    if not challenge or not answer:
        return False
    typed = latin_digits(answer).strip()
    return hmac.compare_digest(challenge["digest"], _digest(challenge["nonce"], typed))


def client_address(request: Request) -> str:
    """The caller's address, for per-client rate limits and the audit trail."""
    return request.client.host if request.client else "unknown"


def principal_from(result: dict[str, Any]) -> Principal:
    """The principal identity answered with."""
    return Principal(**{**result, "roles": tuple(result.get("roles", ()))})


def safe_next(value: str | None, default: str = "/") -> str:
    """`next` only when it is a local path (never another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def message(error: ApiError) -> str:
    """The Persian message of an error code."""
    return MESSAGES.get(error.code, MESSAGES["internal_error"])[1]


PASS_THROUGH = ("csrf_failed", "not_signed_in", "forbidden")
"""Errors that go to the shared error handler instead of the form."""

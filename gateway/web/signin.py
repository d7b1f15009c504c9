"""What both gateways' sign-in pages share: the captcha, the client's address, the signed-in
principal from identity's answer, safe `next` links and Persian messages for identity's errors.

The captcha (کد امنیتی) is identity's: it decides whether a form needs one (this address's
failures, or the form's kind), draws it as a PNG and keeps its answer. The page gets the image
and an opaque token, and sends the token back with what was typed; identity checks and spends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from contracts.errors import MESSAGES
from contracts.persian import persian_digits
from gateway.common import ApiError, call
from gateway.web.auth import Principal, principal_of


@dataclass(frozen=True)
class Captcha:
    """A challenge as a page shows it."""

    token: str
    image: str
    """The PNG as a `data:` URL for the page's `<img>`."""
    digits: int
    width: int
    height: int

    @property
    def alt(self) -> str:
        """The image's Persian alternative text (its length, never its digits)."""
        return f"کد امنیتی: تصویر یک عدد {persian_digits(str(self.digits))} رقمی"


async def captcha_for(request: Request, purpose: str, force: bool = False) -> Captcha | None:
    """A new captcha when identity says a form of `purpose` from this address needs one (or
    `force`: the form was just refused); else None."""
    body = {"purpose": purpose, "client": client_address(request), "force": force}
    found = await call(request, "identity", "captcha_challenge", body)
    if not found["required"]:
        return None
    image = "data:image/png;base64," + found["png_base64"]
    size = {"width": found["width"], "height": found["height"]}
    return Captcha(token=found["token"], image=image, digits=found["digits"], **size)


def captcha_answer(fields: dict[str, str]) -> dict[str, str] | None:
    """The captcha a form sent back (identity checks it), or None when it showed none."""
    token = fields.get("captcha_token")
    if not token:
        return None
    return {"token": token, "answer": fields.get("captcha", "")[:20]}


def client_address(request: Request) -> str:
    """The caller's address, for per-client rate limits and the audit trail."""
    return request.client.host if request.client else "unknown"


def principal_from(result: dict[str, Any]) -> Principal:
    """The principal identity answered with (its security stamp too, which the session keeps)."""
    return principal_of(result)


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

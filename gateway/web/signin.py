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
    """The PNG as a `data:` URL for the page's `<img>` ("" for the text alternative)."""
    digits: int
    width: int
    height: int
    question: str = ""
    """The text alternative's question in Persian words ("" for an image)."""

    @property
    def alt(self) -> str:
        """The image's Persian alternative text (its length, never its digits)."""
        return f"کد امنیتی: تصویر یک عدد {persian_digits(str(self.digits))} رقمی"


TEXT_CHOICE = "captcha"
"""The query parameter (`?captcha=text` or `?captcha=image`) and session key by which a citizen
who cannot see the image asks for the text alternative on every form of this browser."""


async def captcha_for(request: Request, purpose: str, force: bool = False) -> Captcha | None:
    """A new captcha when identity says a form of `purpose` from this address needs one (or
    `force`: the form was just refused); else None. Its text alternative instead of the image
    once this browser asked for it (`TEXT_CHOICE`)."""
    asked = request.query_params.get(TEXT_CHOICE)
    if asked in ("text", "image"):  # the link beside the captcha; the browser keeps the choice
        request.session[TEXT_CHOICE] = asked == "text"
    kind = "text" if request.session.get(TEXT_CHOICE) else "image"
    body = {"purpose": purpose, "client": client_address(request), "force": force, "kind": kind}
    found = await call(request, "identity", "captcha_challenge", body)
    if not found["required"]:
        return None
    if found.get("kind") == "text":
        question = found["question"]
        return Captcha(token=found["token"], image="", digits=0, width=0, height=0, question=question)
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

FIELD_OF = {
    "invalid_national_code": "national_code",
    "already_registered": "national_code",
    "deceased": "national_code",
    "invalid_birth_date": "birth_date",
    "registry_mismatch": "birth_date",
    "invalid_mobile": "mobile",
    "mobile_in_use": "mobile",
    "shahkar_mismatch": "mobile",
    "weak_password": "password",
    "passwords_differ": "password2",
    "captcha_required": "captcha",
    "bad_code": "code",
    "email_required": "email",
    "invalid_national_id": "national_id",
    "invalid_economic_code": "economic_code",
    "invalid_province": "province",
    "scans_required": "national_card",
    "attorney_required": "power_of_attorney",
}
"""The form field an identity error is about, when the error code alone says it."""

SECRET_FIELDS = ("password", "password2", "new_password", "new_password2", "current_password")
"""What a refused form never sends back: passwords (and the spent captcha, see `without_secrets`)."""


NEW_PASSWORD = {
    "password": "new_password",
    "password2": "new_password2",
    "bad_credentials": "current_password",
}
"""The fields of a form that sets a new password (change, reset), for `field_errors`."""


def field_errors(error: ApiError, form: dict[str, str] | None = None) -> dict[str, str]:
    """Field name → the Persian message to show under it: the field the error's detail names
    (`company.national_id`, `birth_date: …`), else the one its code is about; {} when neither.
    `form` renames a field (or names one for an error code) where this form's fields differ."""
    form = form or {}
    named = (error.detail or "").split(":", 1)[0].strip().rsplit(".", 1)[-1]
    field = named if named and named.replace("_", "").isalpha() and named.isascii() else None
    field = FIELD_OF.get(error.code) if field is None or error.code in FIELD_OF else field
    field = form.get(error.code) or form.get(field or "", field)
    return {field: message(error)} if field else {}


def without_secrets(values: dict[str, Any]) -> dict[str, Any]:
    """What was typed, to show again on a refused form: never a password, the CSRF token or the
    captcha (a new one is drawn)."""
    hidden = (*SECRET_FIELDS, "csrf_token", "captcha", "captcha_token")
    return {k: v for k, v in values.items() if k not in hidden}

"""The captcha (کد امنیتی): a few digits drawn distorted in a PNG by the `captcha` library, and
who must solve one.

A challenge travels to the browser as a token: its id, its expiry and an HMAC of the answer under
identity's secret. The answer itself never leaves the service, and a token cannot be checked
against a guess without the secret. The first try spends the token's id (a row kept until it
expires), so one image answers one try, right or wrong.

A citizen who cannot see the image asks for the text alternative instead (`kind="text"`): a sum
or a difference of two numbers written in Persian words, which a screen reader reads aloud. Its
answer travels in the same token under the same HMAC, so `solved` checks both kinds alike. It is
easier for a program to read than the image; the limits below bound it the same way. (The library's
AudioCaptcha needs recorded voice files for every digit, which it does not ship.)

Limits per account and per mobile lock out; limits per client address only ask for a captcha:
a پیشخوان office or a mobile carrier's NAT puts many citizens behind one address, and one of
them guessing must not shut the door on the others.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from functools import cache
from typing import Any

from contracts.errors import DomainError
from contracts.identity_rpc import CaptchaAnswer, CaptchaRequest
from contracts.persian import latin_digits
from infra.db import upsert_insert
from services.identity import codes
from services.identity.deps import Deps
from services.identity.keys import identity_secret

DIGITS = 5
"""Digits of a challenge; one more once an address passes `failures_per_client` failures."""
SECONDS = 600
"""How long a challenge can be answered."""

ADDRESS_COUNTERS = {
    "login_code": ("code:client",),
    "register": ("code:client", "registry:client"),
}
"""Per purpose, the per-address counters of requests (codes sent, registry inquiries) past whose
`codes_per_client` a captcha is asked."""


HEIGHT = 80


def _width(digits: int) -> int:
    return 30 * digits + 90  # narrower, the library squeezes the digits into one another


@cache
def _drawer(digits: int) -> Any:
    from captcha.image import ImageCaptcha  # Pillow and the font load once, on first use

    return ImageCaptcha(width=_width(digits), height=HEIGHT, font_sizes=(46, 52, 58))


def _mac(challenge: str, expires: int, answer: str) -> str:
    message = f"captcha:{challenge}:{expires}:{answer}".encode()
    return hmac.new(identity_secret(), message, hashlib.sha256).hexdigest()


def make(now: float, digits: int = DIGITS) -> dict[str, Any]:
    """A new challenge: its token and its image (PNG, base64, with its size in pixels)."""
    answer = "".join(secrets.choice("0123456789") for _ in range(digits))
    challenge, expires = uuid.uuid4().hex, int(now) + SECONDS
    image = _drawer(digits).generate(answer, format="png").getvalue()
    return {
        "token": f"{challenge}.{expires}.{_mac(challenge, expires, answer)}",
        "kind": "image",
        "png_base64": base64.b64encode(image).decode(),
        "digits": digits,
        "width": _width(digits),
        "height": HEIGHT,
    }


ONES = ("صفر", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه")
TEENS = ("ده", "یازده", "دوازده", "سیزده", "چهارده", "پانزده", "شانزده", "هفده", "هجده", "نوزده")
TENS = ("", "", "بیست", "سی", "چهل", "پنجاه", "شصت", "هفتاد", "هشتاد", "نود")
HUNDREDS = ("", "صد", "دویست", "سیصد", "چهارصد", "پانصد", "ششصد", "هفتصد", "هشتصد", "نهصد")


def in_words(number: int) -> str:
    """`number` (0 to 999) in Persian words, as it is read aloud: ۴۷ → «چهل و هفت»."""
    if not 0 <= number <= 999:
        raise ValueError(number)
    hundreds, rest = divmod(number, 100)
    parts = [HUNDREDS[hundreds]] if hundreds else []
    if rest >= 20:
        parts.append(TENS[rest // 10])
        if rest % 10:
            parts.append(ONES[rest % 10])
    elif rest >= 10:
        parts.append(TEENS[rest - 10])
    elif rest or not parts:
        parts.append(ONES[rest])
    return " و ".join(parts)


def make_text(now: float) -> dict[str, Any]:
    """A new text challenge: its token and its question, two two-digit numbers added or
    subtracted (never below zero), in words; the answer is typed in digits."""
    first, second = 11 + secrets.randbelow(89), 11 + secrets.randbelow(89)
    if secrets.randbelow(2):
        first, second = max(first, second), min(first, second)
        question, answer = f"{in_words(first)} منهای {in_words(second)}", first - second
    else:
        question, answer = f"{in_words(first)} به علاوه {in_words(second)}", first + second
    challenge, expires = uuid.uuid4().hex, int(now) + SECONDS
    return {
        "token": f"{challenge}.{expires}.{_mac(challenge, expires, str(answer))}",
        "kind": "text",
        "question": question,
    }


def solved(deps: Deps, answer: CaptchaAnswer | None) -> bool:
    """True when `answer` solves its unexpired, unspent challenge. Any try spends the challenge.

    The answer may be typed in Persian, Arabic or Latin digits, with spaces; the token's kind
    (image or text) does not matter."""
    if answer is None:
        return False
    challenge, expires_text, mac = answer.token.split(".")
    now, expires = deps.clock(), int(expires_text)
    if not now <= expires <= now + SECONDS:  # expired, or forged to stay in the table for ever
        return False
    table = codes.captchas_spent_table
    with deps.db.write.begin() as conn:
        spent = conn.execute(
            upsert_insert(deps.db.url, table)
            .values(challenge=challenge, expires_at=expires)
            .on_conflict_do_nothing(index_elements=["challenge"])
        )
        conn.execute(table.delete().where(table.c.expires_at < now))
    if spent.rowcount != 1:
        return False
    typed = re.sub(r"\s", "", latin_digits(answer.answer))
    return hmac.compare_digest(mac, _mac(challenge, expires, typed))


def _count(deps: Deps, key: str) -> int:
    return codes.count(deps.db, deps.clock(), key, deps.limits)


def needed(deps: Deps, purpose: str, client: str) -> bool:
    """Whether a form of `purpose` sent from `client` must carry a solved captcha now (as far as
    the address tells: an account's own failures are known only once it is typed)."""
    limits = deps.limits
    if purpose in ("mobile_code", "reset"):
        return True
    if purpose in ("login", "staff_login"):
        return _count(deps, f"fail:client:{client}") >= limits.captcha_after
    return any(
        _count(deps, f"{counter}:{client}") >= limits.codes_per_client
        for counter in ADDRESS_COUNTERS.get(purpose, ())
    )


def challenge(deps: Deps, request: CaptchaRequest) -> dict[str, Any]:
    """What a form of `request.purpose` shows: `{"required": False}`, or a new challenge (also
    when `request.force`, after a refusal): an image, longer for an address with many failures,
    or the text alternative when `request.kind` asks for it."""
    if not (request.force or needed(deps, request.purpose, request.client)):
        return {"required": False}
    if request.kind == "text":
        return {"required": True, **make_text(deps.clock())}
    failures = _count(deps, f"fail:client:{request.client}")
    digits = DIGITS + 1 if failures >= deps.limits.failures_per_client else DIGITS
    return {"required": True, **make(deps.clock(), digits)}


def address_limit(deps: Deps, key: str, most: int, captcha_ok: bool) -> None:
    """Count one use of `key` (a client address's counter); past `most` within the window,
    `captcha_required` unless the command carried a solved captcha (never a refusal)."""
    now = deps.clock()
    if codes.count(deps.db, now, key, deps.limits) >= most and not captcha_ok:
        raise DomainError("captcha_required")
    codes.record(deps.db, now, key)


def check(deps: Deps, answer: CaptchaAnswer) -> dict[str, Any]:
    """`{"ok": True}` when `answer` solves its challenge, else `captcha_required`; spends it either
    way. For forms whose per-address limit another service keeps (public tracking)."""
    if not solved(deps, answer):
        raise DomainError("captcha_required")
    return {"ok": True}

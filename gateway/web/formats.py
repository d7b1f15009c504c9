"""How pages and printouts write what people typed and how big a file is: one formatter each,
used by the templates (as filters) and by the printed reply alike."""

from __future__ import annotations

import re

from markupsafe import Markup

from contracts.persian import persian_digits

_LATIN_TOKEN = re.compile(r"\S*[A-Za-z]\S*")
"""A run without spaces holding a Latin letter: an e-mail or web address, a code like «ISO9001»."""

KILOBYTE = 1024
LRI, PDI = "\u2066", "\u2069"
"""Unicode's left-to-right isolate and its end: plain text's <bdi dir="ltr">."""


def persian_text(text: str | None) -> str:
    """Free text as a clerk typed it, with Persian digits («ماده 17» → «ماده ۱۷») except inside
    left-to-right tokens, whose digits stay Latin (an address must still work when copied)."""
    if not text:
        return ""
    pieces: list[str] = []
    last = 0
    for token in _LATIN_TOKEN.finditer(text):
        pieces += [persian_digits(text[last : token.start()]), token.group()]
        last = token.end()
    pieces.append(persian_digits(text[last:]))
    return "".join(pieces)


def file_size(size: int | None) -> str:
    """A file's size in Persian with the unit that suits it: «۷۰۰ بایت», «۱٫۵ کیلوبایت»,
    «۲ مگابایت» (never «۰ کیلوبایت» for a small file). One decimal, dropped when it is zero."""
    size = max(int(size or 0), 0)
    if size < KILOBYTE:
        return f"{persian_digits(str(size))} بایت"
    kilobytes = round(size / KILOBYTE, 1)
    if kilobytes < KILOBYTE:
        return f"{_decimal(kilobytes)} کیلوبایت"
    return f"{_decimal(round(size / KILOBYTE / KILOBYTE, 1))} مگابایت"


def _decimal(amount: float) -> str:
    """«۱٫۵» (the Persian decimal separator), «۲» for a whole number."""
    text = str(int(amount)) if amount.is_integer() else str(amount).replace(".", "٫")
    return persian_digits(text)


def ltr(value: object, missing: str = "") -> Markup:
    """A registration number, tracking code or date inside a Persian sentence, isolated so the
    bidi algorithm cannot reorder it or its neighbours («tehran/۱/۱۴۰۵» was «۱۴۰۵/tehran/۱»
    reversed): `<bdi dir="ltr" class="code">۱۴۰۵/۲۳/۵</bdi>`, Persian digits, escaped, on one
    line. A number given before the numeric province code («1405/tehran/5») is shown as stored,
    isolated the same way, so it reads in its order. No value: `missing` (Persian words, not
    isolated), escaped."""
    if value is None or value == "":
        return Markup("{}").format(missing)
    return Markup('<bdi dir="ltr" class="code">{}</bdi>').format(persian_digits(str(value)))


def ltr_text(value: object) -> str:
    """`ltr` for plain text (an SMS, a PDF line): Persian digits between LRI and PDI."""
    if value is None or value == "":
        return ""
    return f"{LRI}{persian_digits(str(value))}{PDI}"

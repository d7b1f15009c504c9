"""How pages and printouts write what people typed and how big a file is: one formatter each,
used by the templates (as filters) and by the printed reply alike."""

from __future__ import annotations

import re

from contracts.persian import persian_digits

_LATIN_TOKEN = re.compile(r"\S*[A-Za-z]\S*")
"""A run without spaces holding a Latin letter: an e-mail or web address, a code like «ISO9001»."""

KILOBYTE = 1024


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

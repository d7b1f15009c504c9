"""Normal forms of what citizens type: digits of any script, Arabic ي/ك, mobiles, national codes.

The rules themselves live in `contracts.normalise`; these are the names the services use.
"""

from __future__ import annotations

import re

from contracts import normalise

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def latin_digits(text: str) -> str:
    """Digits of every script (Persian, Arabic-Indic, fullwidth, …) as Latin digits."""
    return normalise.ascii_digits(text)


def persian_digits(text: str) -> str:
    """Latin digits as Persian digits, for pages."""
    return text.translate(_PERSIAN_DIGITS)


def normalize_text(text: str) -> str:
    """Free text as typed (its digits too) with Arabic ي and ك as Persian ی and ک, CRLF as a
    newline, invisible characters at either end trimmed; `normalise.RefusedInput` when it holds
    a control character or a bidi override (see `contracts.normalise.text`)."""
    return normalise.text(text)


def normalize_code(text: str) -> str:
    """A code or number typed with any digits, as ASCII digits (see `contracts.normalise.code`)."""
    return normalise.code(text)


def normalize_mobile(text: str) -> str | None:
    """09xxxxxxxxx from 09…, 9…, +989…, 00989… (with any digits and separators), else None."""
    digits = re.sub(r"[\s\-()]", "", normalise.code(text))
    for prefix in ("+98", "0098", "98"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 10:
            digits = digits[len(prefix) :]
            break
    if len(digits) == 10 and digits.startswith("9"):
        digits = "0" + digits
    return digits if re.fullmatch(r"09[0-9]{9}", digits) else None


def is_national_code(code: str) -> bool:
    """True for a 10-digit Iranian national code (کد ملی) with a valid check digit."""
    if not re.fullmatch(r"[0-9]{10}", code) or len(set(code)) == 1:  # ASCII: see normalize_code
        return False
    total = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    check = int(code[9])
    return check == total if total < 2 else check == 11 - total


def is_national_id(code: str) -> bool:
    """True for an 11-digit national id of a legal entity (شناسه ملی) with a valid check digit."""
    if not re.fullmatch(r"[0-9]{11}", code) or len(set(code)) == 1:
        return False
    digits = [int(c) for c in code]
    shift = digits[9] + 2
    weights = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)
    total = sum((digits[i] + shift) * weights[i] for i in range(10)) % 11
    return digits[10] == (0 if total == 10 else total)

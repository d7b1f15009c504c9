"""Normal forms of what citizens type: Persian/Arabic digits, Arabic ي/ك, mobiles, national codes."""

from __future__ import annotations

import re

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "\u200c": "\u200c"})
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def latin_digits(text: str) -> str:
    """Persian and Arabic-Indic digits as Latin digits."""
    return text.translate(_DIGITS)


def persian_digits(text: str) -> str:
    """Latin digits as Persian digits, for pages."""
    return text.translate(_PERSIAN_DIGITS)


def normalize_text(text: str) -> str:
    """Arabic ي and ك as Persian ی and ک, digits as Latin, outer spaces trimmed."""
    return latin_digits(text.translate(_LETTERS)).strip()


def normalize_mobile(text: str) -> str | None:
    """09xxxxxxxxx from 09…, 9…, +989…, 00989… (with any digits and separators), else None."""
    digits = re.sub(r"[\s\-()]", "", latin_digits(text))
    for prefix in ("+98", "0098", "98"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 10:
            digits = digits[len(prefix) :]
            break
    if len(digits) == 10 and digits.startswith("9"):
        digits = "0" + digits
    return digits if re.fullmatch(r"09\d{9}", digits) else None


def is_national_code(code: str) -> bool:
    """True for a 10-digit Iranian national code (کد ملی) with a valid check digit."""
    if not re.fullmatch(r"\d{10}", code) or len(set(code)) == 1:
        return False
    total = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    check = int(code[9])
    return check == total if total < 2 else check == 11 - total


def is_national_id(code: str) -> bool:
    """True for an 11-digit national id of a legal entity (شناسه ملی) with a valid check digit."""
    if not re.fullmatch(r"\d{11}", code) or len(set(code)) == 1:
        return False
    digits = [int(c) for c in code]
    shift = digits[9] + 2
    weights = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)
    total = sum((digits[i] + shift) * weights[i] for i in range(10)) % 11
    return digits[10] == (0 if total == 10 else total)

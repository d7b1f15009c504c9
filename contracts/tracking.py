"""Tracking codes (کد رهگیری): 12 digits, 10 random and 2 check digits (ISO 7064 MOD 97-10).

Random digits make codes unguessable (10^10 possibilities); the check digits catch every
single mistyped digit and every swap of two neighbouring digits.
"""

from __future__ import annotations

import re
import secrets

from contracts.persian import latin_digits


def _check_digits(body: str) -> str:
    return f"{98 - (int(body) * 100) % 97:02d}"


def new_tracking_code() -> str:
    """A fresh random tracking code with its check digits."""
    body = f"{secrets.randbelow(9 * 10**9) + 10**9}"
    return body + _check_digits(body)


def normalize_tracking_code(text: str) -> str | None:
    """The code in Latin digits without separators, or None when it is malformed or mistyped."""
    code = re.sub(r"[\s\-]", "", latin_digits(text))
    if not re.fullmatch(r"\d{12}", code):
        return None
    return code if _check_digits(code[:10]) == code[10:] else None

"""The one normaliser of what people type, applied to every field before a command is decided.

Two kinds of field:

- **codes and numbers** (national code and id, mobile, postal code, tracking code, registration
  number, dates, one-time codes): NFKC, then the digits of every script (Persian, Arabic-Indic,
  fullwidth, Devanagari, mathematical, …) as ASCII digits, invisible characters dropped; only
  then are the check digit and uniqueness tested, so a copy typed with other digits is the same
  code, not a second one.
- **free text** (names, subjects, letters, replies, notes, search boxes): kept as typed (Persian
  digits stay Persian) except Arabic ي/ك as Persian ی/ک and CRLF as a newline; control
  characters other than newline and tab, unpaired surrogates and the bidi overrides and
  isolates are refused (`RefusedInput`), and text made only of invisible characters is empty.

Whatever passes can be stored by every read model (PostgreSQL text holds no NUL) and shown on
every page without reordering the characters around it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Embeddings, overrides and isolates: they reorder what is shown after them (U+202A–U+202E,
U+2066–U+2069). The marks LRM/RLM/ALM only nudge neutral characters and are kept."""

_REFUSED_ANYWHERE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff" + BIDI_CONTROLS + "]")
"""What no field may hold: C0/C1 controls except tab, newline and carriage return, unpaired
surrogates (no UTF-8 for them), and the bidi controls."""
_REFUSED_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff" + BIDI_CONTROLS + "]")
"""The same in free text once CRLF became a newline: a lone carriage return is refused too."""

_EXTRA_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0" + "".join(chr(c) for c in range(0xFE00, 0xFE10))
)
"""Blank-looking characters that are not in a space or format category (Hangul fillers, the
braille blank, the combining grapheme joiner, variation selectors, …)."""

Reason = Literal["control", "bidi", "surrogate"]

LABELS: dict[str, str] = {
    "full_name": "نام و نام خانوادگی",
    "first_name": "نام",
    "last_name": "نام خانوادگی",
    "father_name": "نام پدر",
    "owner_name": "نام مالک یا نماینده",
    "company_name": "نام شرکت/موسسه",
    "subject": "موضوع",
    "text": "متن",
    "body": "متن پاسخ",
    "reason": "علت",
    "instruction": "دستور ارجاع",
    "note": "یادداشت",
    "notes": "توضیحات",
    "comment": "نظر",
    "title": "عنوان",
    "name": "نام",
    "description": "توضیحات",
    "address": "نشانی",
    "email": "ایمیل",
    "landline": "تلفن ثابت",
    "national_code": "کد ملی",
    "owner_national_code": "کد ملی مالک یا نماینده",
    "respondent_national_code": "کد ملی",
    "national_id": "شناسه ملی",
    "company_national_id": "شناسه ملی شرکت/موسسه",
    "economic_code": "کد اقتصادی",
    "mobile": "تلفن همراه",
    "owner_mobile": "تلفن همراه مالک یا نماینده",
    "postal_code": "کد پستی",
    "tracking_code": "کد رهگیری",
    "registration_number": "شماره ثبت",
    "legal_basis": "مستند قانونی",
    "appeal_authority": "مرجع رسیدگی به اعتراض",
    "appeal_deadline": "مهلت اعتراض",
    "visit_description": "شرح مراجعه",
    "visit_officer": "متصدی",
    "unit_name": "نام واحد",
    "province": "استان",
    "unit": "واحد سازمانی",
    "service_id": "شناسه خدمت",
    "password": "گذرواژه",
}
"""Persian names of fields, for messages that say which field was refused."""

_PROBLEMS: dict[Reason, str] = {
    "control": "نویسه‌ی کنترلی نامرئی",
    "bidi": "نویسه‌ی پنهان تغییر جهت متن",
    "surrogate": "نویسه‌ی ناقص (نیم‌جفت یونی‌کد)",
}


class RefusedInput(ValueError):
    """A field holds a character no field may hold; `describe` says which, in Persian."""

    def __init__(self, reason: Reason, char: str, field: str = "") -> None:
        self.reason = reason
        self.char = char
        self.field = field
        super().__init__(f"{field or 'value'}: refused character U+{ord(char):04X} ({reason})")

    def sentence(self, field: str = "") -> str:
        """The Persian message naming the field (`field`: the place the validation error gives,
        when this error does not know its own)."""
        name = self.field or field
        label = LABELS.get(name.rsplit(".", 1)[-1], name)
        where = f"«{label}»" if label else "متن"
        problem = f"{_PROBLEMS[self.reason]} (U+{ord(self.char):04X})"
        return f"{where} {problem} دارد که پذیرفته نیست؛ آن را دوباره تایپ کنید."

    def describe(self, field: str = "") -> str:
        """The error's detail: the field's place, then `sentence`."""
        name = self.field or field
        return f"{name}: {self.sentence(field)}" if name else self.sentence(field)


def _reason(char: str) -> Reason:
    if char in BIDI_CONTROLS:
        return "bidi"
    return "surrogate" if "\ud800" <= char <= "\udfff" else "control"


def ascii_digits(text: str) -> str:
    """Every decimal digit of any script (and other digit characters) as its ASCII digit."""
    if text.isascii():
        return text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
            continue
        value = unicodedata.decimal(char, None)
        if value is None:
            value = unicodedata.digit(char, None)
        out.append(char if value is None else str(value))
    return "".join(out)


def is_invisible(char: str) -> bool:
    """True for a character that shows nothing: spaces, ZWNJ/ZWJ, ZWSP, BOM, marks, fillers."""
    return (
        char.isspace() or unicodedata.category(char) in ("Cf", "Zs", "Zl", "Zp") or char in _EXTRA_INVISIBLE
    )


def is_blank(text: str) -> bool:
    """True when `text` shows nothing (empty, or only invisible characters)."""
    return all(is_invisible(char) for char in text)


def _strip_invisible(text: str) -> str:
    start, end = 0, len(text)
    while start < end and is_invisible(text[start]):
        start += 1
    while end > start and is_invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def code(text: str) -> str:
    """A code or number as typed with any digits: NFKC, ASCII digits, format characters (ZWNJ,
    bidi marks, BOM, …) dropped, outer spaces trimmed. Never refuses: the code's own rule does."""
    folded = ascii_digits(unicodedata.normalize("NFKC", text))
    return "".join(c for c in folded if unicodedata.category(c) != "Cf").strip()


def text(value: str, field: str = "") -> str:
    """Free text as typed, with Persian ی/ک, newlines for CRLF and no invisible characters at
    either end ("" when there is nothing visible); `RefusedInput` for a control character, an
    unpaired surrogate or a bidi override."""
    value = value.replace("\r\n", "\n")
    found = _REFUSED_IN_TEXT.search(value)
    if found is not None:
        raise RefusedInput(_reason(found.group()), found.group(), field)
    return _strip_invisible(value.translate(_LETTERS))


def refused(value: Any, path: str = "") -> RefusedInput | None:
    """The first string inside `value` (dict keys and values, lists, tuples) holding what no field
    may hold, as a `RefusedInput` naming its place; None when everything is storable."""
    if isinstance(value, str):
        found = _REFUSED_ANYWHERE.search(value)
        return None if found is None else RefusedInput(_reason(found.group()), found.group(), path)
    if isinstance(value, dict):
        for key, item in value.items():
            place = f"{path}.{key}" if path else str(key)
            problem = refused(key, place) if isinstance(key, str) else None
            if problem is None:
                problem = refused(item, place)
            if problem is not None:
                return problem
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = refused(item, f"{path}.{index}" if path else str(index))
            if problem is not None:
                return problem
    return None


def without_refused(value: str) -> str:
    """`value` without what no field may hold: to show a refused form again, never to store."""
    return _REFUSED_IN_TEXT.sub("", value.replace("\r\n", "\n"))


def check_storable(value: Any, path: str = "") -> None:
    """Raise `refused`'s finding, if any."""
    problem = refused(value, path)
    if problem is not None:
        raise problem

"""Field types every payload shares: what citizens type, checked and in one normal form.

`Text` is free text (kept as typed, refused when it holds control characters or bidi overrides);
the others are codes and numbers, whose digits of any script become ASCII before their rule is
checked (see `contracts.normalise`).
"""

from __future__ import annotations

import re
from typing import Annotated

import jdatetime
from pydantic import AfterValidator, BeforeValidator

from contracts import normalise
from contracts.errors import register_messages
from contracts.persian import is_national_code, is_national_id, normalize_mobile

FULL_NAME_MAX = 200
"""The longest full name any read model keeps: a first and a last name joined by a space."""

register_messages({"name_too_long": (422, "نام و نام خانوادگی روی هم حداکثر ۲۰۰ نویسه مجاز است.")})


def _text(value: object) -> object:
    return normalise.text(value) if isinstance(value, str) else value


def _code(value: object) -> object:
    return normalise.code(value) if isinstance(value, str) else value


def _national_code(value: str) -> str:
    if not is_national_code(value):
        raise ValueError("invalid_national_code")
    return value


def _national_id(value: str) -> str:
    if not is_national_id(value):
        raise ValueError("invalid_national_id")
    return value


def _mobile(value: str) -> str:
    mobile = normalize_mobile(value)
    if mobile is None:
        raise ValueError("invalid_mobile")
    return mobile


def check_full_name(first: str | None, last: str | None) -> None:
    """Refuse (`name_too_long`) a first and last name that, joined, no read model can keep."""
    if first and last and len(first) + 1 + len(last) > FULL_NAME_MAX:
        raise ValueError("name_too_long")


def _email(value: str) -> str:
    address = value.strip().lower()
    if len(address) > 200 or not re.fullmatch(r"[^@\s<>\"']+@[^@\s<>\"']+\.[a-z]{2,}", address):
        raise ValueError("email_required")
    return address


def _birth_date(value: str) -> str:
    """A Jalali yyyy/mm/dd (also with - or . and one-digit month/day), as yyyy/mm/dd."""
    match = re.fullmatch(r"(1[23][0-9]{2})[/\-.]([0-9]{1,2})[/\-.]([0-9]{1,2})", value)
    if match is None:
        raise ValueError("invalid_birth_date")
    year, month, day = (int(part) for part in match.groups())
    try:
        date = jdatetime.date(year, month, day)
    except ValueError:
        raise ValueError("invalid_birth_date") from None
    if date > jdatetime.date.today():
        raise ValueError("invalid_birth_date")
    return f"{year:04d}/{month:02d}/{day:02d}"


Text = Annotated[str, BeforeValidator(_text)]
"""Free text as typed, with Persian ی/ک, trimmed; "" when only invisible characters were typed."""
OptionalText = Annotated[str | None, BeforeValidator(_text)]
"""`Text`, or nothing."""
Digits = Annotated[str, BeforeValidator(_code)]
"""A code or number as typed with any digits: ASCII digits, no invisible characters, trimmed."""
OptionalDigits = Annotated[str | None, BeforeValidator(_code)]
"""`Digits`, or nothing."""
NationalCode = Annotated[str, BeforeValidator(_code), AfterValidator(_national_code)]
"""A 10-digit national code (کد ملی) with a valid check digit."""
NationalId = Annotated[str, BeforeValidator(_code), AfterValidator(_national_id)]
"""An 11-digit national id of a legal entity (شناسه ملی) with a valid check digit."""
Mobile = Annotated[str, BeforeValidator(_code), AfterValidator(_mobile)]
"""A mobile number in its one normal form, 09xxxxxxxxx."""
BirthDate = Annotated[str, BeforeValidator(_code), AfterValidator(_birth_date)]
"""A Jalali date in the past, as yyyy/mm/dd."""
Email = Annotated[str, BeforeValidator(_code), AfterValidator(_email)]
"""An e-mail address, lower-cased."""

"""Field types every payload shares: what citizens type, checked and in one normal form."""

from __future__ import annotations

import re
from typing import Annotated

import jdatetime
from pydantic import AfterValidator, BeforeValidator

from contracts.persian import is_national_code, is_national_id, normalize_mobile, normalize_text


def _text(value: object) -> object:
    return normalize_text(value) if isinstance(value, str) else value


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


def _email(value: str) -> str:
    address = value.strip().lower()
    if len(address) > 200 or not re.fullmatch(r"[^@\s<>\"']+@[^@\s<>\"']+\.[a-z]{2,}", address):
        raise ValueError("email_required")
    return address


def _birth_date(value: str) -> str:
    """A Jalali yyyy/mm/dd (also with - or . and one-digit month/day), as yyyy/mm/dd."""
    match = re.fullmatch(r"(1[23]\d\d)[/\-.](\d{1,2})[/\-.](\d{1,2})", value)
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
"""Text with Persian ی/ک and Latin digits, trimmed."""
OptionalText = Annotated[str | None, BeforeValidator(_text)]
"""`Text`, or nothing."""
NationalCode = Annotated[str, BeforeValidator(_text), AfterValidator(_national_code)]
"""A 10-digit national code (کد ملی) with a valid check digit."""
NationalId = Annotated[str, BeforeValidator(_text), AfterValidator(_national_id)]
"""An 11-digit national id of a legal entity (شناسه ملی) with a valid check digit."""
Mobile = Annotated[str, BeforeValidator(_text), AfterValidator(_mobile)]
"""A mobile number in its one normal form, 09xxxxxxxxx."""
BirthDate = Annotated[str, BeforeValidator(_text), AfterValidator(_birth_date)]
"""A Jalali date in the past, as yyyy/mm/dd."""
Email = Annotated[str, BeforeValidator(_text), AfterValidator(_email)]
"""An e-mail address, lower-cased."""

"""The fields of the six-step wizard (seed 003) and of the letter forms (seeds 000–002), and
their rules. A rule that fails gives a Persian message for its field; nothing is thrown away.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import jdatetime

from contracts.catalogue import PROVINCES, ServicePublished
from contracts.persian import is_national_code, is_national_id, normalize_mobile, persian_digits
from contracts.requests import PREVIOUS_RESULTS

MAX_NAME = 200  # seeds 000–002: name and subject at most 200 characters
MAX_TEXT = 4000

WIZARD_FIELDS: dict[int, tuple[str, ...]] = {
    2: ("text",),
    4: ("national_code", "first_name", "last_name", "mobile", "landline", "email", "address"),
    5: ("visit_officer", "visit_date", "previous_result", "visit_description"),
}
NATURAL_FIELDS = (
    "full_name", "national_code", "father_name", "birth_date", "mobile", "province", "subject", "address",
)  # fmt: skip
LEGAL_FIELDS = (
    "owner_name", "owner_national_code", "owner_mobile", "owner_birth_date",
    "company_name", "company_national_id", "province", "subject",
)  # fmt: skip
ALL_FIELDS = frozenset(
    {"kind", "text", "addressee_unit"}
    | set(NATURAL_FIELDS)
    | set(LEGAL_FIELDS)
    | {n for names in WIZARD_FIELDS.values() for n in names}
)
"""Every field a draft keeps; anything else a client posts is dropped."""
REQUIRED = "این فیلد الزامی است."

Errors = dict[str, str]


def day_of(at: datetime) -> jdatetime.date:
    """The Jalali day of the moment `at` (its own date, as the server's clock gives it in UTC):
    the "today" a date typed in a form may not pass."""
    return jdatetime.date.fromgregorian(date=at.date())


def is_jalali_date(text: str, *, past: bool = False, today: jdatetime.date | None = None) -> bool:
    """True for a real Jalali date yyyy/mm/dd (not after `today` when `past`; None: the
    machine's today)."""
    match = re.fullmatch(r"(1[34]\d\d)[/\-](\d{1,2})[/\-](\d{1,2})", text)
    if not match:
        return False
    try:
        day = jdatetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return False
    return not past or day <= (today or jdatetime.date.today())


def _required(fields: dict[str, str], names: Iterable[str], errors: Errors) -> None:
    for name in names:
        if not fields.get(name, "").strip():
            errors.setdefault(name, REQUIRED)


def _length(fields: dict[str, str], name: str, limit: int, errors: Errors) -> None:
    if len(fields.get(name, "")) > limit:
        errors.setdefault(name, f"حداکثر {persian_digits(str(limit))} نویسه مجاز است.")


def _person(
    fields: dict[str, str],
    code: str,
    mobile: str,
    birth: str | None,
    errors: Errors,
    today: jdatetime.date | None,
) -> None:
    if fields.get(code) and not is_national_code(fields[code]):
        errors[code] = "کد ملی وارد شده معتبر نیست."
    if fields.get(mobile) and normalize_mobile(fields[mobile]) is None:
        errors[mobile] = "شماره تلفن همراه معتبر نیست؛ مانند ۰۹۱۲۱۲۳۴۵۶۷ وارد کنید."
    if birth and fields.get(birth) and not is_jalali_date(fields[birth], past=True, today=today):
        errors[birth] = "تاریخ تولد را به شکل ۱۳۶۵/۰۴/۲۱ وارد کنید."


def check_wizard_step(
    step: int,
    fields: dict[str, str],
    service: ServicePublished,
    attachments: int,
    today: jdatetime.date | None = None,
) -> Errors:
    """The messages for one wizard step's fields (empty when the step is complete); a date may
    not pass `today` (None: the machine's)."""
    errors: Errors = {}
    if step == 2:
        _required(fields, ("text",), errors)
        _length(fields, "text", MAX_TEXT, errors)
    elif step == 3 and service.attachment_rules.required and attachments == 0:
        errors["attachments"] = "پیوست کردن دست کم یک فایل برای این خدمت الزامی است."
    elif step == 4:
        _required(fields, ("national_code", "first_name", "last_name", "mobile"), errors)
        for name in ("first_name", "last_name"):
            _length(fields, name, 100, errors)
        if len(fields.get("first_name", "")) + 1 + len(fields.get("last_name", "")) > MAX_NAME:
            errors.setdefault("last_name", "نام و نام خانوادگی روی هم حداکثر ۲۰۰ نویسه مجاز است.")
        _person(fields, "national_code", "mobile", None, errors, today)
        landline = fields.get("landline", "")
        if landline and not re.fullmatch(r"0\d{9,10}", re.sub(r"[\s\-]", "", landline)):
            errors["landline"] = "تلفن ثابت را با پیش‌شماره وارد کنید؛ مانند ۰۲۱۸۸۷۷۶۶۵۵."
        email = fields.get("email", "")
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", email):
            errors["email"] = "نشانی ایمیل معتبر نیست."
        _length(fields, "address", 500, errors)
    elif step == 5:
        if fields.get("visit_date") and not is_jalali_date(fields["visit_date"], past=True, today=today):
            errors["visit_date"] = "تاریخ مراجعه را به شکل ۱۴۰۳/۰۲/۱۵ وارد کنید (نه در آینده)."
        officers = {o.name for o in service.officers}
        if fields.get("visit_officer") and officers and fields["visit_officer"] not in officers:
            errors["visit_officer"] = "متصدی را از فهرست انتخاب کنید."
        if fields.get("previous_result") and fields["previous_result"] not in PREVIOUS_RESULTS:
            errors["previous_result"] = "نتیجه مراجعه را از فهرست انتخاب کنید."
        _length(fields, "visit_description", 1000, errors)
    return errors


def check_letter(
    fields: dict[str, str],
    service: ServicePublished,
    attachments: int,
    today: jdatetime.date | None = None,
) -> Errors:
    """The messages for a letter form (natural person or legal entity)."""
    errors: Errors = {}
    if fields.get("kind", "natural") == "legal":
        _required(fields, LEGAL_FIELDS, errors)
        _person(fields, "owner_national_code", "owner_mobile", "owner_birth_date", errors, today)
        nid = fields.get("company_national_id", "")
        if nid and not is_national_id(nid):
            errors["company_national_id"] = "شناسه ملی شرکت/موسسه معتبر نیست (۱۱ رقم)."
        for name in ("owner_name", "company_name", "subject"):
            _length(fields, name, MAX_NAME, errors)
    else:
        _required(fields, ("full_name", "national_code", "mobile", "province", "subject"), errors)
        _person(fields, "national_code", "mobile", "birth_date", errors, today)
        for name in ("full_name", "father_name", "subject"):
            _length(fields, name, MAX_NAME, errors)
        _length(fields, "address", 500, errors)
    if fields.get("province") and fields["province"] not in PROVINCES:
        errors["province"] = "استان مورد درخواست را از فهرست انتخاب کنید."
    _length(fields, "text", MAX_TEXT, errors)
    if service.attachment_rules.required and attachments == 0:
        errors["attachments"] = "فایل درخواست را بارگذاری کنید."
    return errors


def check_all(
    fields: dict[str, str],
    service: ServicePublished,
    attachments: int,
    today: jdatetime.date | None = None,
) -> Errors:
    """Every rule of the service's form, before ثبت و ارسال."""
    if service.form == "letter":
        return check_letter(fields, service, attachments, today)
    errors: Errors = {}
    for step in (2, 3, 4, 5):
        errors.update(check_wizard_step(step, fields, service, attachments, today))
    return errors


def first_step_with_errors(errors: Errors) -> int:
    """The wizard step holding the first failing field (the review step when none)."""
    for step in (2, 3, 4, 5):
        names = WIZARD_FIELDS.get(step, ("attachments",))
        if any(name in errors for name in names):
            return step
    return 6

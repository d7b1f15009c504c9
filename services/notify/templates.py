"""The Persian message texts: one seed text per occasion, overridable per organisation.

A text names its values in braces (`{tracking_code}`); an administrator's text may use only the
names its template offers, so a typo is refused when saved, not when a citizen should be told.
Each organisation's texts of one template are an aggregate (`texts`, the stream
`notify-template-<organisation>-<template>`): its versions, the last one's text.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from contracts.errors import DomainError
from contracts.events import Event
from contracts.notify import ChangeTemplate, SmsTemplateChanged
from contracts.persian import persian_digits
from infra.decider import Decider

DEFAULT_ORGANISATION = "*"
ISOLATED = ("tracking_code", "registration_number")
"""Values printed between LRI (U+2066) and PDI (U+2069), as pages wrap them in <bdi dir="ltr">: a
phone lays the Persian sentence out right to left, and an isolate keeps a number in its order and
keeps the words beside it (a Persian full stop, a Latin letter of an old «1405/tehran/5») from
being pulled into it."""


@dataclass(frozen=True)
class Template:
    """One occasion: its seed text, the values it may use, and its Persian title."""

    name: str
    title: str
    text: str
    values: tuple[str, ...]


_SEEDS = (
    Template(
        "request_received",
        "ثبت درخواست",
        "شهروند گرامی، درخواست شما با کد رهگیری {tracking_code} ثبت شد. "
        "نتیجه از طریق پیامک اطلاع‌رسانی می‌گردد.",
        ("tracking_code",),
    ),
    Template(
        "request_registered",
        "ثبت در دبیرخانه",
        "کاربر گرامی، درخواست شما در دبیرخانه با شماره {registration_number} ثبت گردید. "
        "فرآیند پاسخگویی از طریق پیامک اطلاع رسانی میگردد.",
        ("registration_number", "tracking_code"),
    ),
    Template(
        "returned_for_correction",
        "بازگشت برای اصلاح",
        "درخواست شما با کد رهگیری {tracking_code} برای اصلاح به شما بازگردانده شد. "
        "لطفاً به کارتابل خود مراجعه کنید.",
        ("tracking_code", "reason"),
    ),
    Template(
        "reply_posted",
        "ثبت پاسخ",
        "یک پاسخ برای درخواست با کد رهگیری {tracking_code} ثبت شده است.",
        ("tracking_code",),
    ),
    Template(
        "final_reply_posted",
        "پاسخ نهایی و دعوت به نظرسنجی",
        "یک پاسخ برای درخواست با کد رهگیری {tracking_code} ثبت شده است. "
        "لطفاً با همین کد در «نظرسنجی و پیگیری درخواست» شرکت نمایید.",
        ("tracking_code",),
    ),
    Template(
        "citizen_registered",
        "ثبت‌نام",
        "ثبت‌نام شما در پیشخوان خدمت انجام شد. برای ثبت درخواست، هویت شما باید تایید شود.",
        (),
    ),
    Template(
        "citizen_registered_verified",
        "ثبت‌نام با استعلام ثبت احوال",
        "ثبت‌نام شما در پیشخوان خدمت انجام شد و هویت شما با استعلام ثبت احوال تایید شد؛ "
        "اکنون می‌توانید درخواست خود را ثبت کنید.",
        (),
    ),
    Template(
        "verification_approved",
        "تایید هویت",
        "هویت شما در پیشخوان خدمت تایید شد؛ اکنون می‌توانید درخواست خود را ثبت کنید.",
        (),
    ),
    Template(
        "verification_rejected",
        "رد احراز هویت",
        "احراز هویت شما در پیشخوان خدمت تایید نشد. علت: {reason}",
        ("reason",),
    ),
    Template(
        "ticket_answered",
        "پاسخ تیکت پشتیبانی",
        "شهروند گرامی، برای تیکت شماره {ticket_number} شما پاسخی از سوی پشتیبانی ثبت شد. "
        "برای دیدن آن به «تیکت‌های من» در میز کار خود مراجعه کنید.",
        ("ticket_number",),
    ),
    Template("otp_login", "رمز یکبار مصرف ورود", "کد ورود شما به پیشخوان خدمت: {code}", ("code",)),
    Template("otp_register", "رمز یکبار مصرف ثبت‌نام", "کد تایید ثبت‌نام در پیشخوان خدمت: {code}", ("code",)),
    Template(
        "otp_reset_password",
        "رمز یکبار مصرف بازیابی",
        "کد بازیابی رمز عبور پیشخوان خدمت: {code}\nاین کد را در اختیار دیگری قرار ندهید.",
        ("code",),
    ),
    Template(
        "otp_staff_login",
        "رمز یکبار مصرف کارکنان",
        "کد ورود کارکنان به پیشخوان خدمت: {code}",
        ("code",),
    ),
    Template(
        "email_activate_account",
        "فعال‌سازی حساب کاربری",
        "برای فعال‌سازی حساب کاربری خود در پیشخوان خدمت، پیوند زیر را باز کنید:\n{link}\n"
        "این پیوند تنها یک بار و برای مدتی کوتاه معتبر است.",
        ("link",),
    ),
    Template(
        "email_reset_password",
        "بازیابی رمز عبور",
        "برای تعیین رمز عبور تازه در پیشخوان خدمت، پیوند زیر را باز کنید:\n{link}\n"
        "اگر این درخواست از شما نبوده است، این پیام را نادیده بگیرید.",
        ("link",),
    ),
    Template(
        "otp_verify_mobile",
        "تایید شماره همراه",
        "کد تایید شماره همراه در پیشخوان خدمت: {code}",
        ("code",),
    ),
)

TEMPLATES: dict[str, Template] = {t.name: t for t in _SEEDS}
MASK = "******"


def template(name: str) -> Template:
    """The template called `name`, else `unknown_template`."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise DomainError("unknown_template", name) from None


def check_text(name: str, text: str) -> None:
    """Refuse a text that uses a value its template does not offer, or is not a valid format."""
    allowed = set(template(name).values)
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        raise DomainError("invalid_template", "unbalanced braces") from None
    unknown = sorted(fields - allowed)
    if unknown or not text.strip():
        raise DomainError("invalid_template", f"unknown values: {unknown}")


def render(text: str, **values: str) -> str:
    """`text` filled in, numbers in Persian digits, codes and registration numbers isolated (a
    missing value prints as empty)."""
    # A one-time code stays in Latin digits (phones offer to copy it only in that form), a link as is.
    shown = {
        key: value if key in ("code", "link") else persian_digits(value) for key, value in values.items()
    }
    shown.update({key: f"\u2066{shown[key]}\u2069" for key in ISOLATED if shown.get(key)})
    fields = {field for _, field, _, _ in string.Formatter().parse(text) if field}
    return text.format(**{field: shown.get(field, "") for field in fields})


@dataclass(frozen=True)
class Texts:
    """One template's texts for one organisation: how many versions, and the last one."""

    versions: int = 0
    last: SmsTemplateChanged | None = None


def _evolve_texts(texts: Texts, event: Event) -> Texts:
    if not isinstance(event, SmsTemplateChanged):
        return texts
    return Texts(texts.versions + 1, event)


def _decide_text(command: ChangeTemplate, texts: Texts) -> list[Event]:
    """A new version of the text, or nothing when it is the text already (`unknown_template`,
    `invalid_template`)."""
    template(command.template)
    check_text(command.template, command.text)
    if texts.last is not None and texts.last.text == command.text:
        return []
    changed = SmsTemplateChanged(
        organisation=command.organisation,
        template=command.template,
        template_version=texts.versions + 1,
        text=command.text,
        admin=command.admin,
    )
    return [changed]


texts: Decider[ChangeTemplate, Texts] = Decider(Texts, _evolve_texts, _decide_text)
"""One template's texts for one organisation."""


def texts_stream(organisation: str, name: str) -> str:
    """The stream of `name`'s texts for `organisation`."""
    return f"notify-template-{organisation}-{name}"

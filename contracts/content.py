"""The citizens' dashboard (داشبورد شهروندان, seed 003), written by `services/requests`: the
announcements (بسته اطلاع رسانی), the forms a citizen downloads to get a service (فرمهای مورد
نیاز جهت دریافت خدمات) and the questions and answers per unit and service (پرسش و پاسخ).

An administrator adds, edits, hides and shows each item in the back office; every change is an
event of the item's own stream (`content-{item_id}`). Dates are typed in Jalali and kept as ISO
Gregorian dates; an announcement past its expiry date is no longer shown (its events stay).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

import jdatetime
from pydantic import Field

from contracts.catalogue import SERVICE_ID_PATTERN, UNIT_ID_PATTERN
from contracts.errors import register_messages
from contracts.events import Event, registry
from contracts.fields import Text
from contracts.persian import latin_digits, persian_digits
from contracts.requests import MAX_UPLOAD_BYTES, AttachmentRef
from contracts.rpc import Payload

ITEM_ID_PATTERN = r"^[0-9a-f]{32}$"
KINDS = ("announcement", "form", "faq")
Kind = Literal["announcement", "form", "faq"]
FILE_TYPES = ("pdf", "doc", "docx", "zip", "png", "jpg", "jpeg")
"""What an administrator may attach to an announcement or upload as a form."""
MAX_TITLE = 200
MAX_TEXT = 4000


def content_stream(item_id: str) -> str:
    """The stream of one dashboard item (written by the requests service)."""
    return f"content-{item_id}"


@registry.event("AnnouncementSaved", 1)
class AnnouncementSaved(Event):
    """An announcement of the «بسته اطلاع رسانی», new or edited (the newest one is current).
    `published_on`/`expires_on`: ISO dates; it is shown up to and on its expiry day."""

    item_id: str = Field(pattern=ITEM_ID_PATTERN)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    published_on: str
    expires_on: str | None = None
    file: AttachmentRef | None = None
    saved_by: str
    saved_at: str


@registry.event("ServiceFormSaved", 1)
class ServiceFormSaved(Event):
    """A form an administrator uploaded for a unit's service (`service_id` "": for every
    service of the unit), new or edited."""

    item_id: str = Field(pattern=ITEM_ID_PATTERN)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    service_id: str = Field(default="", pattern=rf"^(?:{SERVICE_ID_PATTERN[1:-1]})?$")
    file: AttachmentRef
    saved_by: str
    saved_at: str


@registry.event("FaqEntrySaved", 1)
class FaqEntrySaved(Event):
    """A question and its answer about a unit, or one of its services, new or edited."""

    item_id: str = Field(pattern=ITEM_ID_PATTERN)
    question: str = Field(min_length=1, max_length=MAX_TITLE * 2)
    answer: str = Field(min_length=1, max_length=MAX_TEXT)
    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    service_id: str = Field(default="", pattern=rf"^(?:{SERVICE_ID_PATTERN[1:-1]})?$")
    saved_by: str
    saved_at: str


@registry.event("ContentHidden", 1)
class ContentHidden(Event):
    """An administrator took an item off the dashboard (it can be shown again)."""

    item_id: str = Field(pattern=ITEM_ID_PATTERN)
    kind: Kind
    hidden_by: str
    at: str


@registry.event("ContentShown", 1)
class ContentShown(Event):
    """An administrator put a hidden item back on the dashboard."""

    item_id: str = Field(pattern=ITEM_ID_PATTERN)
    kind: Kind
    shown_by: str
    at: str


register_messages(
    {
        "content_not_found": (404, "این مورد در داشبورد شهروندان یافت نشد."),
        "content_invalid": (422, "اطلاعات وارد شده کامل یا معتبر نیست؛ موارد مشخص‌شده را اصلاح کنید."),
        "content_service_mismatch": (
            422,
            "خدمت انتخاب‌شده از خدمات این واحد سازمانی نیست؛ خدمت را از فهرست همان واحد انتخاب کنید.",
        ),
        "content_file_required": (422, "فایل فرم را بارگذاری کنید."),
    }
)


# -- RPC payloads of the administrator's pages -----------------------------------------------


class SaveContent(Payload):
    """An administrator adds (`item_id` "") or edits an item of the dashboard, as typed in the
    back office: `title` is a form's or announcement's title or a question, `text` an
    announcement's text or an answer; dates are Jalali as typed (`date` "": today, or the date
    it had). A file comes as base64 (`remove_file`: drop the one it had)."""

    admin: str = Field(min_length=1, max_length=100)
    kind: Kind
    item_id: str = Field(default="", pattern=r"^(?:[0-9a-f]{32})?$")
    title: Text = Field(default="", max_length=MAX_TITLE * 2)
    text: Text = Field(default="", max_length=MAX_TEXT)
    date: str = Field(default="", max_length=20)
    expires_on: str = Field(default="", max_length=20)
    unit_id: str = Field(default="", pattern=rf"^(?:{UNIT_ID_PATTERN[1:-1]})?$")
    service_id: str = Field(default="", pattern=rf"^(?:{SERVICE_ID_PATTERN[1:-1]})?$")
    file_name: str = Field(default="", max_length=300)
    file_base64: str | None = Field(default=None, max_length=(MAX_UPLOAD_BYTES * 4) // 3 + 8)
    remove_file: bool = False


class HideContent(Payload):
    """An administrator hides an item (`hidden`) or shows it again."""

    admin: str = Field(min_length=1, max_length=100)
    item_id: str = Field(pattern=ITEM_ID_PATTERN)
    hidden: bool = True


# -- one reading of what an administrator typed, for the page and for the service -------------


def jalali_to_iso(text: str) -> str | None:
    """A Jalali date typed as yyyy/mm/dd (any digits, / - or .) as an ISO Gregorian date; None
    when it is not one."""
    match = re.fullmatch(r"(1[34]\d\d)[/\-.](\d{1,2})[/\-.](\d{1,2})", latin_digits(text.strip()))
    if match is None:
        return None
    try:
        day = jdatetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
    return str(day.togregorian().isoformat())


def iso_to_jalali(iso: str | None) -> str:
    """An ISO date as the Jalali yyyy/mm/dd an administrator types (Latin digits; "" for None)."""
    if not iso:
        return ""
    return str(jdatetime.date.fromgregorian(date=date.fromisoformat(iso)).strftime("%Y/%m/%d"))


DATE_EXAMPLE = persian_digits("1405/09/16")

LABELS: dict[str, dict[str, str]] = {
    "announcement": {"title": "عنوان اطلاعیه", "text": "متن اطلاعیه"},
    "form": {"title": "عنوان فرم", "text": ""},
    "faq": {"title": "پرسش", "text": "پاسخ"},
}
"""The Persian name of each typed field, per kind."""


def field_errors(kind: str, fields: dict[str, str]) -> dict[str, str]:
    """Persian messages for what is missing or malformed in a typed item (empty: it reads
    well); references (unit, service) and files are checked where they are known."""
    errors: dict[str, str] = {}
    labels = LABELS.get(kind, LABELS["announcement"])
    if not fields.get("title", "").strip():
        errors["title"] = f"«{labels['title']}» را وارد کنید."
    if kind in ("announcement", "faq") and not fields.get("text", "").strip():
        errors["text"] = f"«{labels['text']}» را وارد کنید."
    limit = MAX_TITLE * 2 if kind == "faq" else MAX_TITLE
    if len(fields.get("title", "")) > limit:
        errors["title"] = f"حداکثر {persian_digits(str(limit))} نویسه مجاز است."
    if kind == "announcement":
        day, expires = fields.get("date", "").strip(), fields.get("expires_on", "").strip()
        if day and jalali_to_iso(day) is None:
            errors["date"] = f"تاریخ را به شکل {DATE_EXAMPLE} وارد کنید."
        if expires and jalali_to_iso(expires) is None:
            errors["expires_on"] = f"تاریخ انقضا را به شکل {DATE_EXAMPLE} وارد کنید."
        elif (
            day and expires and "date" not in errors and str(jalali_to_iso(expires)) < str(jalali_to_iso(day))
        ):
            errors["expires_on"] = "تاریخ انقضا نباید پیش از تاریخ اطلاعیه باشد."
    if kind in ("form", "faq") and not fields.get("unit_id", "").strip():
        errors["unit_id"] = "واحد سازمانی را از فهرست انتخاب کنید."
    return errors

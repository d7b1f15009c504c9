"""Events of the back office (written by `services/secretariat`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contracts.errors import register_messages
from contracts.events import Event, registry
from contracts.requests import AttachmentRef


@registry.event("NumberAssigned", 1)
class NumberAssigned(Event):
    """A clerk registered the request in the secretariat's book (شماره ثبت دبیرخانه)."""

    request_id: str
    secretariat: str
    year: int
    sequence: int = Field(ge=1)
    registration_number: str
    clerk: str


@registry.event("ReturnedForCorrection", 1)
class ReturnedForCorrection(Event):
    """A clerk sent the request back to the applicant to correct; `holder` gets it again when
    the applicant resubmits."""

    request_id: str
    reason: str = Field(min_length=1)
    clerk: str
    holder: str


@registry.event("ReplyPosted", 2)
class ReplyPosted(Event):
    """The organisation answered the request; a final reply (جوابیه نهایی) ends it.

    v2 adds the structured fields of seed 003's printable reply; `body` is its main content.
    """

    request_id: str
    reply_id: str
    kind: Literal["interim", "final"]
    body: str = Field(min_length=1)
    clerk: str
    posted_at: str
    reply_number: str | None = None
    reply_date: str | None = None  # Jalali yyyy/mm/dd as printed on the reply
    legal_basis: str | None = None  # مستندات قانونی و استدلال
    appeal_authority: str | None = None  # مرجع رسیدگی به اعتراض
    appeal_deadline: str | None = None  # مهلت اعتراض
    notes: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()


@registry.upcaster("ReplyPosted", 1)
def _reply_posted_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data)  # every field v2 added is optional


# -- what staff do with a request: every action an event with its actor and reason -----------
# `actor` is the staff account id, `actor_name` the name shown in the workflow history.

REQUEST_STATUS_VALUES = ("undetermined", "yes", "no")
"""The «وضعیت درخواست» field of seed 000: تعیین نشده / بله / خیر, set by the secretariat's clerk."""


@registry.event("CaseReferred", 1)
class CaseReferred(Event):
    """The request was referred (ارجاع) to a unit, or to one follow-up representative of it."""

    request_id: str
    unit: str
    unit_name: str = ""
    representative: str | None = None
    representative_name: str | None = None
    instruction: str = Field(min_length=1)
    actor: str
    actor_name: str = ""


@registry.event("ReferralRecalled", 1)
class ReferralRecalled(Event):
    """The referring secretariat took a referral back (بازپس‌گیری ارجاع): the request is at its
    desk again, held by nobody, and the unit no longer has it to act on (its staff still read
    its history)."""

    request_id: str
    unit: str
    unit_name: str = ""
    reason: str = Field(min_length=1)
    actor: str
    actor_name: str = ""


@registry.event("CaseTaken", 1)
class CaseTaken(Event):
    """A staff member took the request in hand: others see who holds it and may not act on it."""

    request_id: str
    actor: str
    actor_name: str = ""


@registry.event("CaseReleased", 1)
class CaseReleased(Event):
    """The staff member who held the request let it go back to their desk's pool."""

    request_id: str
    reason: str = ""
    actor: str
    actor_name: str = ""


@registry.event("InternalNoteAdded", 1)
class InternalNoteAdded(Event):
    """A comment among staff (the report of seed 004); the citizen never sees it."""

    request_id: str
    note_id: str
    text: str = Field(min_length=1)
    actor: str
    actor_name: str = ""


@registry.event("RequestStatusSet", 1)
class RequestStatusSet(Event):
    """The clerk set the request-status field (تعیین نشده / بله / خیر)."""

    request_id: str
    value: Literal["undetermined", "yes", "no"]
    reason: str = ""
    actor: str
    actor_name: str = ""


@registry.event("CaseClosed", 1)
class CaseClosed(Event):
    """The secretariat closed the request without (or after) a final reply."""

    request_id: str
    reason: str = Field(min_length=1)
    actor: str
    actor_name: str = ""


@registry.event("CaseArchived", 1)
class CaseArchived(Event):
    """A finished request went to the archive (بایگانی)."""

    request_id: str
    reason: str = ""
    actor: str
    actor_name: str = ""


@registry.event("CaseReopened", 1)
class CaseReopened(Event):
    """A finished, closed or archived request was opened again at the secretariat."""

    request_id: str
    reason: str = Field(min_length=1)
    actor: str
    actor_name: str = ""


@registry.event("CannedReplySaved", 1)
class CannedReplySaved(Event):
    """A ready-made reply of one service (پاسخ آماده), created or changed."""

    canned_id: str
    service_id: str
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1)
    legal_basis: str = ""
    appeal_authority: str = ""
    appeal_deadline: str = ""
    notes: str = ""
    actor: str


@registry.event("CannedReplyRemoved", 1)
class CannedReplyRemoved(Event):
    """A ready-made reply is no longer offered."""

    canned_id: str
    service_id: str
    actor: str


register_messages(
    {
        "not_registered_yet": (409, "ابتدا درخواست را در دبیرخانه ثبت کنید و شماره ثبت بگیرید."),
        "representative_not_in_unit": (
            422,
            "پیگیری کننده انتخاب‌شده از کارکنان این واحد نیست؛ پیگیری کننده‌ای از همان واحد انتخاب کنید.",
        ),
        "held_by_other": (
            409,
            "این درخواست در دست همکار دیگری است؛ تا آزاد نکند نمی‌توانید اقدامی انجام دهید.",
        ),
        "not_holder": (409, "این درخواست در دست شما نیست."),
        "not_referred": (409, "این درخواست اکنون به واحدی ارجاع نشده است؛ ارجاعی برای بازپس‌گیری نیست."),
        "case_finished": (409, "این درخواست خاتمه یافته است؛ برای اقدام تازه ابتدا آن را بازگشایی کنید."),
        "case_open": (409, "این درخواست هنوز باز است؛ فقط درخواست‌های خاتمه‌یافته بایگانی یا بازگشایی می‌شوند."),
        "waiting_for_citizen": (409, "این درخواست برای اصلاح نزد متقاضی است؛ تا ارسال مجدد منتظر بمانید."),
        "not_at_your_desk": (403, "این درخواست اکنون در کارتابل شما نیست."),
        "invalid_jalali_date": (422, "تاریخ را به صورت ۱۴۰۳/۰۱/۱۵ وارد کنید."),
        "canned_reply_not_found": (404, "پاسخ آماده‌ای با این مشخصات یافت نشد."),
        "case_reason_required": (422, "لطفاً علت یا توضیح را بنویسید."),
    }
)

"""Events of the citizen's requests (written by `services/requests`).

RequestSubmitted v1 (the walking skeleton) carried a natural person's national code, name and
mobile, a province, a subject and a text. v2 adds the applicant's kind and details, the
organisational unit and service, the form used, attachments and the visit to the organisation;
v1 is read as v2 through the upcaster below. v3 adds the unit a letter is addressed to (empty
in v2's, read as v3). v4 lets a partner system file for a person (Open311): the applicant's kind
"partner" with its `partner_id`, and no national code (v3 reads as v4 unchanged).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from contracts import normalise
from contracts.errors import register_messages
from contracts.events import Event, Value, registry
from contracts.fields import Text
from contracts.rpc import Payload


class Applicant(Value):
    """Who filed the request: a natural person (حقیقی) or a legal entity (حقوقی) through its
    owner or representative (whose national code, name and mobile are the person fields), or
    (v4) a person a partner system filed for ("partner", `partner_id`): Open311 carries no
    national code, and a phone that is not a mobile leaves `mobile` empty."""

    kind: Literal["natural", "legal", "partner"] = "natural"
    national_code: str = Field(pattern=r"^(?:\d{10})?$")
    full_name: str = Field(min_length=1, max_length=200)
    mobile: str = Field(pattern=r"^(?:09\d{9})?$")
    father_name: str | None = None
    birth_date: str | None = None  # Jalali, yyyy/mm/dd
    landline: str | None = None
    email: str | None = None
    address: str | None = None
    company_name: str | None = None
    company_national_id: str | None = Field(default=None, pattern=r"^\d{11}$")
    account_id: str | None = None  # the signed-in account that filed it, when there is one
    partner_id: str | None = None  # v4: the partner system that filed it (Open311), if one did


class AttachmentRef(Value):
    """A stored file: the event keeps its reference and content hash, never its bytes."""

    attachment_id: str
    name: str
    media_type: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Visit(Value):
    """The applicant's earlier visit to the organisation (seed 003, step five)."""

    unit: str | None = None
    officer: str | None = None
    officer_title: str | None = None
    visit_date: str | None = None
    previous_result: str | None = None
    description: str | None = None


@registry.event("RequestSubmitted", 4)
class RequestSubmitted(Event):
    """A citizen sent a request (ثبت و ارسال); it now has its tracking code.

    `province` names the secretariat whose inbox receives it; `unit` and `service_id` come from
    the catalogue when the request was filed for a catalogue service.
    """

    request_id: str
    tracking_code: str
    applicant: Applicant
    province: str
    subject: str = Field(max_length=200)
    text: str
    submitted_at: str
    form: Literal["letter", "wizard", "api"] = "api"
    unit: str | None = None
    service_id: str | None = None
    service_name: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    visit: Visit | None = None
    addressee_unit: str = ""
    """v3: the organisational unit a letter is addressed to (seed 002's «واحد سازمانی مخاطب»),
    one the catalogue defined when the draft was saved; empty: the secretariat itself."""


@registry.upcaster("RequestSubmitted", 1)
def _request_submitted_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    applicant = dict(data["applicant"])
    applicant.setdefault("kind", "natural")
    return {**data, "applicant": applicant, "form": "api"}


@registry.upcaster("RequestSubmitted", 2)
def _request_submitted_v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "addressee_unit": ""}


@registry.upcaster("RequestSubmitted", 3)
def _request_submitted_v3_to_v4(data: dict[str, Any]) -> dict[str, Any]:
    """v4 only widens the applicant (kind "partner", `partner_id`): v3 reads unchanged."""
    return data


@registry.event("RequestResubmitted", 1)
class RequestResubmitted(Event):
    """The citizen corrected a request the secretariat returned, and sent it again."""

    request_id: str
    subject: str = Field(max_length=200)
    text: str
    attachments: tuple[AttachmentRef, ...] = ()
    resubmitted_at: str


@registry.event("TrackingCodeIssued", 1, terminal=True)
class TrackingCodeIssued(Event):
    """Reserves a tracking code for one request, so no two requests ever share one."""

    tracking_code: str
    request_id: str


@registry.event("DraftSaved", 1)
class DraftSaved(Event):
    """The citizen saved what they typed so far (ثبت موقت, or moving between wizard steps).

    A draft's id becomes its request's id when it is submitted; `fields` holds every form field
    as typed (the whole draft, not a difference), `step` the wizard step the citizen was on.
    """

    draft_id: str
    account_id: str
    service_id: str
    form: Literal["wizard", "letter"]
    step: int = Field(ge=1, le=6)
    fields: dict[str, str]
    attachments: tuple[AttachmentRef, ...] = ()
    saved_at: str


@registry.event("DraftDiscarded", 1)
class DraftDiscarded(Event):
    """The citizen threw a draft away."""

    draft_id: str
    account_id: str
    discarded_at: str


# -- RPC payloads of the citizen's journey (gateway → services/requests) --------------------

WIZARD_STEPS = (
    "پیش مقدمه سامانه",
    "مشخصات درخواست",
    "ضمائم درخواست",
    "مشخصات ارباب رجوع",
    "مراجعه به سازمان",
    "بررسی و ثبت نهایی",
)
"""The six steps of seed 003's wizard, in order (step numbers start at 1)."""
PREVIOUS_RESULTS = (
    "مراجعه قبلی نداشته‌ام",
    "نتیجه‌ای دریافت نکردم",
    "پاسخ ناقص دریافت کردم",
    "به واحد دیگری ارجاع داده شدم",
)
"""The choices of «نتیجه مراجعه قبلی در صورت وجود» (seed 003, step five)."""

MAX_UPLOAD_BYTES = 1024 * 1024
"""The largest file any catalogue rule allows (seed 002: 1 MB); uploads travel base64 over RPC."""

DRAFT_CODES = frozenset(
    {
        "national_code", "owner_national_code", "company_national_id", "mobile", "owner_mobile",
        "landline", "birth_date", "owner_birth_date", "visit_date", "email",
    }
)  # fmt: skip
"""Draft fields that are codes, numbers or dates: their digits of any script become ASCII;
every other field is free text, kept as typed (`contracts.normalise`)."""

ACCOUNT = Field(min_length=1, max_length=100)
DRAFT_ID = Field(pattern=r"^[0-9a-f]{32}$")


class StartDraft(Payload):
    """A signed-in citizen ticked the consent box of a service and starts filing it."""

    account_id: str = ACCOUNT
    service_id: str = Field(pattern=r"^\d{11}$")
    consent: bool
    assurance_level: int = Field(default=0, ge=0, le=3)
    prefill: dict[str, str] = {}


class SaveDraft(Payload):
    """What the citizen typed on one page of the draft (kept whatever the rules say); `check`
    names the rules to check now: one wizard step, "all" before the final submit, or "none"
    for a plain ثبت موقت."""

    draft_id: str = DRAFT_ID
    account_id: str = ACCOUNT
    step: int = Field(ge=1, le=6)
    fields: dict[str, str]
    check: Literal["none", "step", "all"] = "step"
    move: Literal["stay", "next", "back"] = "stay"
    """Where the citizen goes after saving: "next" only when the checked rules pass."""

    @field_validator("fields", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # refused by the field's type
        kept: dict[Any, Any] = {}
        for key, typed in list(value.items())[:40]:
            if not (isinstance(key, str) and isinstance(typed, str)):
                kept[key] = typed  # refused by the field's type
                continue
            name = key[:50]
            clean = normalise.code(typed) if name in DRAFT_CODES else normalise.text(typed, f"fields.{name}")
            kept[name] = clean[:4000]
        return kept


class AddAttachment(Payload):
    """A file for the draft, as base64 (the service checks its real type and its size)."""

    draft_id: str = DRAFT_ID
    account_id: str = ACCOUNT
    name: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(max_length=(MAX_UPLOAD_BYTES * 4) // 3 + 8)


class RemoveAttachment(Payload):
    """The citizen takes a file off the draft."""

    draft_id: str = DRAFT_ID
    account_id: str = ACCOUNT
    attachment_id: str = Field(pattern=r"^[0-9a-f]{64}$")


class SubmitDraft(Payload):
    """ثبت و ارسال: the draft becomes a request with a tracking code."""

    draft_id: str = DRAFT_ID
    account_id: str = ACCOUNT
    assurance_level: int = Field(ge=0, le=3)


class DiscardDraft(Payload):
    """The citizen deletes a draft."""

    draft_id: str = DRAFT_ID
    account_id: str = ACCOUNT


class Resubmit(Payload):
    """The citizen corrected a request the secretariat returned."""

    request_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    account_id: str = ACCOUNT
    subject: Text = Field(min_length=2, max_length=200)
    text: Text = Field(min_length=1, max_length=4000)
    remove_attachments: tuple[str, ...] = ()
    file_name: str | None = Field(default=None, min_length=1, max_length=200)
    file_base64: str | None = Field(default=None, max_length=(MAX_UPLOAD_BYTES * 4) // 3 + 8)
    """A corrected file to add (the service's attachment rules apply)."""


class SubmitForPartner(Payload):
    """A partner system files a request for a person (Open311 GeoReport v2 `POST requests`):
    the person's name and contacts as the partner sent them, the request's text and the
    service's attributes (`services.requests.open311` defines and checks them)."""

    partner_id: str = Field(min_length=1, max_length=100)
    service_id: str = Field(pattern=r"^\d{11}$")
    first_name: Text = Field(default="", max_length=100)
    last_name: Text = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=30)
    email: str = Field(default="", max_length=200)
    description: Text = Field(min_length=1, max_length=4000)
    address: Text = Field(default="", max_length=500)
    attributes: dict[str, str] = Field(default={}, max_length=20)


register_messages(
    {
        "draft_not_found": (404, "پیش‌نویسی با این مشخصات یافت نشد."),
        "draft_submitted": (409, "این پیش‌نویس پیش‌تر ثبت و ارسال شده است؛ آن را در کارتابل خود ببینید."),
        "draft_incomplete": (422, "برخی از اطلاعات درخواست کامل نیست؛ موارد مشخص‌شده را اصلاح کنید."),
        "attachment_too_large": (422, "حجم فایل بیش از حد مجاز است."),
        "attachment_bad_type": (422, "فرمت فایل معتبر نمی باشد!"),
        "attachment_disguised": (422, "نوع واقعی فایل با پسوند آن یکی نیست؛ فایل معتبر نمی باشد!"),
        "attachment_too_many": (422, "تعداد فایل‌های پیوست بیش از حد مجاز است."),
        "attachment_required": (422, "پیوست کردن فایل درخواست الزامی است."),
        "attachment_empty": (422, "فایل انتخاب‌شده خالی است."),
        "assurance_too_low": (
            403,
            "برای ثبت این درخواست، سطح احراز هویت شما کافی نیست؛ ابتدا احراز هویت خود را تکمیل کنید.",
        ),
        "not_returned": (409, "این درخواست برای اصلاح به شما بازگردانده نشده است."),
        "partner_request_invalid": (422, "اطلاعات درخواست کامل یا معتبر نیست؛ فیلد نادرست را اصلاح کنید."),
        "track_limited": (
            429,
            "تعداد جستجوهای ناموفق از این نشانی بیش از حد مجاز است؛ لطفاً از صفحهٔ «پیگیری درخواست»"
            " (/track) با وارد کردن کد امنیتی جستجو کنید یا چند دقیقه دیگر دوباره تلاش کنید.",
        ),
    }
)

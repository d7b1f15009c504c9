"""The service catalogue (written by `services/requests`): organisational units, their services
and each service's card, rules and form. An administrator changes it through the back office;
every change is an event, and the newest `ServicePublished` of a service is its current card.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contracts.errors import register_messages
from contracts.events import Event, Value, registry
from contracts.fields import Text
from contracts.rpc import Payload

SERVICE_ID_PATTERN = r"^\d{11}$"
UNIT_ID_PATTERN = r"^[a-z0-9][a-z0-9\-]{1,49}$"


def unit_stream(unit_id: str) -> str:
    """The stream of one organisational unit (written by the requests service's catalogue)."""
    return f"catalogue-unit-{unit_id}"


FILE_TYPES = ("pdf", "png", "jpg", "jpeg", "tiff", "zip", "doc", "docx")

PROVINCES: dict[str, str] = {
    "azarbaijan-east": "آذربایجان شرقی",
    "azarbaijan-west": "آذربایجان غربی",
    "ardabil": "اردبیل",
    "isfahan": "اصفهان",
    "alborz": "البرز",
    "ilam": "ایلام",
    "bushehr": "بوشهر",
    "tehran": "تهران",
    "chaharmahal": "چهارمحال و بختیاری",
    "khorasan-south": "خراسان جنوبی",
    "khorasan-razavi": "خراسان رضوی",
    "khorasan-north": "خراسان شمالی",
    "khuzestan": "خوزستان",
    "zanjan": "زنجان",
    "semnan": "سمنان",
    "sistan": "سیستان و بلوچستان",
    "fars": "فارس",
    "qazvin": "قزوین",
    "qom": "قم",
    "kurdistan": "کردستان",
    "kerman": "کرمان",
    "kermanshah": "کرمانشاه",
    "kohgiluyeh": "کهگیلویه و بویراحمد",
    "golestan": "گلستان",
    "gilan": "گیلان",
    "lorestan": "لرستان",
    "mazandaran": "مازندران",
    "markazi": "مرکزی",
    "hormozgan": "هرمزگان",
    "hamadan": "همدان",
    "yazd": "یزد",
}
"""Every province (and so every provincial secretariat): slug → Persian name, in Persian order."""

PROVINCE_CODES: dict[str, str] = {
    "markazi": "00",
    "gilan": "01",
    "mazandaran": "02",
    "azarbaijan-east": "03",
    "azarbaijan-west": "04",
    "kermanshah": "05",
    "khuzestan": "06",
    "fars": "07",
    "kerman": "08",
    "khorasan-razavi": "09",
    "isfahan": "10",
    "sistan": "11",
    "kurdistan": "12",
    "hamadan": "13",
    "chaharmahal": "14",
    "lorestan": "15",
    "ilam": "16",
    "kohgiluyeh": "17",
    "bushehr": "18",
    "zanjan": "19",
    "semnan": "20",
    "yazd": "21",
    "hormozgan": "22",
    "tehran": "23",
    "ardabil": "24",
    "qom": "25",
    "qazvin": "26",
    "golestan": "27",
    "khorasan-north": "28",
    "khorasan-south": "29",
    "alborz": "30",
}
"""Each province's two-digit code as the Statistical Centre of Iran numbers them (تهران ۲۳): the
`{code}` of a registration number, so the number is digits only, as the guides print it. A code
is never reused for another province: numbers already given carry it for good."""


def province_code(province: str) -> str:
    """The province's numeric code; a secretariat outside the list keeps its own name, so its
    clerks can still number (a configured format may leave the code out)."""
    return PROVINCE_CODES.get(province, province)


class FaqItem(Value):
    """One question and its answer on the service card (پاسخ به سوالات)."""

    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=2000)


class DownloadableForm(Value):
    """A form the citizen downloads, fills in and attaches (فرم‌های مورد نیاز)."""

    title: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=500)


class Officer(Value):
    """Someone a citizen may have visited at the unit (متصدی), with their title (سمت)."""

    name: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=200)


class AttachmentRules(Value):
    """What files a request of this service may carry (seeds 000–003: 300 KB, 1 MB, 80 KB × 2)."""

    max_size_kb: int = Field(default=300, ge=1, le=1024)
    max_count: int = Field(default=2, ge=0, le=10)
    types: tuple[str, ...] = ("pdf", "png", "jpg", "jpeg")
    required: bool = False


@registry.event("UnitDefined", 1)
class UnitDefined(Event):
    """An organisational unit (واحد سازمانی) exists, or was renamed."""

    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    name: str = Field(min_length=2, max_length=200)
    description: str = ""
    defined_by: str


@registry.event("ServicePublished", 1)
class ServicePublished(Event):
    """A service's current card and rules (a later one replaces an earlier one).

    `form` is how citizens file it: the six-step "wizard" of seed 003 or the single "letter" of
    seeds 000–002; `province` is the secretariat that receives wizard requests (letters let the
    citizen choose); `required_assurance_level` is the identity assurance (0–3) a citizen needs
    to file it (seed 001: formal letters need a verified identity).
    """

    service_id: str = Field(pattern=SERVICE_ID_PATTERN)
    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    unit_name: str
    service_type: str = Field(min_length=2, max_length=200)
    name: str = Field(min_length=2, max_length=200)
    description: str = ""
    inquiries: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    responsible: str = ""
    cost: str = ""
    expected_duration_days: int = Field(ge=1, le=365)
    faq: tuple[FaqItem, ...] = ()
    rules: str = ""
    documents: tuple[str, ...] = ()
    forms: tuple[DownloadableForm, ...] = ()
    officers: tuple[Officer, ...] = ()
    form: Literal["wizard", "letter"] = "wizard"
    province: str = "tehran"
    attachment_rules: AttachmentRules = AttachmentRules()
    required_assurance_level: int = Field(default=0, ge=0, le=3)
    consent_text: str = "قوانین و آیتم ها را مطالعه نموده ام و موافقم"
    introduction: tuple[str, ...] = ()
    published_by: str


@registry.event("ServiceRetired", 1)
class ServiceRetired(Event):
    """A service no longer takes new requests (requests already filed go on)."""

    service_id: str = Field(pattern=SERVICE_ID_PATTERN)
    reason: str = ""
    retired_by: str


register_messages(
    {
        "service_not_found": (404, "خدمتی با این شناسه در فهرست خدمات یافت نشد."),
        "service_retired": (409, "این خدمت دیگر درخواست تازه نمی‌پذیرد."),
        "unit_not_found": (404, "واحد سازمانی انتخاب‌شده تعریف نشده است."),
        "unknown_unit": (422, "واحد سازمانی انتخاب‌شده در فهرست واحدها نیست؛ واحد را از فهرست انتخاب کنید."),
        "invalid_service_id": (422, "شناسه خدمت باید ۱۱ رقم باشد."),
        "invalid_unit_id": (422, "شناسه واحد باید با حروف لاتین کوچک، رقم و خط تیره باشد."),
        "invalid_province": (422, "استان مورد درخواست را از فهرست انتخاب کنید."),
        "invalid_catalogue_entry": (422, "اطلاعات خدمت کامل یا معتبر نیست؛ موارد مشخص‌شده را اصلاح کنید."),
        "consent_required": (
            422,
            "برای ادامه باید تیک «قوانین و آیتم ها را مطالعه نموده ام و موافقم» را بزنید.",
        ),
    }
)


# -- RPC payloads of the administrator's catalogue pages -------------------------------------


class DefineUnit(Payload):
    """An administrator defines or renames an organisational unit."""

    admin: str = Field(min_length=1, max_length=100)
    unit_id: str = Field(pattern=UNIT_ID_PATTERN)
    name: Text = Field(min_length=2, max_length=200)
    description: Text = Field(default="", max_length=2000)


class PublishService(Payload):
    """An administrator publishes a service's card (new, or a new edition of it); `card` holds
    the fields of `ServicePublished` except the unit's name and who published it."""

    admin: str = Field(min_length=1, max_length=100)
    card: dict[str, Any]


class RetireService(Payload):
    """An administrator stops a service from taking new requests."""

    admin: str = Field(min_length=1, max_length=100)
    service_id: str = Field(pattern=SERVICE_ID_PATTERN)
    reason: Text = Field(default="", max_length=500)

"""The satisfaction questionnaire of seed 003 (written by `services/survey`).

Sixteen questions on five axes, each answered on a five-point scale from «خیلی کم» to «خیلی
زیاد». The texts follow seed 003's table; its scanning errors are corrected (بجوه → نحوه,
سهول فریوطه → مسئول مربوطه, قضوت → قضاوت, تجهز → تعهد, عیزان → میزان, گویی → کپی,
نظام بند → نظام‌مند). A label in the seed's axis column heads its row and the rows below it,
up to the next label.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, field_validator

from contracts.errors import register_messages
from contracts.events import Event, Value, registry
from contracts.fields import Digits, Mobile, NationalCode, OptionalText, Text
from contracts.rpc import Payload


@dataclass(frozen=True)
class Question:
    """One row of the questionnaire."""

    id: str
    number: int
    axis: str
    text: str


AXES: dict[str, str] = {
    "transparency": "شفافیت فرایندی",
    "responsiveness": "پاسخگویی و مسئولیت‌پذیری",
    "time": "زمان فرایند",
    "systematic": "نظام‌مند بودن فرایند",
    "overall": "کلیت فرایند",
}

_ROWS = (
    ("transparency", "نحوه اطلاع رسانی درباره مراحل انجام کار"),
    ("transparency", "اطلاع رسانی درباره مدارک مورد نیاز برای ارائه خدمات"),
    ("transparency", "انجام کار بر اساس ضوابط اداری و عدم دخالت قضاوت های شخصی"),
    ("transparency", "نحوه رفتار و پاسخگویی مسئول مربوطه"),
    ("responsiveness", "امکانات رفاهی و فضای ارائه خدمات"),
    ("responsiveness", "به موقع بودن و شفاف بودن رسیدگی به شکایات ، نظرات و پیشنهادهای شما"),
    ("responsiveness", "راهنمایی و پاسخگویی کارکنان به مراجعین و پیگیری وضعیت درخواست ها"),
    ("responsiveness", "نظرات کارکنان در انجام کار به گونه ای که نیاز به دوباره کاری نباشد"),
    ("responsiveness", "تعداد دفعات مراجعه به سازمان برای دریافت خدمت"),
    ("time", 'تعهد و پایبندی به زمان ارائه خدمت در فرم "رسید خدمت"'),
    ("time", "میزان مراجعه به قسمت ها و بخش های مختلف برای دریافت خدمت"),
    ("time", "نظم ، ترتیب و سهولت دسترسی به افراد و امکانات برای دریافت خدمت"),
    ("systematic", "دریافت یک باره مدارک و اطلاعات به صورت الکترونیکی یا حضوری در هنگام مراجعه"),
    ("systematic", "ارائه اطلاعات تکراری (کپی شناسنامه کارت ملی، ارائه چندباره اطلاعات) به واحدهای مختلف"),
    ("systematic", "احساس نیاز به سفارش و توصیه برای دریافت خدمت"),
    ("overall", "احساس رضایت از کل خدمت دریافت شده"),
)
QUESTIONS: tuple[Question, ...] = tuple(
    Question(f"q{number}", number, axis, text) for number, (axis, text) in enumerate(_ROWS, start=1)
)
SCALE: dict[int, str] = {1: "خیلی کم", 2: "کم", 3: "متوسط", 4: "زیاد", 5: "خیلی زیاد"}
MIN_GROUP = 10
"""Fewer responses than this are never shown apart: no citizen can be singled out."""


class Respondent(Value):
    """The citizen-details form (فرم ثبت مشخصات شهروند)."""

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    national_code: str = Field(pattern=r"^\d{10}$")
    mobile: str = Field(pattern=r"^09\d{9}$")
    email: str | None = Field(default=None, max_length=200)


@registry.event("SurveyAnswered", 1)
class SurveyAnswered(Event):
    """The citizen answered the questionnaire about a request with a final reply (once per
    request). The request's unit, service and province are copied for the reports."""

    request_id: str
    respondent: Respondent
    answers: dict[str, int]
    comment: str | None = None
    unit: str | None = None
    service_id: str | None = None
    service_name: str | None = None
    province: str | None = None
    answered_at: str


class OpenSurvey(Payload):
    """The tracking code and its second factor, the applicant's national code."""

    tracking_code: Digits = Field(min_length=1, max_length=40)
    national_code: Digits = Field(min_length=1, max_length=20)


class AnswerSurvey(OpenSurvey):
    """The citizen-details form and the sixteen answers."""

    first_name: Text = Field(min_length=1, max_length=100)
    last_name: Text = Field(min_length=1, max_length=100)
    respondent_national_code: NationalCode
    mobile: Mobile
    email: str | None = Field(default=None, max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
    answers: dict[str, int]
    comment: OptionalText = Field(default=None, max_length=2000)

    @field_validator("answers")
    @classmethod
    def _answers(cls, value: dict[str, int]) -> dict[str, int]:
        if set(value) != {q.id for q in QUESTIONS} or any(v not in SCALE for v in value.values()):
            raise ValueError("survey_incomplete")
        return {q.id: value[q.id] for q in QUESTIONS}


register_messages(
    {
        "survey_not_ready": (409, "نظرسنجی پس از ثبت پاسخ نهایی درخواست فعال می‌شود."),
        "survey_already_answered": (409, "نظرسنجی این درخواست پیش‌تر ثبت شده است؛ از همراهی شما سپاسگزاریم."),
        "survey_incomplete": (422, "لطفاً به همه پرسش‌های پرسشنامه پاسخ دهید."),
    }
)

"""The catalogue a fresh desk starts with: units and services from the seeds' own examples.

Appended under ids derived from each entry's id, so loading it again (every start of every
instance) writes nothing, and an administrator's later edits are never overwritten.
"""

from __future__ import annotations

import uuid

from contracts.catalogue import (
    AttachmentRules,
    DownloadableForm,
    FaqItem,
    Officer,
    ServicePublished,
    UnitDefined,
)
from contracts.envelope import StreamState
from contracts.events import new_event
from contracts.eventstore import EventStore
from services.requests.catalogue import service_stream, unit_stream

SAMPLE = uuid.UUID("6f1d1c1e-9a43-4c55-8a51-3b8f3d3c0a01")
ACTOR = "system:sample-catalogue"

RURAL = "rural-development"
EVALUATION = "performance-evaluation"
SECRETARIAT = "secretariat"

UNITS = (
    UnitDefined(
        unit_id=RURAL,
        name="دفتر برنامه ریزی و مدیریت توسعه روستایی",
        description="برنامه‌ریزی، تأسیس و درجه‌بندی دهیاری‌ها و پشتیبانی از مدیریت روستاها.",
        defined_by=ACTOR,
    ),
    UnitDefined(
        unit_id=EVALUATION,
        name="دفتر ارزیابی عملکرد، بازرسی و پاسخگویی به شکایات",
        description="نظارت بر عملکرد شهرداری‌ها و دهیاری‌ها و رسیدگی به شکایات مردمی.",
        defined_by=ACTOR,
    ),
    UnitDefined(
        unit_id=SECRETARIAT,
        name="دبیرخانه سازمان",
        description="دریافت و ثبت مکاتبات اداری اشخاص حقیقی و حقوقی و ارسال آن به مخاطب.",
        defined_by=ACTOR,
    ),
)

WIZARD_INTRO = (
    "مراجعه محترم با سلام و احترام، مجموعه حاضر برای اطلاع رسانی از شرایط، نحوه و مراحل ارائه خدمت "
    "تدوین گردیده است. (ابوالفضل یاری، رئیس سازمان)",
    "کاربر محترم خواهشمند است کلیه اطلاعات خود را جهت سهولت در پیگیری، "
    "توسط پرسنل سازمان به درستی وارد نمایید.",
    "کاربر محترم جهت اطلاع دقیق از پاسخ به درخواست خود، شماره تلفن خود را صحیح وارد نمایید.",
    "درخواست شما در صورتی ثبت نهایی می شود که در انتها یک کد پیگیری را دریافت کنید.",
    "شما می توانید با استفاده از کد پیگیری خود از مراحل و نتیجه درخواست خود مطلع شوید.",
)
OFFICERS = (
    Officer(name="ابوالفضل یاری", title="ریاست سازمان"),
    Officer(name="مهدی رضایی", title="کارشناس مسئول دهیاری‌ها"),
)
SEED_003_FILES = AttachmentRules(
    max_size_kb=80, max_count=2, types=("pdf", "png", "jpg", "jpeg", "tiff", "zip")
)
SEED_000_FILES = AttachmentRules(max_size_kb=300, max_count=1, types=("pdf", "png"), required=True)
SEED_002_FILES = AttachmentRules(
    max_size_kb=1024,
    max_count=1,
    types=("pdf", "png", "jpg", "jpeg", "tiff", "zip", "doc", "docx"),
    required=True,
)


def _service(**card: object) -> ServicePublished:
    defaults: dict[str, object] = {"published_by": ACTOR, "introduction": WIZARD_INTRO, "officers": OFFICERS}
    return ServicePublished.model_validate({**defaults, **card})


SERVICES = (
    _service(
        service_id="10012134001",
        unit_id=RURAL,
        unit_name=UNITS[0].name,
        service_type="صدور مجوز",
        name="صدور مجوز تاسیس دهیاری های کشور",
        description="بررسی درخواست روستاهای واجد شرایط و صدور مجوز تأسیس دهیاری پس از تأیید استانداری.",
        inquiries=("استعلام جمعیت روستا از مرکز آمار ایران", "استعلام نظر فرمانداری شهرستان"),
        steps=(
            "ثبت درخواست توسط دهیار یا شورای اسلامی روستا",
            "بررسی مدارک در دفتر برنامه ریزی و مدیریت توسعه روستایی",
            "استعلام از مرکز آمار و فرمانداری",
            "طرح در کمیته تأسیس دهیاری‌ها",
            "صدور مجوز و ابلاغ به استانداری",
        ),
        responsible="مهدی رضایی، کارشناس مسئول دهیاری‌ها (۰۲۱-۶۱۹۳۲۴۴۰)",
        cost="رایگان",
        expected_duration_days=30,
        faq=(
            FaqItem(
                question="چه روستاهایی می‌توانند دهیاری تأسیس کنند؟",
                answer="روستاهای دارای حداقل ۲۰ خانوار ساکن و شورای اسلامی روستا.",
            ),
            FaqItem(
                question="آیا مراجعه حضوری لازم است؟",
                answer="خیر، همه مراحل از طریق همین سامانه انجام می‌شود.",
            ),
        ),
        rules="قانون تأسیس دهیاری‌های خودکفا در روستاهای کشور (مصوب ۱۳۷۷) و آیین‌نامه اجرایی آن.",
        documents=("صورتجلسه شورای اسلامی روستا", "نقشه محدوده روستا", "تصویر کارت ملی رئیس شورا"),
        forms=(DownloadableForm(title="فرم درخواست تأسیس دهیاری", url="/forms/dehyari-tasis"),),
        form="wizard",
        province="tehran",
        attachment_rules=SEED_003_FILES,
    ),
    _service(
        service_id="10012134002",
        unit_id=RURAL,
        unit_name=UNITS[0].name,
        service_type="درجه بندی",
        name="درجه بندی دهیاری های کشور",
        description="تعیین یا ارتقای درجه دهیاری بر پایه جمعیت، وسعت، درآمد و موقعیت روستا.",
        inquiries=("استعلام درآمد دهیاری از سامانه مالی دهیاری‌ها",),
        steps=(
            "ثبت درخواست درجه بندی",
            "محاسبه امتیاز شاخص‌ها",
            "تأیید کمیته درجه بندی",
            "ابلاغ درجه جدید",
        ),
        responsible="مهدی رضایی، کارشناس مسئول دهیاری‌ها",
        cost="رایگان",
        expected_duration_days=20,
        faq=(FaqItem(question="درجه بندی هر چند سال یک بار انجام می‌شود؟", answer="هر چهار سال یک بار."),),
        rules="آیین‌نامه درجه بندی دهیاری‌های کشور.",
        documents=("گزارش عملکرد مالی سال گذشته دهیاری",),
        form="wizard",
        province="tehran",
        attachment_rules=SEED_003_FILES,
    ),
    _service(
        service_id="10012135000",
        unit_id=EVALUATION,
        unit_name=UNITS[1].name,
        service_type="نظارت و ارزیابی",
        name="نظارت و ارزیابی عملکرد شهرداریها و دهیاریهای کشور",
        description="رسیدگی به گزارش‌ها و شکایات مردمی درباره عملکرد شهرداری‌ها و دهیاری‌ها.",
        steps=("ثبت شکایت یا گزارش", "بررسی در دفتر ارزیابی عملکرد", "بازرسی در صورت لزوم", "اعلام نتیجه"),
        responsible="ابوالفضل یاری، ریاست سازمان",
        cost="رایگان",
        expected_duration_days=15,
        rules="قانون ارتقای سلامت نظام اداری و مقابله با فساد.",
        form="wizard",
        province="tehran",
        attachment_rules=SEED_003_FILES,
    ),
    _service(
        service_id="17011230001",
        unit_id=SECRETARIAT,
        unit_name=UNITS[2].name,
        service_type="مکاتبات اداری",
        name="ثبت و رهگیری مکاتبات اداری",
        description="ارسال نامه اداری اشخاص حقیقی و حقوقی به دبیرخانه استان بدون مراجعه حضوری.",
        steps=("ثبت نامه توسط متقاضی", "ثبت شماره در دبیرخانه استان", "ارجاع به واحد مربوط", "پاسخ"),
        responsible="کارشناس دبیرخانه استان",
        cost="رایگان",
        expected_duration_days=10,
        rules=(
            "لطفا از درخواست خود عکس گرفته و فایل آن را در قسمت فایل درخواست بارگزاری نمایید. "
            "کلیه درخواست ها از طریق دبیرخانه دریافت و به مخاطب مورد نظر شما در این دستگاه ارسال می گردد."
        ),
        form="letter",
        attachment_rules=SEED_000_FILES,
        required_assurance_level=2,
        introduction=(),
        officers=(),
    ),
    _service(
        service_id="17011230002",
        unit_id=SECRETARIAT,
        unit_name=UNITS[2].name,
        service_type="مکاتبات اداری",
        name="ارسال نامه به واحد سازمانی",
        description="نظرات، انتقادات و نامه‌های خود را به واحد سازمانی مورد نظر بفرستید.",
        steps=("ثبت درخواست", "دریافت کد رهگیری", "پاسخ واحد سازمانی"),
        responsible="مسئول میز خدمت",
        cost="رایگان",
        expected_duration_days=7,
        rules="حداکثر تعداد کاراکتر های مجاز برای نام و نام خانوادگی و موضوع درخواست ۲۰۰ کاراکتر می باشد.",
        form="letter",
        attachment_rules=SEED_002_FILES,
        required_assurance_level=0,
        introduction=(),
        officers=(),
    ),
)


def load(store: EventStore) -> int:
    """Append the sample catalogue where it is missing; returns how many events it offered."""
    offered = 0
    for unit in UNITS:
        event_id = uuid.uuid5(SAMPLE, f"unit:{unit.unit_id}")
        store.append(
            unit_stream(unit.unit_id), [new_event(unit, event_id=event_id, actor=ACTOR)], StreamState.ANY
        )
        offered += 1
    for service in SERVICES:
        event_id = uuid.uuid5(SAMPLE, f"service:{service.service_id}")
        stream = service_stream(service.service_id)
        store.append(stream, [new_event(service, event_id=event_id, actor=ACTOR)], StreamState.ANY)
        offered += 1
    return offered

"""A reply as a PDF, laid out like seed 003's printable reply (right to left, shaped Persian).

fpdf2 shapes Arabic script through uharfbuzz; the font must have Persian glyphs (DejaVu Sans
from Debian's fonts-dejavu-core does; `REPLY_PDF_FONT` names another TTF file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF

from contracts.persian import persian_digits
from gateway.web.templates import jalali
from infra.settings import GatewaySettings

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/vazirmatn/Vazirmatn-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def font_path() -> str:
    """The TTF used for replies: `REPLY_PDF_FONT`, else the first installed candidate."""
    configured = GatewaySettings.load().REPLY_PDF_FONT
    for candidate in ((str(configured),) if configured else ()) + FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    raise RuntimeError("no font with Persian glyphs: install fonts-dejavu-core or set REPLY_PDF_FONT")


def _row(pdf: FPDF, label: str, value: str | None) -> None:
    pdf.set_font("persian", size=10)
    pdf.set_text_color(80, 80, 80)
    pdf.multi_cell(0, 7, label, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("persian", size=12)
    pdf.set_text_color(0, 0, 0)
    pdf.multi_cell(0, 8, persian_digits(value or "—"), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def reply_pdf(case: dict[str, Any], reply: dict[str, Any]) -> bytes:
    """The PDF bytes of one reply."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"reply {reply['reply_number'] or reply['reply_id']}")
    pdf.add_font("persian", fname=font_path())
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="fas")
    pdf.add_page()
    pdf.set_font("persian", size=16)
    title = "پاسخ نهایی درخواست" if reply["kind"] == "final" else "پاسخ موقت درخواست"
    pdf.multi_cell(0, 10, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _row(pdf, "تاریخ پاسخ :", reply.get("reply_date") or jalali(reply["posted_at"], with_time=False))
    _row(pdf, "شماره پاسخ :", reply.get("reply_number"))
    _row(pdf, "شماره ثبت دبیرخانه :", case.get("registration_number"))
    _row(pdf, "کد رهگیری :", case["tracking_code"])
    _row(pdf, "نام و نام خانوادگی ارباب رجوع :", case["full_name"])
    _row(pdf, "کد ملی :", case["national_code"])
    _row(pdf, "مستندات قانونی و استدلال های منجر به پاسخ ارائه شده :", reply.get("legal_basis"))
    _row(pdf, "مفاد اصلی پاسخ :", reply["body"])
    appeal = " — ".join(v for v in (reply.get("appeal_authority"), reply.get("appeal_deadline")) if v)
    _row(pdf, "اعلام مرجع و مهلت اعتراض به پاسخ (تصمیم) :", appeal)
    _row(pdf, "توضیحات :", reply.get("notes"))
    return bytes(pdf.output())

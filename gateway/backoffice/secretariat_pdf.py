"""A reply as a PDF, laid out like seed 003's printable reply (right to left, shaped Persian).

fpdf2 shapes Arabic script through uharfbuzz; the font must have Persian glyphs (DejaVu Sans
from Debian's fonts-dejavu-core does; `REPLY_PDF_FONT` names another TTF file).

Text copied out of the PDF must read as typed. fpdf2 maps each glyph back to its characters
in the font's ToUnicode table, and a ligature glyph to several; readers that put a
right-to-left line back into logical order reverse those characters too, so the lam-alef
ligature of «استدلال» came back as «استدالل». The ligature features are therefore off:
every glyph stands for one character, while the letters still join (the Arabic joining
forms are separate features).
"""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

from contracts.persian import persian_digits
from gateway.web.formats import file_size, ltr_text, persian_text
from gateway.web.templates import jalali
from infra.fonts import NO_LIGATURES, persian_font
from infra.settings import GatewaySettings


def font_path() -> str:
    """The TTF used for replies: `REPLY_PDF_FONT`, else the first installed candidate."""
    configured = GatewaySettings.load().REPLY_PDF_FONT
    found = persian_font(str(configured) if configured else None)
    if found is None:
        raise RuntimeError("no font with Persian glyphs: install fonts-dejavu-core or set REPLY_PDF_FONT")
    return found


def _row(pdf: FPDF, label: str, value: str | None, *, typed: bool = False, code: bool = False) -> None:
    """A label and its value below it. A number or code prints with Persian digits throughout,
    as the page shows it; `typed` text keeps Latin digits inside Latin words (an address). A
    `code` (registration and reply numbers, the tracking code) is isolated left to right (LRI …
    PDI, which fpdf2's bidi honours), as the page's <bdi dir="ltr">: a number given before the
    numeric province code («1405/tehran/7») was drawn reversed in the right-to-left line."""
    pdf.set_font("persian", size=10)
    pdf.set_text_color(80, 80, 80)
    pdf.multi_cell(0, 7, label, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("persian", size=12)
    pdf.set_text_color(0, 0, 0)
    shown = ltr_text(value) if code else persian_text(value) if typed else persian_digits(value or "")
    pdf.multi_cell(0, 8, shown or "—", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _attachments(reply: dict[str, Any]) -> str | None:
    """One line per file: its name and its size («۷۰۰ بایت», «۱٫۵ کیلوبایت»). The name is
    isolated (FSI … PDI, as HTML's <bdi>) so a Latin name does not pull the dash and the size
    into its left-to-right run."""
    files = reply.get("attachments") or ()
    return "\n".join(f"\u2068{f['name']}\u2069 — {file_size(f.get('size'))}" for f in files) or None


def _no_national_code(case: dict[str, Any]) -> str:
    """«—» and why, as the printed page shows it: the partner system that filed the request
    without one (`secretariat_labels.with_channel`), or that none was given."""
    why = case.get("channel") or case.get("national_code_note")
    return f"— ({why})" if why else "—"


def reply_pdf(case: dict[str, Any], reply: dict[str, Any]) -> bytes:
    """The PDF bytes of one reply."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"reply {reply['reply_number'] or reply['reply_id']}")
    pdf.add_font("persian", fname=font_path())
    pdf.set_text_shaping(
        use_shaping_engine=True, features=NO_LIGATURES, direction="rtl", script="arab", language="fas"
    )
    pdf.add_page()
    pdf.set_font("persian", size=16)
    title = "پاسخ نهایی درخواست" if reply["kind"] == "final" else "پاسخ موقت درخواست"
    pdf.multi_cell(0, 10, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _row(pdf, "تاریخ پاسخ :", reply.get("reply_date") or jalali(reply["posted_at"], with_time=False))
    _row(pdf, "شماره پاسخ :", reply.get("reply_number"), code=True)
    _row(pdf, "شماره ثبت دبیرخانه :", case.get("registration_number"), code=True)
    _row(pdf, "کد رهگیری :", case["tracking_code"], code=True)
    _row(pdf, "نام و نام خانوادگی ارباب رجوع :", case["full_name"])
    _row(pdf, "کد ملی :", case.get("national_code") or _no_national_code(case))
    _row(pdf, "مستندات قانونی و استدلال های منجر به پاسخ ارائه شده :", reply.get("legal_basis"), typed=True)
    _row(pdf, "مفاد اصلی پاسخ :", reply["body"], typed=True)
    appeal = " — ".join(v for v in (reply.get("appeal_authority"), reply.get("appeal_deadline")) if v)
    _row(pdf, "اعلام مرجع و مهلت اعتراض به پاسخ (تصمیم) :", appeal, typed=True)
    _row(pdf, "توضیحات :", reply.get("notes"), typed=True)
    if reply.get("attachments"):
        _row(pdf, "پیوست‌ها :", _attachments(reply), typed=True)
    return bytes(pdf.output())

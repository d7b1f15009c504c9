"""The printable reply as a PDF, and the inline SVG charts."""

from __future__ import annotations

from gateway.backoffice.secretariat_charts import overview_svg, workflow_svg
from gateway.backoffice.secretariat_pdf import reply_pdf

CASE = {
    "tracking_code": "123456789012",
    "registration_number": "1405/tehran/7",
    "full_name": "مریم کاظمی",
    "national_code": "0084575948",
}
REPLY = {
    "reply_id": "ab" * 16,
    "kind": "final",
    "reply_number": "1405/tehran/7/1",
    "reply_date": "1405/02/01",
    "posted_at": "2026-04-21T08:00:00+00:00",
    "body": "مجوز شما صادر شد.",
    "legal_basis": "ماده ۵ آیین‌نامه",
    "appeal_authority": "هیئت تجدیدنظر",
    "appeal_deadline": "۲۰ روز",
    "notes": None,
}


def test_the_reply_pdf_is_a_pdf_with_an_embedded_persian_font() -> None:
    pdf = reply_pdf(CASE, REPLY)
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in pdf  # the TTF is embedded, so Persian glyphs print anywhere
    assert len(pdf) > 2000


def test_the_workflow_chart_has_a_box_per_step_and_escapes_text() -> None:
    history = [
        {"action": a, "label": label, "actor_name": name, "at": "2026-04-21T08:00:00+00:00"}
        for a, label, name in (
            ("submitted", "ثبت و ارسال درخواست", "مریم"),
            ("numbered", "ثبت در دبیرخانه", "<script>"),
            ("note", "یادداشت داخلی", "سارا"),
            ("referred", "ارجاع", "سارا"),
        )
    ]
    svg = str(workflow_svg(history))
    assert svg.startswith("<svg") and svg.count('class="step"') == 3  # notes are not workflow steps
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_the_overview_chart_draws_three_bars_per_group() -> None:
    rows = [
        {"name": "تهران", "open": 5, "overdue": 2, "replied": 9},
        {"name": "اصفهان", "open": 0, "overdue": 0, "replied": 1},
    ]
    svg = str(overview_svg(rows))
    assert svg.count('class="bar-') == 6
    assert "تهران" in svg and "۹" in svg

"""Registration numbers, tracking codes and dates inside Persian sentences are isolated, so the
bidi algorithm cannot reorder them («tehran/۱/۱۴۰۵» was «۱۴۰۵/tehran/۱» turned around)."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import Markup

from gateway.backoffice.csv_cells import Code, csv_response, spreadsheet_cell
from gateway.backoffice.secretariat_pdf import reply_pdf
from gateway.web.formats import ltr, ltr_text
from gateway.web.templates import make_templates, when
from tests.steps import BIDI_MARKS, pdf_text


def test_a_number_is_isolated_left_to_right_in_persian_digits() -> None:
    shown = ltr("1405/23/5")
    assert isinstance(shown, Markup)
    assert shown == '<bdi dir="ltr" class="code">۱۴۰۵/۲۳/۵</bdi>'


def test_a_number_given_before_the_province_code_is_shown_as_stored_but_isolated() -> None:
    assert ltr("1405/tehran/5") == '<bdi dir="ltr" class="code">۱۴۰۵/tehran/۵</bdi>'


def test_what_is_isolated_is_escaped_and_nothing_says_so_in_words() -> None:
    assert ltr("<b>1</b>") == '<bdi dir="ltr" class="code">&lt;b&gt;۱&lt;/b&gt;</bdi>'
    assert ltr(None, "هنوز ثبت نشده") == "هنوز ثبت نشده"
    assert ltr("", "<—>") == "&lt;—&gt;"
    assert ltr(None) == ""


def test_the_templates_offer_the_filters() -> None:
    env = make_templates().env
    page = env.from_string('شماره {{ n | ltr("—") }} در {{ at | when }} ({{ at | when(False) }})')
    text = page.render(n="1405/23/5", at="2026-12-07T09:00:00+00:00")
    assert text == (
        'شماره <bdi dir="ltr" class="code">۱۴۰۵/۲۳/۵</bdi> در '
        '<bdi dir="rtl" class="code">۱۴۰۵/۰۹/۱۶ ۱۲:۳۰</bdi> '
        '(<bdi dir="rtl" class="code">۱۴۰۵/۰۹/۱۶</bdi>)'
    )
    assert env.from_string('{{ n | ltr("—") }}').render(n=None) == "—"


def test_a_date_in_a_sentence_is_isolated_date_first() -> None:
    assert when("2026-12-07T09:00:00+00:00") == '<bdi dir="rtl" class="code">۱۴۰۵/۰۹/۱۶ ۱۲:۳۰</bdi>'
    assert when(None) == ""


def test_plain_text_isolates_with_unicode_marks() -> None:
    assert ltr_text("1405/23/5") == "\u2066۱۴۰۵/۲۳/۵\u2069"
    assert ltr_text(None) == ""


def test_a_csv_cell_keeps_a_number_as_text_in_persian_digits_without_marks() -> None:
    assert spreadsheet_cell(Code("1405/01/5")) == "۱۴۰۵/۰۱/۵"  # not a date for the spreadsheet
    assert spreadsheet_cell(Code("1405091612345678")) == "۱۴۰۵۰۹۱۶۱۲۳۴۵۶۷۸"  # not 1.40509E+15
    assert spreadsheet_cell(Code("1405/tehran/5")) == "۱۴۰۵/tehran/۵"
    assert spreadsheet_cell(Code("=1+2")) == "'=۱+۲"  # still never a formula
    body = csv_response([["شماره ثبت"], [Code("1405/23/5")]], "x.csv").body.decode()
    assert body == "\ufeffشماره ثبت\r\n۱۴۰۵/۲۳/۵\r\n"
    assert not BIDI_MARKS.search(body)


@pytest.mark.parametrize(("number", "read"), [("1405/23/7", "۱۴۰۵/۲۳/۷"), ("1405/tehran/7", "۱۴۰۵/tehran/۷")])
def test_the_printed_reply_draws_numbers_in_their_order(number: str, read: str, tmp_path: Path) -> None:
    case = {"tracking_code": "140512345678", "registration_number": number, "full_name": "مریم کاظمی"}
    reply = {"reply_id": "r1", "kind": "final", "reply_number": f"{number}/1", "body": "مجوز صادر شد."}
    text = pdf_text(
        reply_pdf({**case, "national_code": "0084575948"}, {**reply, "reply_date": "-"}), tmp_path
    )
    assert f"شمارهپاسخ:{read}/۱" in text  # «tehran/۷/۱۴۰۵» was the old number drawn reversed
    assert f"شمارهثبتدبیرخانه:{read}" in text and "کدرهگیری:۱۴۰۵۱۲۳۴۵۶۷۸" in text

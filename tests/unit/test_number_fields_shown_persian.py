"""Number fields the desk fills in or gives back (issue 23): a national code, a mobile, a date or
a tracking code is shown in Persian digits in the citizen's inputs, left to right, and what comes
back typed so is read as ASCII by the command that takes it. E-mail addresses and free text are
shown as they are."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from contracts.identity_rpc import (
    CompanyInput,
    PasswordLogin,
    RegistryInquiry,
    RequestLoginCode,
    RequestReset,
    StartRegistration,
)
from gateway.web.templates import make_templates

CITIZEN = Path(__file__).parents[2] / "gateway" / "citizen" / "templates"
CODE = "0084575948"
MOBILE = "09121234567"
ENV = make_templates(CITIZEN).env


def _value(html: str, name: str) -> tuple[str, str]:
    """The `value` and `dir` of the input named `name`."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag is not None, name
    value = re.search(r'value="([^"]*)"', tag.group())
    direction = re.search(r'dir="([^"]*)"', tag.group())
    return (value.group(1) if value else "", direction.group(1) if direction else "")


def _macro(template: str, name: str, *args: Any, **kwargs: Any) -> str:
    return str(getattr(ENV.get_template(template).module, name)(*args, **kwargs))


def test_a_letter_or_wizard_field_shows_numbers_in_persian_digits_and_text_as_typed() -> None:
    values = {"national_code": CODE, "mobile": MOBILE, "birth_date": "1365/04/21", "visit_date": "1403/02/15",
              "email": "ali2@example.com", "subject": "پروانه 12",
              "company_national_id": "10100387124"}  # fmt: skip
    field = "requests/_macros.html"
    shown = {
        "national_code": _macro(field, "field", "national_code", "کد ملی", values, {}, dir="ltr"),
        "mobile": _macro(field, "field", "mobile", "همراه", values, {}, type="tel", dir="ltr"),
        "birth_date": _macro(field, "field", "birth_date", "تولد", values, {}, dir="ltr", date=True),
        "visit_date": _macro(field, "field", "visit_date", "مراجعه", values, {}, dir="ltr"),
        "company_national_id": _macro(field, "field", "company_national_id", "شناسه", values, {}, dir="ltr"),
        "email": _macro(field, "field", "email", "ایمیل", values, {}, type="email", dir="ltr"),
        "subject": _macro(field, "field", "subject", "موضوع", values, {}),
    }
    assert {name: _value(html, name) for name, html in shown.items()} == {
        "national_code": ("۰۰۸۴۵۷۵۹۴۸", "ltr"),
        "mobile": ("۰۹۱۲۱۲۳۴۵۶۷", "ltr"),
        "birth_date": ("۱۳۶۵/۰۴/۲۱", "ltr"),
        "visit_date": ("۱۴۰۳/۰۲/۱۵", "ltr"),
        "company_national_id": ("۱۰۱۰۰۳۸۷۱۲۴", "ltr"),
        "email": ("ali2@example.com", "ltr"),
        "subject": ("پروانه 12", ""),
    }


def test_an_identity_field_shows_codes_mobiles_and_dates_in_persian_digits() -> None:
    values = {"national_code": CODE, "mobile": MOBILE, "birth_date": "1370/05/20", "landline": "02188776655",
              "email": "ali2@example.com", "first_name": "Ali2"}  # fmt: skip
    field = "_identity_macros.html"
    shown = {
        "national_code": _macro(
            field, "field", "national_code", "کد ملی", values, inputmode="numeric", dir="ltr"
        ),
        "mobile": _macro(field, "field", "mobile", "همراه", values, inputmode="tel", dir="ltr"),
        "birth_date": _macro(field, "field", "birth_date", "تولد", values, dir="ltr", date=True),
        "landline": _macro(field, "field", "landline", "ثابت", values, inputmode="tel", dir="ltr"),
        "email": _macro(field, "field", "email", "ایمیل", values, type="email", dir="ltr"),
        "first_name": _macro(field, "field", "first_name", "نام", values),
    }
    assert {name: _value(html, name) for name, html in shown.items()} == {
        "national_code": ("۰۰۸۴۵۷۵۹۴۸", "ltr"),
        "mobile": ("۰۹۱۲۱۲۳۴۵۶۷", "ltr"),
        "birth_date": ("۱۳۷۰/۰۵/۲۰", "ltr"),
        "landline": ("۰۲۱۸۸۷۷۶۶۵۵", "ltr"),
        "email": ("ali2@example.com", "ltr"),
        "first_name": ("Ali2", ""),
    }


def test_the_profile_form_asks_for_the_landline_as_a_number() -> None:
    source = (CITIZEN / "identity" / "edit.html").read_text(encoding="utf-8")
    assert re.search(r'f\.field\("landline"[^)]*inputmode="tel"', source)


def test_survey_and_tracking_forms_give_back_codes_in_persian_digits() -> None:
    for template, names in (
        ("survey/start.html", ("tracking_code", "national_code")),
        ("survey/details.html", ("respondent_national_code", "mobile")),
        ("requests/track.html", ("tracking_code", "second_factor")),
    ):
        source = (CITIZEN / template).read_text(encoding="utf-8")
        for name in names:
            assert re.search(rf'name="{{{{ name }}}}"|name="{name}"', source), (template, name)
        if template == "survey/details.html":
            assert '| fa) if dir == "ltr" and type != "email"' in source
        else:
            for name in names:
                assert f"form.get('{name}', '') | fa" in source, (template, name)


def test_identity_commands_read_persian_digits_as_ascii() -> None:
    code, mobile, birth = "۰۰۸۴۵۷۵۹۴۸", "۰۹۱۲۱۲۳۴۵۶۷", "۱۳۷۰/۰۵/۲۰"
    registration = StartRegistration.model_validate(
        {
            "method": "mobile",
            "national_code": code,
            "birth_date": birth,
            "mobile": mobile,
            "first_name": "زهرا",
            "last_name": "احمدی",
            "password": "x",
        }
    )
    assert (registration.national_code, registration.mobile) == (CODE, MOBILE)
    assert registration.birth_date == "1370/05/20"
    assert RegistryInquiry.model_validate({"national_code": code, "birth_date": birth}).national_code == CODE
    assert PasswordLogin.model_validate({"national_code": code, "password": "x"}).national_code == CODE
    assert RequestLoginCode.model_validate({"mobile": mobile}).mobile == MOBILE
    reset = RequestReset.model_validate({"national_code": code, "mobile": mobile})
    assert (reset.national_code, reset.mobile) == (CODE, MOBILE)
    company = CompanyInput.model_validate(
        {"company_name": "شرکت نمونه", "national_id": "۱۰۱۰۰۳۸۷۱۲۴", "economic_code": "۴۱۱۱۱۱۱۱۱۱۱۱"}
    )
    assert (company.national_id, company.economic_code) == ("10100387124", "411111111111")

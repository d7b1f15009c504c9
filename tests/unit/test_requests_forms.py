"""The rules of the wizard's steps and of the letter forms."""

from __future__ import annotations

import pytest

from services.requests import forms
from services.requests.sample_catalogue import SERVICES

WIZARD = SERVICES[0]  # seed 003: 80 KB × 2, six steps
LETTER = SERVICES[3]  # seeds 000/001: a formal letter, a file required

APPLICANT = {
    "national_code": "0084575948",
    "first_name": "مریم",
    "last_name": "کاظمی",
    "mobile": "09123456789",
}


@pytest.mark.parametrize(
    ("code", "valid"),
    [("10380284790", True), ("10380284791", False), ("1038028479", False), ("11111111111", False)],
)
def test_national_id_of_a_legal_entity_has_a_check_digit(code: str, valid: bool) -> None:
    assert forms.is_national_id(code) is valid


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("1365/04/21", True),
        ("1403-2-15", True),
        ("1403/12/31", False),
        ("1399/12/30", True),
        ("2024/01/01", False),
        ("۱۴۰۳/۰۲/۱۵", False),
    ],
)
def test_jalali_dates(text: str, valid: bool) -> None:
    assert forms.is_jalali_date(text) is valid  # digits are normalised before the rules run


def test_a_future_date_is_not_a_birth_or_visit_date() -> None:
    assert not forms.is_jalali_date("1499/01/01", past=True)


def test_step_two_needs_the_request_text() -> None:
    assert forms.check_wizard_step(2, {}, WIZARD, 0) == {"text": forms.REQUIRED}
    assert forms.check_wizard_step(2, {"text": "سلام"}, WIZARD, 0) == {}
    assert "text" in forms.check_wizard_step(2, {"text": "x" * 4001}, WIZARD, 0)


def test_step_four_checks_the_applicant() -> None:
    assert forms.check_wizard_step(4, APPLICANT, WIZARD, 0) == {}
    wrong = forms.check_wizard_step(
        4,
        {**APPLICANT, "national_code": "0084575949", "mobile": "0912", "email": "x@", "landline": "12"},
        WIZARD,
        0,
    )
    assert set(wrong) == {"national_code", "mobile", "email", "landline"}
    missing = forms.check_wizard_step(4, {"mobile": "+98 912 345 6789"}, WIZARD, 0)
    assert set(missing) == {"national_code", "first_name", "last_name"}


def test_step_five_is_optional_but_checked_when_given() -> None:
    assert forms.check_wizard_step(5, {}, WIZARD, 0) == {}
    wrong = forms.check_wizard_step(
        5, {"visit_officer": "کسی دیگر", "visit_date": "1403/13/01", "previous_result": "؟"}, WIZARD, 0
    )
    assert set(wrong) == {"visit_officer", "visit_date", "previous_result"}
    right = {
        "visit_officer": "ابوالفضل یاری",
        "visit_date": "1402/05/01",
        "previous_result": forms.PREVIOUS_RESULTS[1],
    }
    assert forms.check_wizard_step(5, right, WIZARD, 0) == {}


def test_all_rules_point_at_the_first_step_to_fix() -> None:
    errors = forms.check_all({"text": "x"}, WIZARD, 0)
    assert forms.first_step_with_errors(errors) == 4
    assert forms.first_step_with_errors(forms.check_all({}, WIZARD, 0)) == 2
    assert forms.check_all({"text": "x", **APPLICANT}, WIZARD, 0) == {}


def test_a_natural_persons_letter() -> None:
    letter = {
        "kind": "natural",
        "full_name": "مریم کاظمی",
        "national_code": "0084575948",
        "mobile": "09123456789",
        "province": "tehran",
        "subject": "درخواست تایید مستمری",
    }
    assert forms.check_letter(letter, LETTER, 1) == {}
    assert forms.check_letter(letter, LETTER, 0) == {"attachments": "فایل درخواست را بارگذاری کنید."}
    too_long = forms.check_letter({**letter, "subject": "م" * 201, "full_name": "ن" * 201}, LETTER, 1)
    assert set(too_long) == {"subject", "full_name"} and "۲۰۰" in too_long["subject"]
    assert set(forms.check_letter({**letter, "province": "atlantis"}, LETTER, 1)) == {"province"}


def test_a_legal_entitys_letter() -> None:
    letter = {
        "kind": "legal",
        "owner_name": "رضا محمدی",
        "owner_national_code": "0084575948",
        "owner_mobile": "09123456789",
        "owner_birth_date": "1360/01/01",
        "company_name": "شرکت نمونه",
        "company_national_id": "10380284790",
        "province": "isfahan",
        "subject": "درخواست مجوز",
    }
    assert forms.check_letter(letter, LETTER, 1) == {}
    wrong = forms.check_letter(
        {**letter, "company_national_id": "10380284791", "owner_birth_date": "x"}, LETTER, 1
    )
    assert set(wrong) == {"company_national_id", "owner_birth_date"}
    assert "company_name" in forms.check_letter({**letter, "company_name": ""}, LETTER, 1)

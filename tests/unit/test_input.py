"""What citizens type: digits, letters, mobiles, national codes, tracking codes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.persian import (
    is_national_code,
    normalize_code,
    normalize_mobile,
    normalize_text,
    persian_digits,
)
from contracts.rpc import SubmitRequest
from contracts.tracking import new_tracking_code, normalize_tracking_code


@pytest.mark.parametrize(
    "typed", ["09121234567", "9121234567", "+989121234567", "00989121234567", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧"]
)
def test_every_way_of_writing_a_mobile_has_one_normal_form(typed: str) -> None:
    assert normalize_mobile(typed) == "09121234567"


@pytest.mark.parametrize("typed", ["0912123456", "08121234567", "+98912123456789", "abc", ""])
def test_malformed_mobiles_are_refused(typed: str) -> None:
    assert normalize_mobile(typed) is None


def test_national_code_check_digit() -> None:
    assert is_national_code("0084575948")
    assert not is_national_code("0084575949")  # one digit off
    assert not is_national_code("1111111111")  # all the same digit
    assert not is_national_code("008457594")  # too short


def test_free_text_takes_persian_letters_and_keeps_the_digits_typed_while_codes_get_latin_digits() -> None:
    assert normalize_text(" علي كريمي ۱۲٣ ") == "علی کریمی ۱۲٣"
    assert normalize_code(" ۰۰۸۴٥۷۵۹۴۸ ") == "0084575948"
    assert persian_digits("1405/12") == "۱۴۰۵/۱۲"


def test_tracking_codes_carry_check_digits_that_catch_typos() -> None:
    codes = {new_tracking_code() for _ in range(500)}
    assert len(codes) == 500
    for code in list(codes)[:50]:
        assert normalize_tracking_code(code) == code
        assert normalize_tracking_code(persian_digits(code[:4]) + "-" + code[4:]) == code
        for i in range(12):  # every single-digit typo is caught
            wrong = code[:i] + str((int(code[i]) + 1) % 10) + code[i + 1 :]
            assert normalize_tracking_code(wrong) is None
        for i in range(11):  # and every swap of two different neighbours
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                assert normalize_tracking_code(swapped) is None


def test_submission_payload_normalises_and_names_the_broken_rule() -> None:
    base = {
        "national_code": "۰۰۸۴۵۷۵۹۴۸",
        "full_name": "علي",
        "mobile": "9121234567",
        "province": "tehran",
        "subject": "موضوع",
        "text": "متن",
    }
    parsed = SubmitRequest.model_validate(base)
    assert (parsed.national_code, parsed.mobile, parsed.full_name) == ("0084575948", "09121234567", "علی")
    with pytest.raises(ValidationError, match="invalid_mobile"):
        SubmitRequest.model_validate({**base, "mobile": "12"})
    with pytest.raises(ValidationError):
        SubmitRequest.model_validate({**base, "subject": "x" * 201})
    with pytest.raises(ValidationError):
        SubmitRequest.model_validate({**base, "extra": "no"})

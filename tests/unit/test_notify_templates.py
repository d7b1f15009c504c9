"""Templates: seed texts, Persian digits, values an administrator may use."""

from __future__ import annotations

import pytest

from contracts.errors import DomainError
from services.notify.templates import MASK, TEMPLATES, check_text, render, template


def test_seed_texts_follow_the_seeds() -> None:
    assert "در دبیرخانه با شماره {registration_number} ثبت گردید" in TEMPLATES["request_registered"].text
    assert TEMPLATES["reply_posted"].text == "یک پاسخ برای درخواست با کد رهگیری {tracking_code} ثبت شده است."
    assert {"verification_approved", "verification_rejected", "returned_for_correction"} <= set(TEMPLATES)
    assert all(
        f"otp_{p}" in TEMPLATES
        for p in ("login", "register", "reset_password", "staff_login", "verify_mobile")
    )


def test_numbers_print_in_persian_digits_but_codes_stay_latin() -> None:
    assert render(TEMPLATES["request_received"].text, tracking_code="1405123").count("۱۴۰۵۱۲۳") == 1
    assert "482913" in render(TEMPLATES["otp_login"].text, code="482913")
    assert MASK in render(TEMPLATES["otp_login"].text, code=MASK)


def test_a_missing_value_prints_empty_rather_than_failing() -> None:
    assert render("کد {tracking_code} و {reason}", tracking_code="12") == "کد ۱۲ و "


def test_an_administrator_may_use_only_the_values_a_template_offers() -> None:
    check_text("verification_rejected", "رد شد: {reason}")
    with pytest.raises(DomainError) as unknown:
        check_text("verification_rejected", "رد شد: {tracking_code}")
    assert unknown.value.code == "invalid_template"
    with pytest.raises(DomainError):
        check_text("reply_posted", "کد {tracking_code")
    with pytest.raises(DomainError) as missing:
        template("nope")
    assert missing.value.code == "unknown_template"

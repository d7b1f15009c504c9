"""Templates: seed texts, Persian digits, values an administrator may use."""

from __future__ import annotations

import re

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
    assert render("کد {tracking_code} و {reason}", tracking_code="12") == "کد \u2066۱۲\u2069 و "
    assert render("کد {tracking_code}.") == "کد ."  # nothing to isolate


def test_registration_numbers_and_codes_are_isolated_in_persian_digits() -> None:
    text = render(TEMPLATES["request_registered"].text, registration_number="1405/23/5", tracking_code="7")
    assert "با شماره \u2066۱۴۰۵/۲۳/۵\u2069 ثبت گردید" in text
    assert not re.search("[A-Za-z0-9]", text)
    received = render(TEMPLATES["request_received"].text, tracking_code="140512345678")
    assert "کد رهگیری \u2066۱۴۰۵۱۲۳۴۵۶۷۸\u2069 ثبت شد" in received
    # A number given before the numeric province code keeps its text, in one isolated piece.
    old = render(TEMPLATES["request_registered"].text, registration_number="1405/tehran/5")
    assert "\u2066۱۴۰۵/tehran/۵\u2069" in old


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

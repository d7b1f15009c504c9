"""Identity that says one thing, in Chromium (issue 23 item 4, seeds 000 and 004): a refusal is
shown as a refusal, the account page's «آنچه سطح شما اجازه می‌دهد» is the rule the requests service
applies, a citizen the registry confirmed is not told to get verified, refused identity forms
come back as typed with the field's message, «تاریخ استعلام» is shown, and the verification form
keeps a «ثبت موقت» that the citizen cartable lists with its state, beside seed 004's columns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from contracts.persian import latin_digits
from deploy.run import Desk
from services.identity.accounts import citizen_id
from services.notify.providers import OutboxProvider
from tests.captchas import answer_of, secret_of
from tests.desk import running_desk
from tests.e2e.conftest import click_and_wait
from tests.integration.test_identity_flow import PASSWORD, code_for, identity_env
from tests.steps import eventually, submit

pytestmark = pytest.mark.e2e

LETTER = "17011230001"
"""Seed 000's formal letter: its card asks assurance level 2 (services/requests/sample_catalogue)."""


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("identity-one-thing")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


def fill(browser: webdriver.Chrome, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def press(browser: webdriver.Chrome, css: str) -> None:
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, css))


def value_of(browser: webdriver.Chrome, name: str) -> str:
    return browser.find_element(By.NAME, name).get_attribute("value") or ""


def boxes(browser: webdriver.Chrome) -> tuple[str, str]:
    """The page's red error box and green notice box (empty when absent)."""
    error = browser.find_elements(By.CSS_SELECTOR, ".alert.error#error")
    notice = browser.find_elements(By.CSS_SELECTOR, ".alert.ok#notice")
    return (error[0].text if error else "", notice[0].text if notice else "")


def register_by_mobile(browser: webdriver.Chrome, desk: Desk, who: dict[str, str], seen: set[str]) -> None:
    browser.get(desk.url("citizen") + "/register/mobile")
    fill(browser, {**who, "password": PASSWORD, "password2": PASSWORD})
    press(browser, "#mobile-register-form button[type=submit]")
    fill(browser, {"code": code_for(desk, who["mobile"], seen)})
    press(browser, "#code-form button[type=submit]")
    assert "/account" in browser.current_url, browser.find_element(By.TAG_NAME, "main").text


def solve_captcha(browser: webdriver.Chrome, desk: Desk) -> None:
    """Answer the form's captcha, when it shows one (`tests.captchas`)."""
    for box in browser.find_elements(By.ID, "captcha"):
        token = browser.find_element(By.NAME, "captcha_token").get_attribute("value") or ""
        box.send_keys(answer_of(token, secret_of(desk)))


def sign_out(browser: webdriver.Chrome) -> None:
    press(browser, "form[action='/logout'] button")


def allowed(browser: webdriver.Chrome, service_id: str) -> str:
    row = browser.find_element(By.CSS_SELECTOR, f"#allowed-services tr[data-service='{service_id}']")
    return row.get_attribute("data-allowed") or ""


def test_the_registry_form_shows_its_inquiry_date_keeps_what_was_typed_and_the_sms_agrees(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    seen: set[str] = set()
    browser.get(desk.url("citizen") + "/register")
    click_and_wait(browser, browser.find_element(By.ID, "way-registry"))
    assert browser.find_element(By.ID, "inquired_at").get_attribute("value") == ""
    fill(browser, {"national_code": "۰۰۱۱۲۲۳۳۴۰", "birth_date": "۱۳۷۰/۰۵/۲۰"})
    press(browser, "#inquire")
    inquired = browser.find_element(By.ID, "inquired_at")
    assert inquired.get_attribute("readonly") is not None
    shown = inquired.get_attribute("value") or ""
    assert shown.startswith("۱۴") and ":" in shown, shown  # Jalali date and time, Persian digits
    assert "نرگس" in browser.find_element(By.ID, "registry-record").text

    # Refused (the passwords differ): what was typed comes back, never a password, with the
    # message under the field it is about.
    fill(browser, {"mobile": "09123334455", "password": PASSWORD, "password2": PASSWORD + "x"})
    press(browser, "#register")
    error, notice = boxes(browser)
    assert "یکسان نیستند" in error and not notice
    assert latin_digits(value_of(browser, "national_code")) == "0011223340"
    assert value_of(browser, "mobile") == "۰۹۱۲۳۳۳۴۴۵۵"  # given back in Persian digits
    assert value_of(browser, "password") == "" and value_of(browser, "password2") == ""
    assert "یکسان نیستند" in browser.find_element(By.ID, "e-password2").text
    assert browser.find_element(By.ID, "password2").get_attribute("aria-invalid") == "true"

    fill(browser, {"password": PASSWORD, "password2": PASSWORD})
    press(browser, "#register")
    fill(browser, {"code": code_for(desk, "09123334455", seen)})
    press(browser, "#code-form button[type=submit]")
    assert browser.find_element(By.ID, "assurance-level").get_attribute("data-level") == "3"
    assert browser.find_element(By.ID, "registry-inquired-at").text.startswith("۱۴")
    assert allowed(browser, LETTER) == "yes"

    # The welcome SMS of a citizen the registry confirmed does not ask them to get verified.
    outbox = OutboxProvider(desk.env["SMS_OUTBOX_URL"])
    try:
        texts = eventually(
            lambda: [
                str(m["text"])
                for m in outbox.messages()
                if m["to"] == "09123334455" and "ثبت‌نام شما" in str(m["text"])
            ]
        )
    finally:
        outbox.db.dispose()
    assert "باید تایید شود" not in texts[0] and "ثبت احوال تایید شد" in texts[0]
    sign_out(browser)


def test_a_refusal_is_red_and_the_account_page_says_what_the_services_enforce(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    seen: set[str] = set()
    # The mobile belongs to someone else by Shahkar: level 1.
    someone_else = {
        "national_code": "0012345679",
        "mobile": "09121111111",
        "birth_date": "۱۳۶۸/۰۴/۱۵",
        "first_name": "مریم",
        "last_name": "کاظمی",
    }
    register_by_mobile(browser, desk, someone_else, seen)
    assert browser.find_element(By.ID, "assurance-level").get_attribute("data-level") == "1"
    assert allowed(browser, LETTER) == "no"
    assert "۲" in browser.find_element(By.CSS_SELECTOR, f"tr[data-service='{LETTER}']").text
    press(browser, "#shahkar")
    error, notice = boxes(browser)
    assert "به نام این کد ملی ثبت نشده" in error, (error, notice)
    assert "به نام این کد ملی" not in notice

    # A wrong birth date for the registry check: red, and the date typed is still in its field.
    fill(browser, {"birth_date": "۱۳۶۹/۰۱/۰۱"})
    press(browser, "#registry-check")
    error, notice = boxes(browser)
    assert "مطابقت ندارد" in error and not notice
    assert value_of(browser, "birth_date") == "۱۳۶۹/۰۱/۰۱"
    assert browser.find_element(By.ID, "e-birth_date").is_displayed()
    sign_out(browser)

    # Their own mobile by Shahkar: level 2, which is what the formal letter's card asks.
    own = {
        "national_code": "0022334459",
        "mobile": "09124445566",
        "birth_date": "۱۳۶۶/۱۲/۰۱",
        "first_name": "امیر",
        "last_name": "صادقی",
    }
    register_by_mobile(browser, desk, own, seen)
    assert browser.find_element(By.ID, "assurance-level").get_attribute("data-level") == "2"
    assert allowed(browser, LETTER) == "yes"
    assert "نیازمند احراز هویت ثبت احوال" not in browser.find_element(By.TAG_NAME, "main").text
    # ... and the letter's form opens for them: the service agrees with the page.
    browser.get(desk.url("citizen") + f"/services/{LETTER}")
    browser.find_element(By.ID, "consent").click()
    press(browser, "#consent-form button[type=submit]")
    assert "/drafts/" in browser.current_url, boxes(browser)
    sign_out(browser)

    # A refused password login keeps the national code, never the password.
    browser.get(desk.url("citizen") + "/login")
    fill(browser, {"national_code": "0022334459", "password": "wrong-password-1"})
    press(browser, "#login-form button[type=submit]")
    assert "نادرست" in boxes(browser)[0]
    assert latin_digits(value_of(browser, "national_code")) == "0022334459"
    assert value_of(browser, "password") == ""


def test_the_verification_form_keeps_a_draft_that_the_cartable_lists_with_its_state(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    seen: set[str] = set()
    who = {
        "national_code": "0067890121",
        "mobile": "09127777777",  # not theirs by Shahkar: level 1, verification is their way up
        "birth_date": "۱۳۶۵/۰۹/۲۱",
        "first_name": "رضا",
        "last_name": "نوری",
    }
    register_by_mobile(browser, desk, who, seen)
    scan = tmp_path / "card.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    # Sent with the birth certificate alone: refused, and the form comes back as typed with the
    # field's message; the scan it carried is kept (as a «ثبت موقت»), not lost.
    browser.get(desk.url("citizen") + "/verification")
    Select(browser.find_element(By.ID, "province")).select_by_value("tehran")
    fill(browser, {"father_name": "جواد", "note": "پلاک ۷"})
    browser.find_element(By.ID, "birth_certificate").send_keys(str(scan))
    press(browser, "#submit-verification")
    assert "کارت ملی و شناسنامه" in boxes(browser)[0]
    assert value_of(browser, "father_name") == "جواد"
    assert browser.find_element(By.ID, "note").get_attribute("value") == "پلاک ۷"
    chosen = Select(browser.find_element(By.ID, "province")).first_selected_option
    assert chosen.get_attribute("value") == "tehran"
    assert browser.find_element(By.ID, "e-national_card").is_displayed()
    kept = browser.find_element(By.ID, "kept-scans")
    assert kept.find_elements(By.CSS_SELECTOR, "li[data-purpose='birth_certificate']")

    # «ثبت موقت» with the national card: both kept, nothing sent.
    browser.find_element(By.ID, "national_card").send_keys(str(scan))
    press(browser, "#save-draft")
    assert "ثبت موقت" in boxes(browser)[1]
    assert browser.find_element(By.ID, "verification-status").get_attribute("data-status") == "none"
    assert browser.find_element(By.ID, "draft-saved").is_displayed()
    kept = browser.find_element(By.ID, "kept-scans")
    purposes = {li.get_attribute("data-purpose") for li in kept.find_elements(By.TAG_NAME, "li")}
    assert purposes == {"national_card", "birth_certificate"}
    assert value_of(browser, "father_name") == "جواد"

    # The cartable lists it awaiting the citizen's action, with seed 004's columns.
    browser.get(desk.url("citizen") + "/cartable?folder=awaiting")
    headers = browser.find_element(By.CSS_SELECTOR, "#requests thead").text
    for column in ("درخواست کننده", "زمان انتظار", "فعلی", "گردش کار", "گزارش"):
        assert column in headers
    row = browser.find_element(By.ID, "verification-row")
    assert row.get_attribute("data-verification") == "draft"
    assert "شما (متقاضی)" in row.find_element(By.CSS_SELECTOR, ".holder").text
    assert "۱" in browser.find_element(By.ID, "folder-awaiting").text
    click_and_wait(browser, row.find_element(By.CSS_SELECTOR, "a.report"))

    # Back on the form from the cartable: sent as kept, the draft's scans count.
    assert "/verification" in browser.current_url
    press(browser, "#submit-verification")
    assert browser.find_element(By.ID, "verification-status").get_attribute("data-status") == "submitted"

    browser.get(desk.url("citizen") + "/cartable?folder=progress")
    row = browser.find_element(By.ID, "verification-row")
    assert row.get_attribute("data-verification") == "submitted"
    assert "مسئول میز خدمت استان تهران" in row.find_element(By.CSS_SELECTOR, ".holder").text
    assert "دقیقه" in row.find_element(By.CSS_SELECTOR, ".waited").text
    row.find_element(By.CSS_SELECTOR, "details.workflow summary").click()
    assert "ارسال فرم" in row.find_element(By.CSS_SELECTOR, "details.workflow").text
    browser.get(desk.url("citizen") + "/cartable?folder=awaiting")
    assert not browser.find_elements(By.ID, "verification-row")


def test_the_account_forms_and_password_recovery_come_back_as_typed_with_the_field_s_message(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    who = {
        "national_code": "0499370899",
        "mobile": "09125550001",
        "birth_date": "۱۳۶۵/۱۱/۲۰",
        "first_name": "سمانه",
        "last_name": "رحیمی",
    }
    register_by_mobile(browser, desk, who, set())

    # Change password: the new ones differ, then the current one is wrong; never a password back.
    browser.get(desk.url("citizen") + "/account/password")
    fill(
        browser,
        {"current_password": PASSWORD, "new_password": "Anaar-1404!x", "new_password2": "Anaar-1404!y"},
    )
    press(browser, "#password-form button[type=submit]")
    assert "یکسان نیستند" in browser.find_element(By.ID, "e-new_password2").text
    assert value_of(browser, "new_password") == "" and value_of(browser, "current_password") == ""
    fill(
        browser,
        {
            "current_password": "not-my-password",
            "new_password": "Anaar-1404!x",
            "new_password2": "Anaar-1404!x",
        },
    )
    press(browser, "#password-form button[type=submit]")
    assert browser.find_element(By.ID, "e-current_password").is_displayed()

    # Edit: a company's شناسه ملی with a wrong check digit: everything typed is still there.
    browser.get(desk.url("citizen") + "/account/edit")
    browser.find_element(By.CSS_SELECTOR, "input[name=kind][value=legal]").click()
    fill(
        browser,
        {
            "address": "تهران، خیابان آزادی، پلاک ۷",
            "company_name": "شرکت نمونه",
            "national_id": "10380284791",
        },
    )
    press(browser, "#edit-form button[type=submit]")
    assert "شناسه ملی" in boxes(browser)[0]
    assert browser.find_element(By.ID, "e-national_id").is_displayed()
    assert value_of(browser, "address") == "تهران، خیابان آزادی، پلاک ۷"
    assert value_of(browser, "company_name") == "شرکت نمونه"
    assert latin_digits(value_of(browser, "national_id")) == "10380284791"
    sign_out(browser)

    # Password recovery with a national code that fails its check digit: kept, with its message.
    browser.get(desk.url("citizen") + "/password/forgot")
    fill(browser, {"national_code": "0499370898", "mobile": "09125550001"})
    solve_captcha(browser, desk)
    press(browser, "#forgot-form button[type=submit]")
    assert "کد ملی" in browser.find_element(By.ID, "e-national_code").text
    assert latin_digits(value_of(browser, "national_code")) == "0499370898"
    assert value_of(browser, "mobile") == "۰۹۱۲۵۵۵۰۰۰۱"  # given back in Persian digits

    # The right national code: a code is sent; a wrong code comes back as typed, under its field.
    fill(browser, {"national_code": "0499370899"})
    solve_captcha(browser, desk)
    press(browser, "#forgot-form button[type=submit]")
    assert browser.current_url.endswith("/code")
    fill(browser, {"code": "000000", "new_password": "Anaar-1404!x", "new_password2": "Anaar-1404!x"})
    press(browser, "#code-form button[type=submit]")
    assert browser.find_element(By.ID, "e-code").is_displayed()
    assert value_of(browser, "code") == "۰۰۰۰۰۰"
    assert value_of(browser, "new_password") == "" and value_of(browser, "new_password2") == ""


def test_a_filed_request_shows_seed_004_s_columns_in_the_cartable(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    who = {
        "national_code": "0721000002",
        "mobile": "09125550002",
        "birth_date": "۱۳۷۱/۰۳/۱۰",
        "first_name": "کاوه",
        "last_name": "امینی",
    }
    register_by_mobile(browser, desk, who, set())
    two_days_ago = (datetime.now(UTC) - timedelta(days=2, hours=3)).isoformat()
    filed = submit(desk, "tehran", at=two_days_ago, account_id=citizen_id("0721000002"))

    def listed() -> bool:
        browser.get(desk.url("citizen") + "/cartable?folder=progress")
        return bool(browser.find_elements(By.CSS_SELECTOR, f"tr[data-request='{filed.request_id}']"))

    eventually(listed)
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-request='{filed.request_id}']")
    assert row.find_element(By.CSS_SELECTOR, ".holder").text == "دبیرخانه استان تهران"
    assert row.find_element(By.CSS_SELECTOR, ".waited").text.startswith("۲ روز")
    row.find_element(By.CSS_SELECTOR, "details.workflow summary").click()
    workflow = row.find_element(By.CSS_SELECTOR, "details.workflow").text
    assert "ثبت در دبیرخانه" in workflow and "در پیش" in workflow
    report = row.find_element(By.CSS_SELECTOR, "a.report")
    click_and_wait(browser, report)
    assert browser.current_url.endswith(f"/requests/{filed.request_id}#history")
    assert browser.find_element(By.ID, "history").is_displayed()

"""A real browser walks identity end to end: register by mobile → one-time code → log in →
identity verification with scans → a desk officer (made by the administrator) rejects with a
reason → the citizen resubmits → approval → the citizen sees the approval and level 3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from deploy.run import Desk
from tests.desk import running_desk
from tests.e2e.conftest import click_and_wait
from tests.integration.test_identity_flow import ADMIN, PASSWORD, code_for, identity_env

pytestmark = pytest.mark.e2e

OFFICER = {"national_code": "0056789017", "mobile": "09351234567", "password": "Desk-Officer-88"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("identity-e2e")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


def fill(browser: webdriver.Chrome, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def sign_out(browser: webdriver.Chrome) -> None:
    button = browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button")
    click_and_wait(browser, button)


def submit(browser: webdriver.Chrome, form_id: str) -> None:
    button = browser.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]")
    click_and_wait(browser, button)


def open_case(browser: webdriver.Chrome, cartable: str) -> None:
    """The cartable is a read model: reload until the new round shows, then open it."""

    def listed(driver: webdriver.Chrome) -> bool:
        driver.get(cartable)
        return bool(driver.find_elements(By.LINK_TEXT, "بررسی مشخصات هویتی"))

    browser.implicitly_wait(0)
    try:
        WebDriverWait(browser, 30, poll_frequency=0.3).until(listed)
    finally:
        browser.implicitly_wait(5)
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "بررسی مشخصات هویتی"))


def staff_login(
    browser: webdriver.Chrome, desk: Desk, national_code: str, password: str, mobile: str
) -> None:
    browser.get(desk.url("backoffice") + "/login")
    fill(browser, {"national_code": national_code, "password": password})
    submit(browser, "staff-login-form")
    fill(browser, {"code": code_for(desk, mobile, set())})
    button = browser.find_element(By.CSS_SELECTOR, "#staff-code-form button[value=verify]")
    click_and_wait(browser, button)
    assert browser.current_url.endswith("/identity/home"), browser.find_element(By.TAG_NAME, "main").text


def test_register_verify_and_be_approved_by_a_desk_officer(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    citizen = desk.url("citizen")
    seen: set[str] = set()
    # Register by mobile; the mobile belongs to someone else by Shahkar, so the level stays 1.
    browser.get(citizen + "/register")
    browser.find_element(By.ID, "way-mobile").click()
    fill(
        browser,
        {
            "national_code": "۰۰۱۲۳۴۵۶۷۹",
            "mobile": "0912 111 1111",
            "birth_date": "۱۳۶۸/۰۴/۱۵",
            "first_name": "مریم",
            "last_name": "کاظمی",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    submit(browser, "mobile-register-form")
    fill(browser, {"code": code_for(desk, "09121111111", seen)})
    submit(browser, "code-form")
    assert browser.find_element(By.ID, "assurance-level").get_attribute("data-level") == "1"
    sign_out(browser)

    # Log in with the password just chosen.
    browser.get(citizen + "/account")  # not signed in: sent to the login page, then back here
    fill(browser, {"national_code": "0012345679", "password": PASSWORD})
    submit(browser, "login-form")
    assert "/account" in browser.current_url

    # Identity verification with scans of the national card and birth certificate.
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    browser.get(citizen + "/verification")
    Select(browser.find_element(By.ID, "province")).select_by_value("tehran")
    browser.find_element(By.ID, "national_card").send_keys(str(scan))
    browser.find_element(By.ID, "birth_certificate").send_keys(str(scan))
    submit(browser, "verification-form")
    assert browser.find_element(By.ID, "verification-status").get_attribute("data-status") == "submitted"

    # The administrator makes a desk officer.
    staff_login(browser, desk, ADMIN["ADMIN_NATIONAL_CODE"], ADMIN["ADMIN_PASSWORD"], ADMIN["ADMIN_MOBILE"])
    click_and_wait(browser, browser.find_element(By.ID, "to-staff"))
    fill(browser, {"full_name": "سارا حسینی", **OFFICER})
    submit(browser, "new-staff")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-national-code='{OFFICER['national_code']}']")
    Select(row.find_element(By.NAME, "role")).select_by_value("desk_officer")
    click_and_wait(browser, row.find_element(By.CSS_SELECTOR, "form.grant button"))
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-national-code='{OFFICER['national_code']}']")
    assert "مسئول میز خدمت" in row.text
    sign_out(browser)

    # The desk officer rejects with a reason.
    staff_login(browser, desk, OFFICER["national_code"], OFFICER["password"], OFFICER["mobile"])
    assert browser.find_element(By.ID, "to-cartable").is_displayed()
    open_case(browser, desk.url("backoffice") + "/identity/cartable")
    fill(browser, {"reason": "تصویر شناسنامه خوانا نیست"})
    click_and_wait(browser, browser.find_element(By.ID, "reject"))
    assert "بازگشت" in browser.find_element(By.ID, "notice").text

    # The citizen reads the reason and resubmits.
    browser.get(citizen + "/verification")
    assert "تصویر شناسنامه خوانا نیست" in browser.find_element(By.ID, "rejection-reason").text
    browser.find_element(By.ID, "national_card").send_keys(str(scan))
    browser.find_element(By.ID, "birth_certificate").send_keys(str(scan))
    submit(browser, "verification-form")

    # The desk officer approves the second round.
    open_case(browser, desk.url("backoffice") + "/identity/cartable")
    click_and_wait(browser, browser.find_element(By.ID, "approve"))
    assert "تایید شد" in browser.find_element(By.ID, "notice").text

    # The citizen sees the approval at once, without signing in again.
    browser.get(citizen + "/verification")
    assert browser.find_element(By.ID, "verification-status").get_attribute("data-status") == "approved"
    assert browser.find_element(By.ID, "access-granted").is_displayed()
    browser.get(citizen + "/account")
    assert browser.find_element(By.ID, "assurance-level").get_attribute("data-level") == "3"

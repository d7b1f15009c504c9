"""A signed-in citizen in a real browser: catalogue → service card and consent → the six-step
wizard with an attachment and a refused disguised file → submit → receipt → cartable → the
public tracking page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from contracts.persian import persian_digits
from deploy.run import Desk
from gateway.web.auth import Principal
from tests.e2e.conftest import sign_in_as
from tests.integration.test_walking_skeleton import eventually
from tests.unit.test_requests_files import EXE, PDF

pytestmark = pytest.mark.e2e

CITIZEN = Principal(
    account_id="acc-e2e",
    kind="citizen",
    display_name="زهرا احمدی",
    national_code="0084575948",
    mobile="09121234567",
    assurance_level=1,
)


def _click(browser: webdriver.Chrome, element_id: str) -> None:
    browser.find_element(By.ID, element_id).click()


def _wait_text(browser: webdriver.Chrome, element_id: str, text: str) -> None:
    # The element may belong to the page being replaced while the form's answer loads (Chromium
    # then says "Node with given id does not belong to the document"): look again.
    WebDriverWait(browser, 20, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.text_to_be_present_in_element((By.ID, element_id), text)
    )


def _type(browser: webdriver.Chrome, name: str, text: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(text)


def test_a_citizen_files_a_request_through_the_wizard_and_follows_it(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    disguised, genuine = tmp_path / "صورتجلسه.pdf", tmp_path / "نقشه روستا.pdf"
    disguised.write_bytes(EXE)
    genuine.write_bytes(PDF)
    sign_in_as(browser, desk, CITIZEN)
    home = desk.url("citizen") + "/"

    def catalogue_ready() -> bool:
        browser.get(home)
        return bool(browser.find_elements(By.CSS_SELECTOR, "a[data-service='10012134001']"))

    eventually(catalogue_ready)
    assert "دفتر برنامه ریزی و مدیریت توسعه روستایی" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.CSS_SELECTOR, "a[data-service='10012134001']").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "صدور مجوز تاسیس دهیاری های کشور"
    assert "۸۰ کیلوبایت" in browser.find_element(By.ID, "attachment-rules").text
    _click(browser, "consent")
    _click(browser, "start")

    assert "کاربر محترم" in browser.find_element(By.ID, "wizard").text  # 1: introduction
    _click(browser, "next")
    _type(browser, "text", "درخواست صدور مجوز تاسیس دهیاری برای روستای ده‌نو")  # 2: request details
    _click(browser, "next")
    browser.find_element(By.ID, "f-file").send_keys(str(disguised))  # 3: attachments
    _click(browser, "upload")
    assert "معتبر نمی باشد" in browser.find_element(By.ID, "error").text
    browser.find_element(By.ID, "f-file").send_keys(str(genuine))
    _click(browser, "upload")
    _wait_text(browser, "attachments", "نقشه روستا.pdf")
    _click(browser, "next")
    prefilled = browser.find_element(By.NAME, "national_code").get_attribute("value")  # 4: from the account
    assert prefilled == persian_digits("0084575948")
    _type(browser, "first_name", "زهرا")
    _type(browser, "last_name", "احمدی")
    _type(browser, "email", "zahra@example.ir")
    _click(browser, "next")
    Select(browser.find_element(By.NAME, "visit_officer")).select_by_value("ابوالفضل یاری")  # 5: visit
    _type(browser, "visit_date", "1402/05/01")
    _click(browser, "back")  # back and forth keeps what was typed
    assert browser.find_element(By.NAME, "email").get_attribute("value") == "zahra@example.ir"
    _click(browser, "next")
    # typed in Latin digits, stored in ASCII, given back in Persian digits
    assert browser.find_element(By.NAME, "visit_date").get_attribute("value") == "۱۴۰۲/۰۵/۰۱"
    _click(browser, "next")
    assert "zahra@example.ir" in browser.find_element(By.ID, "review").text  # 6: review
    _click(browser, "submit")

    code = browser.find_element(By.ID, "tracking-code").get_attribute("data-code") or ""
    assert browser.find_element(By.TAG_NAME, "h1").text == "رسید خدمت"
    assert re.fullmatch(r"\d{12}", code)
    receipt = browser.find_element(By.ID, "receipt").text
    assert (
        "نقشه روستا.pdf" in receipt
        and "ابوالفضل یاری" in receipt
        and "۱۴" in browser.find_element(By.ID, "submitted-at").text
    )
    assert browser.find_element(By.ID, "sms-status").text  # says sent, pending or not sent

    def in_cartable() -> bool:
        browser.get(desk.url("citizen") + "/cartable?folder=progress")
        return bool(browser.find_elements(By.CSS_SELECTOR, "#requests tr[data-request] .status-blue"))

    eventually(in_cartable)
    browser.find_element(By.CSS_SELECTOR, "#requests tr[data-request] a").click()
    assert "ثبت درخواست" in browser.find_element(By.CLASS_NAME, "timeline").text

    browser.get(desk.url("citizen") + "/track")
    _type(browser, "tracking_code", code)
    _type(browser, "second_factor", "۰۹۱۲۱۲۳۴۵۶۷")
    _click(browser, "search")
    result = browser.find_element(By.ID, "track-result").text
    assert "ثبت شده" in result and "احمدی" not in result and "ده‌نو" not in result

"""The citizen gateway's one header, and the small things of a filed request (issue 23, items 1,
6 and 7), in Chromium.

A visitor finds «ثبت‌نام» and «ورود» on the home page and registers from there; signed in, every
page (home, a service card, tracking, the cartable, the میز کار, the survey) shows the same
header: their name, «میز کار», «خروج», with the current section marked. Filing a request through
the wizard: the service card's steps are numbered in Persian, file inputs speak Persian (no
«Choose File»), digits typed in Persian in the text and the address come back as typed on the
receipt and the request's page, and the receipt lists a file by name, size in kilobytes and kind,
without its SHA-256."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import running_desk
from tests.e2e.conftest import click_and_wait, sign_in_as
from tests.integration.test_identity_flow import PASSWORD, code_for, identity_env
from tests.steps import eventually
from tests.unit.test_requests_files import PDF

pytestmark = pytest.mark.e2e

SERVICE = "10012134001"
CITIZEN = Principal(
    account_id="acc-header",
    kind="citizen",
    display_name="زهرا احمدی",
    national_code="0084575948",
    mobile="09121234567",
    assurance_level=1,
)
SECTIONS = {  # a page of each section, and the header link marked as the current one there
    "/": "nav-services",
    f"/services/{SERVICE}": "nav-services",
    "/track": "nav-track",
    "/cartable": "nav-cartable",
    "/account": "nav-desk",
    "/survey": "nav-survey",
}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("citizen-header")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


def header(browser: webdriver.Chrome) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, "header.top")


def current(browser: webdriver.Chrome) -> list[str]:
    """The ids of the header's links marked as the current page."""
    marked = header(browser).find_elements(By.CSS_SELECTOR, "[aria-current='page']")
    return [link.get_attribute("id") or "" for link in marked]


def link_texts(browser: webdriver.Chrome) -> list[str]:
    return [link.text for link in header(browser).find_elements(By.CSS_SELECTOR, "nav a")]


def fill(browser: webdriver.Chrome, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def test_a_visitor_registers_from_the_home_page_and_every_page_shows_the_same_header(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    citizen = desk.url("citizen")
    browser.get(citizen + "/")
    texts = link_texts(browser)
    assert "ورود" in texts and "ثبت‌نام" in texts
    assert "میز کار" not in texts and not header(browser).find_elements(By.ID, "logout")
    assert current(browser) == ["nav-services"]

    click_and_wait(browser, header(browser).find_element(By.LINK_TEXT, "ورود"))
    assert browser.current_url.endswith("/login") and current(browser) == ["nav-login"]
    click_and_wait(browser, header(browser).find_element(By.LINK_TEXT, "ثبت‌نام"))
    assert browser.current_url.endswith("/register") and current(browser) == ["nav-register"]

    click_and_wait(browser, browser.find_element(By.ID, "way-mobile"))
    assert current(browser) == ["nav-register"]  # a step of registration is still registration
    seen: set[str] = set()
    fill(
        browser,
        {
            "national_code": "0012345679",
            "mobile": "09121111111",
            "birth_date": "1368/04/15",
            "first_name": "مریم",
            "last_name": "کاظمی",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    create = browser.find_element(By.CSS_SELECTOR, "#mobile-register-form button[type=submit]")
    click_and_wait(browser, create)
    fill(browser, {"code": code_for(desk, "09121111111", seen)})
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#code-form button[type=submit]"))
    assert browser.current_url.endswith("/account")

    for path, marked in SECTIONS.items():
        browser.get(citizen + path)
        top = header(browser)
        assert top.find_element(By.ID, "who").text == "مریم کاظمی", path
        assert top.find_element(By.ID, "nav-desk").text == "میز کار", path
        assert top.find_element(By.CSS_SELECTOR, "#logout button").text == "خروج", path
        texts = link_texts(browser)
        assert {"فهرست خدمات", "پیگیری درخواست", "کارتابل من"} <= set(texts), (path, texts)
        assert "ورود" not in texts and "ثبت‌نام" not in texts, (path, texts)
        assert current(browser) == [marked], (path, current(browser))

    browser.get(citizen + "/")
    click_and_wait(browser, header(browser).find_element(By.LINK_TEXT, "میز کار"))
    assert browser.current_url.endswith("/account")
    click_and_wait(browser, header(browser).find_element(By.CSS_SELECTOR, "#logout button"))
    assert "ورود" in link_texts(browser) and not header(browser).find_elements(By.ID, "who")


def test_a_request_keeps_persian_digits_as_typed_and_its_pages_speak_persian(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    plan = tmp_path / "نقشه روستا.pdf"
    plan.write_bytes(PDF)
    sign_in_as(browser, desk, CITIZEN)
    card = desk.url("citizen") + f"/services/{SERVICE}"

    def card_ready() -> bool:
        browser.get(card)
        return bool(browser.find_elements(By.CSS_SELECTOR, "#card-steps li"))

    eventually(card_ready)
    steps = browser.find_elements(By.CSS_SELECTOR, "#card-steps li")
    styles = {browser.execute_script("return getComputedStyle(arguments[0]).listStyleType", s) for s in steps}
    assert styles == {"persian"}  # «۱. ۲. ۳.», not «1. 2. 3.»

    browser.find_element(By.ID, "consent").click()
    click_and_wait(browser, browser.find_element(By.ID, "start"))
    click_and_wait(browser, browser.find_element(By.ID, "next"))  # 1: introduction
    fill(browser, {"text": "درخواست مجوز برای پلاک ۷ کوچه ۱۲"})  # 2: the text, Persian digits
    click_and_wait(browser, browser.find_element(By.ID, "next"))

    picker = browser.find_element(By.ID, "f-file")  # 3: attachments
    button = browser.find_element(By.CSS_SELECTOR, "label.file-button[for='f-file']")
    chosen = browser.find_element(By.ID, "chosen-f-file")
    assert not picker.is_displayed()  # the browser's «Choose File» is not drawn
    assert button.is_displayed() and button.text == "انتخاب فایل"
    assert chosen.text == "فایلی انتخاب نشده"
    assert "Choose" not in browser.find_element(By.TAG_NAME, "main").text
    picker.send_keys(str(plan))
    assert chosen.text == "نقشه روستا.pdf"
    click_and_wait(browser, browser.find_element(By.ID, "upload"))
    assert "نقشه روستا.pdf" in browser.find_element(By.ID, "attachments").text
    click_and_wait(browser, browser.find_element(By.ID, "next"))

    address = "تهران، خیابان ۱۵ خرداد، پلاک ۷"
    fill(browser, {"first_name": "زهرا", "last_name": "احمدی", "address": address})  # 4
    click_and_wait(browser, browser.find_element(By.ID, "next"))
    click_and_wait(browser, browser.find_element(By.ID, "next"))  # 5: no visit
    review = browser.find_element(By.ID, "review").text  # 6
    assert "پلاک ۷ کوچه ۱۲" in review and "خیابان ۱۵ خرداد، پلاک ۷" in review
    click_and_wait(browser, browser.find_element(By.ID, "submit"))

    receipt = browser.find_element(By.ID, "receipt").text
    assert "پلاک ۷ کوچه ۱۲" in receipt and "خیابان ۱۵ خرداد، پلاک ۷" in receipt
    assert not re.search(r"پلاک 7|کوچه 12|خیابان 15", receipt)
    files = browser.find_element(By.ID, "receipt-attachments").text
    assert "SHA-256" not in browser.page_source and "SHA-256" not in files
    assert "نقشه روستا.pdf" in files and "PDF" in files
    assert re.search(r"[۰-۹]+(٫[۰-۹])? کیلوبایت", files) and not re.search(r"[0-9]", files), files

    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "مشاهده وضعیت درخواست"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "پلاک ۷ کوچه ۱۲" in page and "پلاک 7" not in page

"""The captcha's text alternative in Chromium (issue 24): a citizen who cannot see the image
reaches the link beside it with the keyboard, gets a question in Persian words that is the
answer box's description, answers it in digits and registers. Nothing here reads the service's
secret: the question is solved from what the page says, as a screen reader would say it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from deploy.run import Desk
from tests.captcha_words import answer_to
from tests.desk import running_desk
from tests.e2e.axe import audit
from tests.e2e.conftest import click_and_wait
from tests.integration.test_identity_flow import PASSWORD, code_for, identity_env

pytestmark = pytest.mark.e2e

CITIZEN = {
    "national_code": "0022334459",
    "mobile": "09124445566",
    "birth_date": "۱۳۶۶/۱۲/۰۱",
    "first_name": "امیر",
    "last_name": "صادقی",
}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A desk whose registration form always asks a captcha (no free code requests per address)."""
    folder = tmp_path_factory.mktemp("captcha-alternative")
    with running_desk(folder, "postgresql", **identity_env(folder), IDENTITY_CODES_PER_CLIENT="0") as running:
        yield running


def fill(browser: webdriver.Chrome, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def description(browser: webdriver.Chrome, field: WebElement) -> str:
    """What a screen reader says after a field's label: the texts its aria-describedby names."""
    ids = (field.get_attribute("aria-describedby") or "").split()
    return " ".join(browser.find_element(By.ID, name).text for name in ids)


def tab_to(browser: webdriver.Chrome, start: WebElement, target_id: str) -> WebElement:
    """Move the focus with Tab from `start` until it reaches `target_id` (at most ten presses)."""
    start.click()
    for _ in range(10):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused = browser.switch_to.active_element
        if focused.get_attribute("id") == target_id:
            return focused
    raise AssertionError(f"Tab never reached #{target_id}")


def test_a_citizen_who_cannot_see_the_image_registers_by_the_text_alternative(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    browser.get(desk.url("citizen") + "/register/mobile")
    assert browser.find_element(By.ID, "captcha-image").get_attribute("alt")
    assert not browser.find_elements(By.ID, "captcha-question")

    link = tab_to(browser, browser.find_element(By.ID, "captcha"), "captcha-other")
    assert "نسخه متنی" in link.text
    link.send_keys(Keys.ENTER)  # the keyboard follows the link
    question = browser.find_element(By.ID, "captcha-question")
    assert not browser.find_elements(By.ID, "captcha-image")
    box = browser.find_element(By.ID, "captcha")
    assert box.accessible_name == "کد امنیتی (نسخه متنی)"
    said = description(browser, box)
    assert question.text in said and not any(c.isdigit() for c in question.text), said
    blocking = [str(v) for v in audit(browser, "citizen/register/mobile (text captcha)") if v.blocking]
    assert not blocking, blocking

    # A wrong answer is refused under the field; the browser keeps the text alternative.
    fill(browser, {**CITIZEN, "password": PASSWORD, "password2": PASSWORD})
    fill(browser, {"captcha": str(int(answer_to(question.text)) + 1)})
    click_and_wait(browser, browser.find_element(By.ID, "create"))
    assert browser.find_element(By.ID, "e-captcha").text
    box = browser.find_element(By.ID, "captcha")
    assert box.get_attribute("aria-invalid") is None or "e-captcha" in (
        box.get_attribute("aria-describedby") or ""
    )
    said = description(browser, box)
    assert "به علاوه" in said or "منهای" in said, said

    answer = answer_to(browser.find_element(By.ID, "captcha-question").text)
    persian = answer.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    fill(browser, {"password": PASSWORD, "password2": PASSWORD, "captcha": persian})
    click_and_wait(browser, browser.find_element(By.ID, "create"))
    fill(browser, {"code": code_for(desk, CITIZEN["mobile"], set())})
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#code-form button[type=submit]"))
    assert "/account" in browser.current_url, browser.find_element(By.TAG_NAME, "main").text

    # Signed out, any captcha form offers the text (here by its address) and the image back.
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button"))
    browser.get(desk.url("citizen") + "/password/forgot?captcha=text")
    assert browser.find_elements(By.ID, "captcha-question")
    click_and_wait(browser, browser.find_element(By.ID, "captcha-other"))
    assert browser.find_element(By.ID, "captcha-image") and not browser.find_elements(
        By.ID, "captcha-question"
    )

"""Support tickets in Chromium (seed 001): a citizen files «ثبت تیکت» with a file from the میز کار,
a refused form keeps what was typed; a desk officer finds it in the back office's «پشتیبانی»
folder with its deadline and answers; the SMS goes out; the citizen reads the answer in
«تیکت‌های من», writes again and closes the ticket, after which nothing more is written on it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from contracts.persian import latin_digits
from deploy.run import Desk
from gateway.web.auth import Principal
from services.notify.providers import OutboxProvider
from tests.desk import signed_in_client
from tests.e2e.conftest import click_and_wait, sign_in_as
from tests.steps import eventually
from tests.unit.test_requests_files import PNG

pytestmark = pytest.mark.e2e

CITIZEN = Principal(
    account_id="ticket-citizen",
    kind="citizen",
    display_name="مریم کاظمی",
    mobile="09127770011",
    assurance_level=1,
)
OFFICER = Principal(
    account_id="support-officer", kind="staff", display_name="مسئول میز", roles=("desk_officer",)
)
CLERK = Principal(
    account_id="ticket-clerk", kind="staff", display_name="کارشناس", roles=("clerk",), province="isfahan"
)
LATIN_LETTERS = re.compile(r"[A-Za-z]{3,}")


def _visible_text(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "main").text)


def _sms_to(desk: Desk, mobile: str) -> list[str]:
    outbox = OutboxProvider(desk.env["SMS_OUTBOX_URL"])
    try:
        return [str(m["text"]) for m in outbox.messages() if m["to"] == mobile]
    finally:
        outbox.db.dispose()


def test_a_ticket_from_question_to_closing(desk: Desk, browser: webdriver.Chrome, tmp_path: Path) -> None:
    screenshot = tmp_path / "صفحه.png"
    screenshot.write_bytes(PNG)
    citizen = desk.url("citizen")
    sign_in_as(browser, desk, CITIZEN)

    # From the میز کار to «ثبت تیکت»; a missing subject is refused and the text is kept.
    browser.get(citizen + "/account")
    browser.find_element(By.ID, "nav-new-ticket").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "ثبت تیکت"
    browser.find_element(By.ID, "f-text").send_keys("رمز یکبار مصرف پلاک ۷ به دستم نمی‌رسد.")
    click_and_wait(browser, browser.find_element(By.ID, "send-ticket"))
    assert "موضوع تیکت را بنویسید" in browser.find_element(By.ID, "e-subject").text
    assert (
        browser.find_element(By.ID, "f-text").get_attribute("value")
        == "رمز یکبار مصرف پلاک ۷ به دستم نمی‌رسد."
    )

    browser.find_element(By.ID, "f-subject").send_keys("ورود به سامانه")
    browser.find_element(By.ID, "f-file").send_keys(str(screenshot))
    click_and_wait(browser, browser.find_element(By.ID, "send-ticket"))
    assert "تیکت شما ثبت شد" in browser.find_element(By.ID, "notice").text
    number = browser.find_element(By.ID, "ticket-number").text
    assert re.fullmatch(r"[۰-۹]+", number), number
    assert browser.find_element(By.ID, "ticket-status").get_attribute("data-status") == "open"
    assert "صفحه.png" in browser.find_element(By.ID, "thread").text
    ticket_url = browser.current_url.split("?")[0]
    ticket_id = ticket_url.rsplit("/", 1)[1]
    shown = _visible_text(browser).replace("صفحه.png", "")
    assert not LATIN_LETTERS.search(shown), shown

    browser.find_element(By.ID, "nav-my-tickets").click()
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-ticket-id="{ticket_id}"]')
    assert number in row.text and "در انتظار پاسخ پشتیبانی" in row.text

    # A clerk has no support folder; the desk officer has, with the ticket and its deadline.
    browser.delete_all_cookies()
    sign_in_as(browser, desk, CLERK)
    browser.get(desk.url("backoffice") + "/support")
    assert "اجازه" in _visible_text(browser)
    browser.delete_all_cookies()
    sign_in_as(browser, desk, OFFICER)
    browser.get(desk.url("backoffice") + "/identity/home")
    browser.find_element(By.ID, "nav-support").click()
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-ticket-id="{ticket_id}"]')
    assert "ورود به سامانه" in row.text and "مریم کاظمی" in row.text
    assert re.search(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", row.find_element(By.CSS_SELECTOR, ".deadline").text)
    row.find_element(By.CSS_SELECTOR, "a").click()
    assert browser.find_element(By.ID, "ticket-number").text == number
    assert "صفحه.png" in browser.find_element(By.ID, "thread").text
    browser.find_element(By.ID, "f-text").send_keys("شماره همراه ثبت‌شده در میز کار را بررسی کنید.")
    click_and_wait(browser, browser.find_element(By.ID, "send-answer"))
    assert "پاسخ ثبت شد" in browser.find_element(By.ID, "notice").text
    assert browser.find_element(By.ID, "ticket-status").get_attribute("data-status") == "answered"

    # The citizen is told by SMS, with the ticket's number.
    texts = eventually(lambda: [t for t in _sms_to(desk, CITIZEN.mobile or "") if "تیکت" in t] or None)
    assert len(texts) == 1 and number in texts[0], texts
    assert latin_digits(number) not in texts[0]

    # The citizen reads the answer, writes again, then closes the ticket.
    browser.delete_all_cookies()
    sign_in_as(browser, desk, CITIZEN)
    browser.get(citizen + "/support")
    browser.find_element(By.CSS_SELECTOR, f'tr[data-ticket-id="{ticket_id}"] a').click()
    answers = browser.find_elements(By.CSS_SELECTOR, '#thread [data-author="staff"]')
    assert [a.find_element(By.CLASS_NAME, "message-text").text for a in answers] == [
        "شماره همراه ثبت‌شده در میز کار را بررسی کنید."
    ]
    browser.find_element(By.ID, "f-text").send_keys("بررسی کردم؛ درست شد، سپاس.")
    click_and_wait(browser, browser.find_element(By.ID, "send-reply"))
    assert browser.find_element(By.ID, "ticket-status").get_attribute("data-status") == "open"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#thread article")) == 3
    click_and_wait(browser, browser.find_element(By.ID, "close-ticket"))
    assert browser.find_element(By.ID, "ticket-status").get_attribute("data-status") == "closed"
    assert browser.find_element(By.ID, "closed-note")
    assert not browser.find_elements(By.ID, "reply-form")


def test_the_api_opens_and_lists_tickets_with_stable_error_codes(desk: Desk) -> None:
    with signed_in_client(desk, CITIZEN) as api:
        short = api.post("/api/support/tickets", json={"subject": "x", "text": "متن"})
        assert (short.status_code, short.json()["error"]["code"]) == (422, "invalid_input")
        disguised = {"subject": "راهنما", "text": "متن", "file_name": "a.pdf", "file_base64": "TVqQAAMAAAA="}
        refused = api.post("/api/support/tickets", json=disguised)
        assert refused.status_code == 422 and refused.json()["error"]["code"].startswith("attachment_")
        opened = api.post("/api/support/tickets", json={"subject": "پرسش از راه API", "text": "متن"})
        assert opened.status_code == 201, opened.text
        listed = api.get("/api/support/tickets").json()["items"]
        assert opened.json()["ticket_id"] in [t["ticket_id"] for t in listed]
        missing = api.get("/api/support/tickets/" + "0" * 32)
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ticket_not_found")

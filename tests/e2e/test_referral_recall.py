"""In a real browser: a referral to a representative no longer locks the secretariat out. The clerk's
page offers only what the clerk may do (no form that would answer «در دست همکار دیگری») and the
recall of the referral; the recall, with its reason, brings every form back, takes the request off
the representative's desk and shows in the workflow."""

from __future__ import annotations

from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import make_real, signed_in_client
from tests.e2e.conftest import act, open_case, sign_in_as
from tests.steps import eventually, submit

pytestmark = pytest.mark.e2e

CLERK = Principal(
    account_id="clerk-recall", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
REP = Principal(
    account_id="rep-recall", kind="staff", display_name="رضا پیگیر", roles=("representative",), unit="permits"
)
REASON = "به واحد اشتباه ارجاع شده بود؛ پروانه‌ها باید بررسی کند."
LOCKED_OUT = ("refer", "take", "release", "reply", "return", "status", "close")
"""The forms a clerk saw on a request a representative holds, each answering «در دست همکار دیگری»."""
AT_THE_DESK = ("refer", "take", "reply", "return", "status", "close", "note")


def forms(browser: webdriver.Chrome) -> set[str]:
    """The ids of the action forms the page shows, without their `form-` prefix."""
    shown = browser.find_elements(By.CSS_SELECTOR, ".actions form[id^='form-']")
    return {str(form.get_attribute("id")).removeprefix("form-") for form in shown}


def awaiting(desk: Desk, principal: Principal) -> list[Any]:
    """The request ids in `principal`'s «در انتظار اقدام» folder, through the back office's API."""
    with signed_in_client(desk, principal) as office:
        answer = office.get("/api/inbox", params={"folder": "awaiting", "limit": 200})
        assert answer.status_code == 200, answer.text
        return [item["request_id"] for item in answer.json()["items"]]


def test_the_referring_clerk_recalls_a_referral_and_gets_the_forms_back(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    make_real(desk, REP)  # identity lists them among the representatives before the page asks
    request_id = submit(desk).request_id
    sign_in_as(browser, desk, CLERK)
    open_case(browser, desk, request_id)
    act(browser, "register")

    def representative_listed() -> bool:
        browser.refresh()
        return bool(browser.find_elements(By.CSS_SELECTOR, f'#refer-rep option[value="{REP.account_id}"]'))

    eventually(representative_listed)
    Select(browser.find_element(By.ID, "refer-unit")).select_by_value("permits")
    Select(browser.find_element(By.ID, "refer-rep")).select_by_value(REP.account_id)
    browser.find_element(By.ID, "refer-instruction").send_keys("لطفاً بررسی و پاسخ دهید.")
    act(browser, "refer")
    assert "ارجاع" in browser.find_element(By.ID, "notice").text
    assert REP.display_name in browser.find_element(By.ID, "holder").text
    eventually(lambda: request_id in awaiting(desk, REP))

    shown = forms(browser)
    assert not shown & set(LOCKED_OUT), f"forms that answer «در دست همکار دیگری»: {shown & set(LOCKED_OUT)}"
    assert shown == {"recall", "note"}
    recall = browser.find_element(By.ID, "form-recall")
    assert "بازپس‌گیری ارجاع" in recall.text

    browser.find_element(By.ID, "recall-reason").send_keys(REASON)
    act(browser, "recall")
    assert not browser.find_elements(By.ID, "error")
    assert "بازپس" in browser.find_element(By.ID, "notice").text
    assert set(AT_THE_DESK) <= forms(browser)
    assert "recall" not in forms(browser)
    assert REP.display_name not in browser.find_element(By.ID, "holder").text
    recalled = browser.find_elements(By.CSS_SELECTOR, '#history tr[data-action="recalled"]')
    assert len(recalled) == 1
    assert "بازپس‌گیری ارجاع" in recalled[0].text and REASON in recalled[0].text
    assert "صدور مجوز" in recalled[0].text  # the unit it came back from, by its name

    eventually(lambda: request_id not in awaiting(desk, REP))
    sign_in_as(browser, desk, REP)
    browser.get(desk.url("backoffice") + "/secretariat/cartable?folder=awaiting")
    assert not browser.find_elements(By.CSS_SELECTOR, f'tr[data-request-id="{request_id}"]')
    browser.get(desk.url("backoffice") + f"/secretariat/cases/{request_id}")
    assert forms(browser) == {"note"}  # they still read its history, but it is no longer theirs
    assert browser.find_elements(By.CSS_SELECTOR, '#history tr[data-action="recalled"]')
